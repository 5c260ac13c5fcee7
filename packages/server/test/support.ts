/**
 * Shared test helpers for the hub: one fresh, isolated database per call on every dialect whose URL is set, and a
 * built hub with users of every role.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Role } from '@spyglass/protocol';
import { buildApp, type BuildDeps } from '../src/app.js';
import { loadConfig, type Config } from '../src/config/config.js';
import { createStorage, type DialectName, type Storage } from '../src/storage/db.js';

export interface TestDatabase {
  dialect: DialectName;
  /** Base server URL (the database named in it is only used to create and drop scratch databases). */
  serverUrl: string;
}

const announced = new Set<string>();

/** SQLite always; PostgreSQL and MySQL/MariaDB when `TEST_POSTGRES_URL` / `TEST_MYSQL_URL` are set. */
export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [{ dialect: 'sqlite', serverUrl: 'sqlite::memory:' }];
  const pgUrl = process.env.TEST_POSTGRES_URL;
  const myUrl = process.env.TEST_MYSQL_URL;
  if (pgUrl) list.push({ dialect: 'postgres', serverUrl: pgUrl });
  else if (!announced.has('pg')) {
    announced.add('pg');
    console.warn('[spyglass tests] TEST_POSTGRES_URL not set: PostgreSQL variants are SKIPPED');
  }
  if (myUrl) list.push({ dialect: 'mysql', serverUrl: myUrl });
  else if (!announced.has('my')) {
    announced.add('my');
    console.warn('[spyglass tests] TEST_MYSQL_URL not set: MySQL/MariaDB variants are SKIPPED');
  }
  return list;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database on the server of `db` (SQLite: a private in-memory database). */
export async function scratchDatabase(db: TestDatabase): Promise<ScratchDatabase> {
  if (db.dialect === 'sqlite') return { url: 'sqlite::memory:', drop: () => Promise.resolve() };
  const name = `sg_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (db.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: db.serverUrl });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    return {
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
    url: withDatabase(db.serverUrl, name),
    async drop() {
      const c = await mysql.createConnection(db.serverUrl);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    },
  };
}

/** Collects every log line the hub writes. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const USER_PASSWORD = 'user-password-for-tests';

export interface TestHub {
  app: FastifyInstance;
  config: Config;
  storage: Storage;
  logs: LogCapture;
  /** API tokens of one user per role. */
  tokens: Record<Role, string>;
  userIds: Record<Role, string>;
  /** `Authorization` header for a role. */
  auth(role: Role): { authorization: string };
  close(): Promise<void>;
}

export interface TestHubOptions {
  database?: TestDatabase;
  env?: Record<string, string>;
  deps?: Omit<BuildDeps, 'storage' | 'logStream'>;
  logLevel?: string;
}

/** Builds a hub on a fresh database, with an admin, a developer and a viewer, each holding an API token. */
export async function createTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const db = options.database ?? { dialect: 'sqlite', serverUrl: 'sqlite::memory:' };
  const scratch = await scratchDatabase(db);
  const config = loadConfig({
    env: {
      SPYGLASS_DATABASE_URL: scratch.url,
      SPYGLASS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SPYGLASS_LOG_LEVEL: options.logLevel ?? 'warn',
      SPYGLASS_DATA_DIR: '/tmp/spyglass-test-unused',
      ...options.env,
    },
  });
  const storage = createStorage(config.databaseUrl);
  const logs = new LogCapture();
  const app = await buildApp(config, { ...options.deps, storage, logStream: logs });
  await app.ready();
  const tokens = {} as Record<Role, string>;
  const userIds = {} as Record<Role, string>;
  const admin = await app.services.users.findByEmail(config.admin.email);
  userIds.admin = admin!.id;
  tokens.admin = (await app.services.auth.createToken(admin!.id, { name: 'test-admin' })).token;
  for (const role of ['developer', 'viewer'] as const) {
    const user = await app.services.users.create({ email: `${role}@example.test`, name: role, role, password: USER_PASSWORD });
    userIds[role] = user.id;
    tokens[role] = (await app.services.auth.createToken(user.id, { name: `test-${role}` })).token;
  }
  return {
    app,
    config,
    storage,
    logs,
    tokens,
    userIds,
    auth: (role) => ({ authorization: `Bearer ${tokens[role]}` }),
    async close() {
      await app.close();
      await storage.close();
      await scratch.drop();
    },
  };
}

/** Parses a JSON response body. */
export function json<T = any>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T;
}
