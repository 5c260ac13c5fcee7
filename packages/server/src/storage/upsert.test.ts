import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scratchDatabase, testDatabases, type ScratchDatabase } from '../../test/kit/index.js';
import { createStorage, type Storage } from './db.js';
import { upsert } from './upsert.js';

interface ProbeDatabase {
  upsert_probe: {
    grp: string;
    item: string;
    label: string;
    note: string | null;
    hits: number;
    low: number | null;
    high: number | null;
    since: number;
  };
}
type Row = ProbeDatabase['upsert_probe'];

describe.each(testDatabases())('upsert on $dialect', (database) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let db: Kysely<ProbeDatabase>;

  beforeAll(async () => {
    scratch = await scratchDatabase(database);
    storage = createStorage(scratch.url);
    db = storage.db as unknown as Kysely<ProbeDatabase>;
    await db.schema
      .createTable('upsert_probe')
      .addColumn('grp', 'varchar(16)', (c) => c.notNull())
      .addColumn('item', 'varchar(16)', (c) => c.notNull())
      .addColumn('label', 'varchar(32)', (c) => c.notNull())
      .addColumn('note', 'varchar(32)')
      .addColumn('hits', 'bigint', (c) => c.notNull())
      .addColumn('low', 'bigint')
      .addColumn('high', 'bigint')
      .addColumn('since', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('upsert_probe_pk', ['grp', 'item'])
      .execute();
  });
  beforeEach(async () => {
    await db.deleteFrom('upsert_probe').execute();
  });
  afterAll(async () => {
    await storage?.close();
    await scratch?.drop();
  });

  const row = (item: string, over: Partial<Row> = {}): Row => ({
    grp: 'g',
    item,
    label: `label ${item}`,
    note: null,
    hits: 1,
    low: 5,
    high: 5,
    since: 1000,
    ...over,
  });

  async function stored(): Promise<Row[]> {
    const rows = await db.selectFrom('upsert_probe').selectAll().orderBy('grp').orderBy('item').execute();
    // BIGINT comes back as a number on every dialect (db.ts); Number() keeps the comparison about values.
    return rows.map((r) => ({
      ...r,
      hits: Number(r.hits),
      low: r.low === null ? null : Number(r.low),
      high: r.high === null ? null : Number(r.high),
      since: Number(r.since),
    }));
  }

  /** The counter upsert the hub uses for per-agent hits and metric buckets. */
  const count = (values: Row | Row[]) =>
    upsert(db, storage.dialect, 'upsert_probe', values, {
      key: ['grp', 'item'],
      set: {
        label: 'inserted',
        hits: ({ current, inserted }) => sql`${current('hits')} + ${inserted('hits')}`,
        low: ({ current, inserted, least }) =>
          least(sql`coalesce(${current('low')}, ${inserted('low')})`, inserted('low')),
        high: ({ current, inserted, greatest }) =>
          greatest(sql`coalesce(${current('high')}, ${inserted('high')})`, inserted('high')),
      },
    });

  it('inserts a new row, and on conflict updates only the listed columns', async () => {
    await count(row('a', { note: 'first', since: 1000 }));
    expect(await stored()).toEqual([row('a', { note: 'first', since: 1000 })]);
    await count(row('a', { label: 'renamed', note: 'second', hits: 4, low: 2, high: 3, since: 2000 }));
    // label: the new value; hits: added; low/high: the extremes; note and since: not listed, so kept.
    expect(await stored()).toEqual([
      row('a', { label: 'renamed', note: 'first', hits: 5, low: 2, high: 5, since: 1000 }),
    ]);
    await count(row('a', { hits: 2, low: 9, high: 11 }));
    expect(await stored()).toEqual([row('a', { note: 'first', hits: 7, low: 2, high: 11, since: 1000 })]);
  });

  it('upserts many rows in one statement, some new and some existing, touching no other key', async () => {
    await count([row('a', { hits: 10 }), row('b', { hits: 20 }), row('other', { grp: 'h', hits: 30 })]);
    await count([row('b', { hits: 2 }), row('c', { hits: 3 }), row('a', { hits: 1 })]);
    expect((await stored()).map((r) => [r.grp, r.item, r.hits])).toEqual([
      ['g', 'a', 11],
      ['g', 'b', 22],
      ['g', 'c', 3],
      ['h', 'other', 30],
    ]);
  });

  it('takes the inserted extreme over a stored null', async () => {
    await count(row('a', { low: null, high: null }));
    await count(row('a', { low: 4, high: 4 }));
    expect((await stored())[0]).toMatchObject({ low: 4, high: 4 });
  });

  it('counts every one of many concurrent upserts of one key', async () => {
    await Promise.all(Array.from({ length: 25 }, () => count(row('hot', { hits: 2 }))));
    expect((await stored()).map((r) => r.hits)).toEqual([50]);
  });

  it('computes a column from another column’s stored value when that column is listed first', async () => {
    // A fixed window as the login limiter keeps it: a failure after the window restarts the count.
    const fail = (now: number, windowMs: number) =>
      upsert(db, storage.dialect, 'upsert_probe', row('w', { hits: 1, since: now }), {
        key: ['grp', 'item'],
        set: {
          hits: ({ current }) =>
            sql`case when ${current('since')} <= ${now - windowMs} then 1 else ${current('hits')} + 1 end`,
          since: ({ current }) =>
            sql`case when ${current('since')} <= ${now - windowMs} then ${now} else ${current('since')} end`,
        },
      });
    await fail(1000, 100);
    await fail(1050, 100);
    await fail(1099, 100);
    expect((await stored())[0]).toMatchObject({ hits: 3, since: 1000 });
    await fail(1100, 100); // the window of 1000 has ended
    expect((await stored())[0]).toMatchObject({ hits: 1, since: 1100 });
    await fail(1150, 100);
    expect((await stored())[0]).toMatchObject({ hits: 2, since: 1100 });
  });
});
