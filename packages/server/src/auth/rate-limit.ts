import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Database } from '../storage/schema.js';

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

  /** Counts one failure, atomically (concurrent failures on several replicas all count). */
  async fail(key: string): Promise<void> {
    const now = this.#now();
    const expired = now - this.#windowMs;
    const q = this.#db.insertInto('login_failures').values({ limit_key: key, window_start: now, failures: 1 });
    if (this.#dialect === 'mysql') {
      // MySQL applies the assignments in order: `failures` must be computed from the old window_start.
      await q
        .onDuplicateKeyUpdate({
          failures: sql`if(window_start <= ${expired}, 1, failures + 1)`,
          window_start: sql`if(window_start <= ${expired}, ${now}, window_start)`,
        })
        .execute();
    } else {
      await q
        .onConflict((oc) =>
          oc.column('limit_key').doUpdateSet({
            failures: sql`case when login_failures.window_start <= ${expired} then 1 else login_failures.failures + 1 end`,
            window_start: sql`case when login_failures.window_start <= ${expired} then ${now} else login_failures.window_start end`,
          }),
        )
        .execute();
    }
    if (++this.#sincePrune >= 100) {
      this.#sincePrune = 0;
      await this.#db.deleteFrom('login_failures').where('window_start', '<=', expired).execute();
    }
  }

  async reset(key: string): Promise<void> {
    await this.#db.deleteFrom('login_failures').where('limit_key', '=', key).execute();
  }
}
