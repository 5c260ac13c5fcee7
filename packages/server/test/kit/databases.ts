import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DialectName } from '../../src/storage/db.js';

export interface TestDatabase {
  dialect: DialectName;
  /** Base server URL (the database named in it is only used to create and drop scratch databases). */
  serverUrl: string;
}

export const SQLITE: TestDatabase = { dialect: 'sqlite', serverUrl: 'sqlite::memory:' };

const announced = new Set<string>();

function announce(key: string, message: string): void {
  if (announced.has(key)) return;
  announced.add(key);
  console.warn(`[spyglass tests] ${message}`);
}

/** SQLite always; PostgreSQL and MySQL/MariaDB when `TEST_POSTGRES_URL` / `TEST_MYSQL_URL` are set. */
export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [SQLITE];
  const pgUrl = process.env.TEST_POSTGRES_URL;
  const myUrl = process.env.TEST_MYSQL_URL;
  if (pgUrl) list.push({ dialect: 'postgres', serverUrl: pgUrl });
  else announce('pg', 'TEST_POSTGRES_URL not set: PostgreSQL variants are SKIPPED');
  if (myUrl) list.push({ dialect: 'mysql', serverUrl: myUrl });
  else announce('my', 'TEST_MYSQL_URL not set: MySQL/MariaDB variants are SKIPPED');
  return list;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface ScratchDatabase {
  dialect: DialectName;
  url: string;
  drop(): Promise<void>;
}

export interface ScratchOptions {
  /**
   * SQLite only: a file in a temporary folder instead of a private in-memory database, so that several storages
   * (hub replicas) can open the same database. PostgreSQL and MySQL databases are always shareable.
   */
  shareable?: boolean;
}

/** Creates an empty database on the server of `db`; `drop()` removes it. */
export async function scratchDatabase(db: TestDatabase, options: ScratchOptions = {}): Promise<ScratchDatabase> {
  if (db.dialect === 'sqlite') {
    if (options.shareable !== true) return { dialect: 'sqlite', url: 'sqlite::memory:', drop: () => Promise.resolve() };
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-test-db-'));
    return {
      dialect: 'sqlite',
      url: `sqlite:${path.join(dir, 'hub.db')}`,
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const name = `sg_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (db.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: db.serverUrl });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    return {
      dialect: 'postgres',
      url: withDatabase(db.serverUrl, name),
      async drop() {
        const c = new pg.Client({ connectionString: db.serverUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const conn = await mysql.createConnection(db.serverUrl);
  await conn.query(`CREATE DATABASE ${name}`);
  await conn.end();
  return {
    dialect: 'mysql',
    url: withDatabase(db.serverUrl, name),
    async drop() {
      const c = await mysql.createConnection(db.serverUrl);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    },
  };
}
