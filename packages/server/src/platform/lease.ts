import { SpyglassError } from '@spyglass/protocol';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DialectName } from '../storage/db.js';
import { upsert } from '../storage/upsert.js';
import type { Database } from '../storage/schema.js';

/** Who holds a named lease and until when (epoch ms). */
export interface Lease {
  name: string;
  holder: string;
  expiresAt: number;
}

/**
 * Named leases shared by every hub replica, so that work meant to run once (a singleton job) runs on one replica at
 * a time, and another replica takes it over when the holder stops renewing.
 */
export interface LeaseStore {
  /**
   * Takes `name` for `holder` if free or expired, or renews it if `holder` has it; true when `holder` holds it for
   * `ttlMs` from now afterwards. Atomic across replicas.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives it up if `holder` has it (a replica stopping cleanly hands over at once). */
  release(name: string, holder: string): Promise<void>;
  /** The lease's holder while it has not expired; null when it is free or expired. */
  current(name: string): Promise<Lease | null>;
}

/** Longest lease name and holder id (the SQL columns are `varchar(200)`). */
export const MAX_LEASE_NAME_LENGTH = 200;

function checkLease(name: string, holder: string, ttlMs?: number): void {
  if (name === '' || name.length > MAX_LEASE_NAME_LENGTH) {
    throw new SpyglassError('INVALID_INPUT', `a lease name has 1 to ${MAX_LEASE_NAME_LENGTH} characters`);
  }
  if (holder === '' || holder.length > MAX_LEASE_NAME_LENGTH) {
    throw new SpyglassError('INVALID_INPUT', `a lease holder id has 1 to ${MAX_LEASE_NAME_LENGTH} characters`);
  }
  if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
    throw new SpyglassError('INVALID_INPUT', `a lease lifetime is a positive whole number of ms, not ${ttlMs}`);
  }
}

export interface SqlLeaseStoreOptions {
  /** Epoch-ms clock (tests); defaults to `Date.now`. */
  clock?: () => number;
}

/**
 * Leases in the `leases` table, on SQLite, PostgreSQL and MySQL/MariaDB alike.
 *
 * `acquire` is three statements, each atomic on its own: insert the row if absent, update it where
 * `holder = me or expires_at <= now` (a row lock makes racing updates of one expired lease serialize, and the second
 * re-reads the row the first wrote, so only one replica wins and no update is lost), then read the row back: the
 * caller holds the lease when the row names it.
 *
 * Clocks: expiry is written and compared with each replica's own clock (`expires_at` is the acquirer's now + TTL).
 * A replica whose clock runs ahead of the holder's by `s` ms sees the lease expire `s` ms early, so clock skew between
 * replicas must stay well under the TTL (NTP keeps it to milliseconds; the scheduler's default TTL is 15 s).
 */
export class SqlLeaseStore implements LeaseStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #clock: () => number;

  constructor(db: Kysely<Database>, dialect: DialectName, options: SqlLeaseStoreOptions = {}) {
    this.#db = db;
    this.#dialect = dialect;
    this.#clock = options.clock ?? Date.now;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    checkLease(name, holder, ttlMs);
    const now = this.#clock();
    const expiresAt = now + ttlMs;
    // Create the row if there is none; an existing one is left as it is (a no-op update: MySQL has no `do nothing`,
    // and `insert ignore` would also hide real errors). The conditional update below decides who holds it.
    await upsert(
      this.#db,
      this.#dialect,
      'leases',
      { name, holder, expires_at: expiresAt },
      {
        key: ['name'],
        set: { name: ({ current }) => current('name') },
      },
    );
    await this.#db
      .updateTable('leases')
      .set({ holder, expires_at: expiresAt })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at', '<=', now)]))
      .execute();
    // Read back rather than trust affected-row counts: MySQL reports 0 for a renewal that changed nothing.
    const row = await this.#db
      .selectFrom('leases')
      .select(['holder', 'expires_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row !== undefined && row.holder === holder && Number(row.expires_at) > now;
  }

  async release(name: string, holder: string): Promise<void> {
    checkLease(name, holder);
    await this.#db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async current(name: string): Promise<Lease | null> {
    const row = await this.#db
      .selectFrom('leases')
      .select(['name', 'holder', 'expires_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    if (row === undefined) return null;
    const expiresAt = Number(row.expires_at);
    return expiresAt > this.#clock() ? { name: row.name, holder: row.holder, expiresAt } : null;
  }
}

export interface RedisLeaseStoreOptions {
  /** `redis://` or `rediss://` URL, with credentials and database if needed. */
  url: string;
  /** Keys are `<keyPrefix>:lease:<name>`; installations sharing one Redis database use different prefixes. */
  keyPrefix: string;
  log: Logger;
  /** A command Redis has not answered after this long fails (the scheduler then counts the lease as not renewed). */
  commandTimeoutMs?: number;
}

/** Sets the key to the holder with a TTL when it is absent or already the holder's. */
const ACQUIRE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Deletes the key only when it is the holder's. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** The holder and remaining lifetime in ms, read together. */
const CURRENT_SCRIPT = `return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`;

/**
 * Leases in Redis: one key per lease holding the holder id, with a `PX` expiry, changed only by Lua scripts (atomic
 * on the server). Expiry runs on the Redis server's clock, so replicas' clocks do not matter here; `current()` turns
 * the remaining lifetime into an epoch-ms time with this replica's clock.
 */
export class RedisLeaseStore implements LeaseStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  #closed = false;

  constructor(options: RedisLeaseStoreOptions) {
    this.#prefix = options.keyPrefix;
    this.#redis = new Redis(options.url, {
      lazyConnect: true,
      connectionName: 'spyglass-leases',
      connectTimeout: 5000,
      // Commands wait for a reconnection but never longer than this, so a lease call always settles.
      commandTimeout: options.commandTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 6)),
    });
    let down = false;
    this.#redis.on('error', (err: Error) => {
      if (this.#closed || down) return;
      down = true;
      options.log.warn({ err }, 'Redis lease store unavailable; singleton jobs wait until it is back');
    });
    this.#redis.on('ready', () => {
      if (!down) return;
      down = false;
      options.log.info('Redis lease store reconnected');
    });
    this.#redis.connect().catch(() => {});
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    checkLease(name, holder, ttlMs);
    const won = await this.#redis.eval(ACQUIRE_SCRIPT, 1, this.#key(name), holder, String(ttlMs));
    return won === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    checkLease(name, holder);
    await this.#redis.eval(RELEASE_SCRIPT, 1, this.#key(name), holder);
  }

  async current(name: string): Promise<Lease | null> {
    const [holder, ttlMs] = (await this.#redis.eval(CURRENT_SCRIPT, 1, this.#key(name))) as [
      string | null | false,
      number,
    ];
    // PTTL is -2 for a missing key and -1 for a key without expiry (never written by this store).
    if (typeof holder !== 'string' || ttlMs < 0) return null;
    return { name, holder, expiresAt: Date.now() + ttlMs };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#redis.status === 'ready') {
      await Promise.race([
        this.#redis.quit().catch(() => undefined),
        new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
    }
    this.#redis.disconnect();
  }

  #key(name: string): string {
    return `${this.#prefix}:lease:${name}`;
  }
}
