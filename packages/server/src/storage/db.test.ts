import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDatabase, testDatabases, type ScratchDatabase, type TestDatabase } from '../../test/kit/index.js';
import { createStorage, redactDatabaseUrl } from './db.js';
import { MIGRATIONS } from './migrations/index.js';

describe.each(testDatabases())('storage on $dialect', (database) => {
  const scratches: ScratchDatabase[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.drop();
  });

  it('migrates an empty database, is then ready, and migrating again changes nothing', async () => {
    const scratch = await scratchDatabase(database);
    scratches.push(scratch);
    const storage = createStorage(scratch.url);
    try {
      expect(await storage.isReady()).toBe(false);
      await storage.migrate();
      expect(await storage.isReady()).toBe(true);
      await storage.migrate();
      const tables = (await storage.db.introspection.getTables()).map((t) => t.name);
      for (const t of ['users', 'sessions', 'api_tokens', 'pools', 'audit_events']) expect(tables).toContain(t);
      // Every table and column name is lower snake_case (MySQL lower_case_table_names=1 safe).
      for (const t of await storage.db.introspection.getTables()) {
        expect(t.name).toMatch(/^[a-z0-9_]+$/);
        for (const c of t.columns) expect(c.name).toMatch(/^[a-z0-9_]+$/);
      }
    } finally {
      await storage.close();
    }
  });

  it.skipIf(database.dialect === 'sqlite')(
    'is safe when two hub replicas migrate the same database at once',
    async () => {
      const scratch = await scratchDatabase(database);
      scratches.push(scratch);
      const a = createStorage(scratch.url);
      const b = createStorage(scratch.url);
      try {
        await Promise.all([a.migrate(), b.migrate()]);
        expect(await a.isReady()).toBe(true);
        expect(await b.isReady()).toBe(true);
        const rows = await a.db
          .selectFrom('spyglass_migration' as never)
          .select('name' as never)
          .execute();
        expect(rows).toHaveLength(Object.keys(MIGRATIONS).length);
      } finally {
        await a.close();
        await b.close();
      }
    },
  );

  it('stores epoch-ms times and reads them back as numbers', async () => {
    const scratch = await scratchDatabase(database);
    scratches.push(scratch);
    const storage = createStorage(scratch.url);
    try {
      await storage.migrate();
      const at = Date.now();
      await storage.db
        .insertInto('pools')
        .values({ id: 'p1', name: 'p1', key_hash: 'h', key_prefix: 'x', created_at: at, key_rotated_at: at })
        .execute();
      const row = await storage.db.selectFrom('pools').selectAll().executeTakeFirstOrThrow();
      expect(row.created_at).toBe(at);
      expect(typeof row.created_at).toBe('number');
    } finally {
      await storage.close();
    }
  });
});

/** The server's connections to `url`'s database: counted, or killed as an administrator (or a failover) would. */
async function serverConnections(database: TestDatabase, url: string, kill: boolean): Promise<number> {
  const name = new URL(url).pathname.slice(1);
  if (database.dialect === 'postgres') {
    const c = new pg.Client({ connectionString: database.serverUrl });
    await c.connect();
    try {
      const r = await c.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      if (kill) for (const { pid } of r.rows) await c.query('SELECT pg_terminate_backend($1)', [pid]);
      return r.rows.length;
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection(database.serverUrl);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
      [name],
    );
    if (kill) for (const { id } of rows) await c.query(`KILL ${Number(id)}`);
    return rows.length;
  } finally {
    await c.end();
  }
}

describe.each(testDatabases().filter((d) => d.dialect !== 'sqlite'))('storage connections on $dialect', (database) => {
  it('survives the server killing its idle connections, reports it and reconnects; close waits for every socket', async () => {
    const scratch = await scratchDatabase(database);
    const storage = createStorage(scratch.url);
    const lost: Error[] = [];
    storage.onConnectionError((err) => lost.push(err));
    try {
      await storage.migrate();
      // Several pooled connections, all idle afterwards.
      await Promise.all(Array.from({ length: 4 }, () => sql`select 1`.execute(storage.db)));
      expect(await serverConnections(database, scratch.url, true)).toBeGreaterThan(0);
      if (database.dialect === 'postgres') {
        // PostgreSQL tells each client why it is cut off; the pool reports it instead of throwing.
        await expect.poll(() => lost.length).toBeGreaterThan(0);
        expect(lost[0]!.message).toMatch(/terminat/);
      }
      // The pool replaces the dead connections: the next queries work (a dead one may fail once on MySQL).
      await expect
        .poll(async () =>
          sql`select 1 as one`.execute(storage.db).then(
            (r) => r.rows.length,
            () => 0,
          ),
        )
        .toBe(1);
      expect(await storage.isReady()).toBe(true);
      await storage.close();
      expect(await serverConnections(database, scratch.url, false)).toBe(0);
    } finally {
      await storage.close();
      await scratch.drop();
    }
  });
});

describe('storage', () => {
  it('keeps database passwords out of descriptions', () => {
    expect(redactDatabaseUrl('postgres://u:hunter2@db:5432/x')).not.toContain('hunter2');
    expect(redactDatabaseUrl('mysql://root:pw@h/db')).toBe('mysql://root:***@h/db');
    expect(redactDatabaseUrl('sqlite:/tmp/a.db')).toBe('sqlite:/tmp/a.db');
  });

  it('rejects an unknown database URL scheme', () => {
    expect(() => createStorage('oracle://x')).toThrow(/unsupported database URL/);
  });

  it('creates the SQLite file under its directory in WAL mode', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'sg-')), 'nested', 'data');
    const storage = createStorage(`sqlite:${dir}/hub.db`);
    try {
      await storage.migrate();
      const { sql } = await import('kysely');
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
    } finally {
      await storage.close();
    }
  });
});
