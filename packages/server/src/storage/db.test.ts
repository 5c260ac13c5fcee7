import { afterAll, describe, expect, it } from 'vitest';
import { scratchDatabase, testDatabases, type ScratchDatabase } from '../../test/support.js';
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

  it.skipIf(database.dialect === 'sqlite')('is safe when two hub replicas migrate the same database at once', async () => {
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
  });

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
