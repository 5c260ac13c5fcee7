import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, MysqlDialect, PostgresDialect, SqliteDialect, sql, type Dialect } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import pg from 'pg';
import { forDialect } from './migrations/dialect.js';
import { MIGRATIONS } from './migrations/index.js';
import { redactUrl } from './redact-url.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

export interface Storage {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /**
   * The embedded SQLite database's own handle, for bulk writes that bypass the query builder (span ingest). Use it
   * only inside `db.connection().execute(…)`, which holds Kysely's single SQLite connection, so no transaction of
   * Kysely's is open around it. Null on other dialects and before the first query.
   */
  readonly sqlite: SQLite.Database | null;
  /** Runs pending migrations. Safe when several hub replicas start at once (the migrator takes a DB lock). */
  migrate(): Promise<void>;
  /** True when the database answers and every known migration has been applied. */
  isReady(): Promise<boolean>;
  /**
   * Calls `listener` when the server drops an idle pooled connection (restart, failover, an administrator's kill). The
   * pool replaces such a connection on next use; without a listener the error is swallowed, never thrown.
   */
  onConnectionError(listener: (err: Error) => void): void;
  /** Closes the pool and resolves once every connection is closed (not merely asked to close). */
  close(): Promise<void>;
}

export const MIGRATION_TABLE = 'spyglass_migration';
export const MIGRATION_LOCK_TABLE = 'spyglass_migration_lock';

/** Describes a database URL without its password, for logs. An SQLite URL is a file path, shown as written. */
export function redactDatabaseUrl(url: string): string {
  return url.startsWith('sqlite:') ? url : redactUrl(url, 'database');
}

function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

interface DialectParts {
  dialect: Dialect;
  name: DialectName;
  /** The SQLite handle once the dialect opened it. */
  sqlite?: () => SQLite.Database | null;
  /** Resolves when every connection the pool opened has closed. */
  closed?: () => Promise<void>;
}

/** How long `close()` waits for closing connections to finish closing. */
const CLOSE_WAIT_MS = 5_000;

function createDialect(url: string, onError: (err: Error) => void): DialectParts {
  if (url.startsWith('sqlite:')) {
    const file = sqlitePath(url);
    const memory = file === ':memory:' || file === '';
    if (!memory) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let opened: SQLite.Database | null = null;
    return {
      name: 'sqlite',
      sqlite: () => opened,
      dialect: new SqliteDialect({
        database: () => {
          const db = new SQLite(memory ? ':memory:' : file);
          if (!memory) db.pragma('journal_mode = WAL');
          db.pragma('busy_timeout = 5000');
          db.pragma('foreign_keys = ON');
          db.pragma('synchronous = NORMAL');
          // 64 MiB of page cache (the default is 2 MiB): the indexes of a large span table stay in memory.
          db.pragma('cache_size = -65536');
          opened = db;
          return Promise.resolve(db);
        },
      }),
    };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      // epoch-ms columns are BIGINT; they fit in a double, so read them as numbers.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
          oid === 20
            ? (v: string) => Number(v)
            : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client's error is re-emitted by the pool, and an 'error' event without a listener throws: a database
    // restart would take the hub down with it.
    pool.on('error', onError);
    // pool.end() resolves once it has asked every client to end, before their sockets close; 'remove' fires after.
    let open = 0;
    let drained: (() => void) | undefined;
    pool.on('connect', () => void open++);
    pool.on('remove', () => {
      open--;
      if (open === 0) drained?.();
    });
    const closed = () =>
      open === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, CLOSE_WAIT_MS);
            drained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
    return { name: 'postgres', dialect: new PostgresDialect({ pool }), closed };
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const pool = createMysqlPool({
      uri: url.replace(/^mariadb:/, 'mysql:'),
      connectionLimit: 10,
      supportBigNumbers: true,
      bigNumberStrings: false,
      timezone: 'Z',
    });
    return { name: 'mysql', dialect: new MysqlDialect({ pool }) };
  }
  throw new Error(`unsupported database URL ${redactDatabaseUrl(url)}`);
}

export function createStorage(url: string): Storage {
  const listeners: ((err: Error) => void)[] = [];
  const {
    dialect,
    name,
    sqlite,
    closed: connectionsClosed,
  } = createDialect(url, (err) => {
    for (const listener of listeners) listener(err);
  });
  const db = new Kysely<Database>({ dialect });
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(forDialect(MIGRATIONS, name)) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  let closed = false;
  return {
    db,
    dialect: name,
    get sqlite() {
      return sqlite?.() ?? null;
    },
    async migrate() {
      const { error, results } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results?.find((r) => r.status === 'Error');
        throw new Error(
          `database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
          {
            cause: error,
          },
        );
      }
    },
    async isReady() {
      if (closed) return false;
      try {
        await sql`select 1`.execute(db);
        const migrations = await migrator.getMigrations();
        return migrations.every((m) => m.executedAt !== undefined);
      } catch {
        return false;
      }
    },
    onConnectionError(listener) {
      listeners.push(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      await connectionsClosed?.();
    },
  };
}
