import type { Page } from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase, testDatabases, type ScratchDatabase } from '../../test/kit/index.js';
import { createStorage, type Storage } from './db.js';
import { keysetPage, type SortColumn } from './paging.js';

interface ProbeDatabase {
  paging_probe: { id: number; grp: number; name: string; kind: string };
}
type Row = ProbeDatabase['paging_probe'];
type Order = readonly SortColumn<ProbeDatabase, 'paging_probe', Row>[];

/** 30 rows with many ties: 4 values of `grp`, 3 of `name` (lower-case ASCII sorts alike under every collation). */
const ROWS: Row[] = Array.from({ length: 30 }, (_, i) => ({
  id: i + 1,
  grp: (i * 7) % 4,
  name: ['a', 'b', 'c'][(i * 5) % 3]!,
  kind: i % 5 === 0 ? 'rare' : 'common',
}));

function cursorOf(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

describe.each(testDatabases())('keyset paging on $dialect', (database) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let db: Kysely<ProbeDatabase>;

  beforeAll(async () => {
    scratch = await scratchDatabase(database);
    storage = createStorage(scratch.url);
    db = storage.db as unknown as Kysely<ProbeDatabase>;
    await db.schema
      .createTable('paging_probe')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('grp', 'bigint', (c) => c.notNull())
      .addColumn('name', 'varchar(16)', (c) => c.notNull())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .execute();
    await db.insertInto('paging_probe').values(ROWS).execute();
  });
  afterAll(async () => {
    await storage?.close();
    await scratch?.drop();
  });

  /** Follows nextCursor to the end; returns every page. */
  async function allPages(order: Order, limit: number, onlyKind?: string): Promise<Page<Row>[]> {
    const pages: Page<Row>[] = [];
    let cursor: string | undefined;
    do {
      let q = db.selectFrom('paging_probe').selectAll();
      if (onlyKind !== undefined) q = q.where('kind', '=', onlyKind);
      const page = await keysetPage(q, order, cursor, limit);
      pages.push(page);
      cursor = page.nextCursor ?? undefined;
      expect(pages.length).toBeLessThanOrEqual(ROWS.length + 1);
    } while (cursor !== undefined);
    return pages;
  }

  const ids = (pages: Page<Row>[]) => pages.flatMap((p) => p.items.map((r) => Number(r.id)));

  it('pages through ties on the first column in the order of one unpaged query, each row once', async () => {
    const order = [
      ['grp', 'desc', 'number'],
      ['id', 'desc', 'number'],
    ] as const;
    const pages = await allPages(order, 4);
    const expected = [...ROWS].sort((x, y) => y.grp - x.grp || y.id - x.id).map((r) => r.id);
    expect(ids(pages)).toEqual(expected);
    const unpaged = await db
      .selectFrom('paging_probe')
      .select('id')
      .orderBy('grp', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(ids(pages)).toEqual(unpaged.map((r) => Number(r.id)));
    // 30 rows, 4 a page: seven full pages and one of two; only the last has no cursor.
    expect(pages.map((p) => p.items.length)).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
    expect(pages.slice(0, -1).every((p) => typeof p.nextCursor === 'string')).toBe(true);
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it('mixes directions over three columns, string ones included', async () => {
    const order = [
      ['name', 'asc', 'string'],
      ['grp', 'desc', 'number'],
      ['id', 'asc', 'number'],
    ] as const;
    const pages = await allPages(order, 3);
    const expected = [...ROWS]
      .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) || y.grp - x.grp || x.id - y.id)
      .map((r) => r.id);
    expect(ids(pages)).toEqual(expected);
  });

  it('combines the cursor with the caller’s filters', async () => {
    const order = [
      ['grp', 'asc', 'number'],
      ['id', 'asc', 'number'],
    ] as const;
    const pages = await allPages(order, 2, 'rare');
    const expected = ROWS.filter((r) => r.kind === 'rare')
      .sort((x, y) => x.grp - y.grp || x.id - y.id)
      .map((r) => r.id);
    expect(ids(pages)).toEqual(expected);
  });

  it('ends without a cursor when the last page is exactly full, and answers an empty page', async () => {
    const rare = () => db.selectFrom('paging_probe').selectAll().where('kind', '=', 'rare');
    const all = await keysetPage(rare(), [['id', 'desc', 'number']], undefined, 6);
    expect(all.items).toHaveLength(6);
    expect(all.nextCursor).toBeNull();
    const none = await keysetPage(rare().where('id', '<', 0), [['id', 'desc', 'number']], undefined, 6);
    expect(none).toEqual({ items: [], nextCursor: null });
  });

  it('rejects a cursor of another shape as INVALID_INPUT', async () => {
    const order = [
      ['grp', 'desc', 'number'],
      ['id', 'desc', 'number'],
    ] as const;
    const q = () => db.selectFrom('paging_probe').selectAll();
    const first = await keysetPage(q(), order, undefined, 5);
    expect(first.nextCursor).not.toBeNull();
    const foreign = await keysetPage(q(), [['name', 'asc', 'string']], undefined, 5);
    for (const bad of [
      foreign.nextCursor!, // another order's cursor: ["a"]
      'not a cursor at all',
      cursorOf([1]), // too short
      cursorOf([1, 2, 3]), // too long
      cursorOf([1, '2']), // wrong type
      cursorOf([1, 2 ** 60]), // not a safe integer
      cursorOf({ grp: 1, id: 2 }),
    ]) {
      await expect(keysetPage(q(), order, bad, 5)).rejects.toMatchObject({
        name: 'SpyglassError',
        code: 'INVALID_INPUT',
        issues: [{ path: 'query.cursor', message: 'is not a cursor this endpoint issued' }],
      });
    }
    // A cursor of the right shape picks up right after its key.
    const expected = [...ROWS].sort((x, y) => y.grp - x.grp || y.id - x.id).map((r) => r.id);
    const next = await keysetPage(q(), order, first.nextCursor!, 5);
    expect([...first.items, ...next.items].map((r) => Number(r.id))).toEqual(expected.slice(0, 10));
  });
});

/**
 * Compile-time checks (`tsc -p tsconfig.check.json` and the linter run them): a sort column must be one the query
 * selects, or the cursor could not be read from the last row.
 */
function _sortColumnsAreTyped(db: Kysely<ProbeDatabase>): void {
  const q = db.selectFrom('paging_probe').select(['id', 'grp']);
  // @ts-expect-error `name` is not selected
  void keysetPage(q, [['name', 'asc', 'string']], undefined, 1);
  // @ts-expect-error no such column
  void keysetPage(q, [['nope', 'asc', 'string']], undefined, 1);
  void keysetPage(q, [['paging_probe.grp', 'desc', 'number']], undefined, 1);
}
