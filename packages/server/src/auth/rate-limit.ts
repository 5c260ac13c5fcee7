import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Database } from '../storage/schema.js';
import { upsert } from '../storage/upsert.js';

/**
 * Counts failures per key in a fixed window, in the database: every hub replica shares the counts, so spreading
 * attempts over replicas gains nothing. A key's window starts at its first failure; the next failure after the
 * window starts a new one. Expired rows are deleted as failures come in.
 */
export class FailureLimiter {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #sincePrune = 0;

  constructor(
    db: Kysely<Database>,
    dialect: DialectName,
    max: number,
    windowMs: number,
    options: { now?: () => number } = {},
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#max = max;
    this.#windowMs = windowMs;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds until `key` may try again, or 0 when it may try now. */
  async retryAfterSec(key: string): Promise<number> {
    const row = await this.#db
      .selectFrom('login_failures')
      .select(['window_start', 'failures'])
      .where('limit_key', '=', key)
      .executeTakeFirst();
    if (row === undefined) return 0;
    const end = Number(row.window_start) + this.#windowMs;
    const now = this.#now();
    if (now >= end || Number(row.failures) < this.#max) return 0;
    return Math.max(1, Math.ceil((end - now) / 1000));
  }

  /**
   * Takes one attempt before it is checked: counts it as a failure at once and answers whether it is within the limit.
   * Concurrent attempts all count before any is checked, so a burst cannot get more than `max` checks through; a
   * success gives its attempt back (`release`).
   */
  async reserve(key: string): Promise<boolean> {
    await this.fail(key);
    const row = await this.#db
      .selectFrom('login_failures')
      .select('failures')
      .where('limit_key', '=', key)
      .executeTakeFirst();
    return row === undefined || Number(row.failures) <= this.#max;
  }

  /** Gives back an attempt `reserve` took (the attempt succeeded). */
  async release(key: string): Promise<void> {
    await this.#db
      .updateTable('login_failures')
      .set({ failures: sql`case when failures > 0 then failures - 1 else 0 end` })
      .where('limit_key', '=', key)
      .execute();
  }

  /** Counts one failure, atomically (concurrent failures on several replicas all count). */
  async fail(key: string): Promise<void> {
    const now = this.#now();
    const expired = now - this.#windowMs;
    await upsert(
      this.#db,
      this.#dialect,
      'login_failures',
      { limit_key: key, window_start: now, failures: 1 },
      {
        key: ['limit_key'],
        set: {
          // First: on MySQL, `failures` must be computed from the stored window_start, before it is replaced.
          failures: ({ current }) =>
            sql`case when ${current('window_start')} <= ${expired} then 1 else ${current('failures')} + 1 end`,
          window_start: ({ current }) =>
            sql`case when ${current('window_start')} <= ${expired} then ${now} else ${current('window_start')} end`,
        },
      },
    );
    if (++this.#sincePrune >= 100) {
      this.#sincePrune = 0;
      await this.#db.deleteFrom('login_failures').where('window_start', '<=', expired).execute();
    }
  }

  async reset(key: string): Promise<void> {
    await this.#db.deleteFrom('login_failures').where('limit_key', '=', key).execute();
  }
}
