import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Database } from '../storage/schema.js';
import { upsert } from '../storage/upsert.js';

export interface DelayOptions {
  /** The wait after the last free attempt; it doubles with each attempt after it. Default 1 s. */
  delayMs?: number;
  /** The longest wait between two attempts. Default 5 minutes. */
  maxDelayMs?: number;
  now?: () => number;
}

/**
 * Counts failures per key in a fixed window, in the database: every hub replica shares the counts, so spreading
 * attempts over replicas gains nothing. A key's window starts at its first failure; the next failure after the
 * window starts a new one. Expired rows are deleted as failures come in.
 *
 * The first `max` attempts of a window are free. After them the key is not locked out but slowed down: each further
 * attempt must wait `delayMs` after the last one, doubling each time up to `maxDelayMs`, and an attempt refused for
 * coming too early is not counted, so it does not lengthen the wait (a 15-minute lockout that anyone could renew with
 * a burst of wrong passwords kept an account, admins included, out for as long as they liked).
 */
export class FailureLimiter {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #delayMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  #sincePrune = 0;

  constructor(db: Kysely<Database>, dialect: DialectName, max: number, windowMs: number, options: DelayOptions = {}) {
    this.#db = db;
    this.#dialect = dialect;
    this.#max = max;
    this.#windowMs = windowMs;
    this.#delayMs = options.delayMs ?? 1000;
    this.#maxDelayMs = Math.max(options.maxDelayMs ?? 5 * 60_000, this.#delayMs);
    this.#now = options.now ?? Date.now;
  }

  /** How long a key that has failed `failures` times in its window waits before its next attempt. */
  delayAfter(failures: number): number {
    if (failures < this.#max) return 0;
    const steps = failures - this.#max;
    return steps >= 40 ? this.#maxDelayMs : Math.min(this.#delayMs * 2 ** steps, this.#maxDelayMs);
  }

  /** `now + delayAfter(n)` in SQL, for `n` an expression of the failures counted (numbers inlined: our own). */
  #nextAt(n: RawBuilder<unknown>, now: number): RawBuilder<unknown> {
    const lit = (v: number) => sql.lit(v);
    const parts = [sql`when ${n} < ${lit(this.#max)} then ${lit(now)}`];
    for (let k = 0; this.#delayMs * 2 ** k < this.#maxDelayMs; k++)
      parts.push(sql`when ${n} = ${lit(this.#max + k)} then ${lit(now + this.#delayMs * 2 ** k)}`);
    return sql`case ${sql.join(parts, sql` `)} else ${lit(now + this.#maxDelayMs)} end`;
  }

  /** Seconds until `key` may try again, or 0 when it may try now. */
  async retryAfterSec(key: string): Promise<number> {
    const row = await this.#read(key);
    if (row === undefined) return 0;
    const now = this.#now();
    const windowEnd = row.windowStart + this.#windowMs;
    if (now >= windowEnd || row.failures < this.#max) return 0;
    const wait = Math.min(row.nextAt, windowEnd) - now;
    return wait > 0 ? Math.max(1, Math.ceil(wait / 1000)) : 0;
  }

  async #read(key: string): Promise<{ windowStart: number; failures: number; nextAt: number } | undefined> {
    const row = await this.#db
      .selectFrom('login_failures')
      .select(['window_start', 'failures', 'next_at'])
      .where('limit_key', '=', key)
      .executeTakeFirst();
    return row === undefined
      ? undefined
      : { windowStart: Number(row.window_start), failures: Number(row.failures), nextAt: Number(row.next_at) };
  }

  /**
   * Takes one attempt before it is checked: counts it as a failure at once and answers whether it may go ahead (a
   * free attempt, or the first one after the wait). Concurrent attempts all count before any is checked, so a burst
   * cannot get more than `max` checks through, and only one of those waiting gets each later turn; a success gives
   * its attempt back (`release`).
   */
  async reserve(key: string): Promise<boolean> {
    const now = this.#now();
    const expired = now - this.#windowMs;
    // A turn in the current window, in one conditional statement: replicas cannot both take it. On MySQL the
    // assignments run in order and see the earlier ones' values, so `next_at` comes first (from the old count).
    const taken = await this.#db
      .updateTable('login_failures')
      .set({
        next_at: this.#nextAt(sql`failures + 1`, now) as RawBuilder<number>,
        failures: sql<number>`failures + 1`,
      })
      .where('limit_key', '=', key)
      .where('window_start', '>', expired)
      .where((eb) => eb.or([eb('failures', '<', this.#max), eb('next_at', '<=', now)]))
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) > 0) return true;
    const row = await this.#read(key);
    if (row !== undefined && row.windowStart > expired) return false; // waiting: not counted
    // No window yet, or it ended: start one. Attempts that start it together all count; the first `max` go ahead.
    await this.fail(key);
    const after = await this.#read(key);
    return after === undefined || after.failures <= this.#max;
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
      { limit_key: key, window_start: now, failures: 1, next_at: now + this.delayAfter(1) },
      {
        key: ['limit_key'],
        set: {
          // In this order: on MySQL each is computed from the values the ones before it left.
          next_at: ({ current }) =>
            sql`case when ${current('window_start')} <= ${sql.lit(expired)} then ${sql.lit(now + this.delayAfter(1))} else ${this.#nextAt(sql`${current('failures')} + 1`, now)} end`,
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

  /**
   * The failures of each key in its current window, whether it is past its free attempts, and when its next attempt
   * may come (null: now). Keys without a current window are left out.
   */
  async states(
    keys: readonly string[],
  ): Promise<Map<string, { failures: number; delayed: boolean; retryAt: number | null }>> {
    const out = new Map<string, { failures: number; delayed: boolean; retryAt: number | null }>();
    if (keys.length === 0) return out;
    const now = this.#now();
    const rows = await this.#db
      .selectFrom('login_failures')
      .select(['limit_key', 'window_start', 'failures', 'next_at'])
      .where('limit_key', 'in', [...keys])
      .execute();
    for (const r of rows) {
      const windowEnd = Number(r.window_start) + this.#windowMs;
      const failures = Number(r.failures);
      if (now >= windowEnd || failures === 0) continue;
      const delayed = failures >= this.#max;
      const next = Math.min(Number(r.next_at), windowEnd);
      out.set(r.limit_key, { failures, delayed, retryAt: delayed && next > now ? next : null });
    }
    return out;
  }

  /** Forgets the key's failures (a successful sign-in, an admin's unlock). Returns how many there were. */
  async reset(key: string): Promise<number> {
    const row = await this.#read(key);
    await this.#db.deleteFrom('login_failures').where('limit_key', '=', key).execute();
    return row === undefined || row.windowStart + this.#windowMs <= this.#now() ? 0 : row.failures;
  }
}
