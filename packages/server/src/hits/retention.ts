import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';

export interface Retention {
  logsPerAction: number;
  snapshotsPerAction: number;
  metricBucketMs: number;
  metricRetentionMs: number;
}

/**
 * Keeps stored hits within their retention: the newest `logsPerAction` log lines and `snapshotsPerAction` snapshots of
 * each action, and metric buckets younger than `metricRetentionMs`. The stores report which actions they wrote to;
 * each maintenance pass trims those, in one statement per action and table, not per insert.
 */
export class HitRetention {
  readonly #db: Kysely<Database>;
  readonly #retention: Retention;
  readonly #logs = new Set<string>();
  readonly #snapshots = new Set<string>();
  readonly #metrics = new Set<string>();

  constructor(db: Kysely<Database>, retention: Retention) {
    this.#db = db;
    this.#retention = retention;
  }

  /** Called by the stores for each action they wrote hits of. */
  readonly logsWritten = (actionId: string): void => void this.#logs.add(actionId);
  readonly snapshotsWritten = (actionId: string): void => void this.#snapshots.add(actionId);
  readonly metricsWritten = (actionId: string): void => void this.#metrics.add(actionId);

  /** Trims every action that received hits since the last pass to its retention. */
  async prune(now: number): Promise<void> {
    const logs = [...this.#logs];
    this.#logs.clear();
    for (const actionId of logs) await this.#trim('log_hits', actionId, this.#retention.logsPerAction);
    const snaps = [...this.#snapshots];
    this.#snapshots.clear();
    for (const actionId of snaps) await this.#trim('snapshot_hits', actionId, this.#retention.snapshotsPerAction);
    const metrics = [...this.#metrics];
    this.#metrics.clear();
    const cutoff = now - this.#retention.metricRetentionMs;
    for (const actionId of metrics) {
      await this.#db
        .deleteFrom('metric_buckets')
        .where('action_id', '=', actionId)
        .where('bucket_start', '<', cutoff)
        .execute();
    }
  }

  async #trim(table: 'log_hits' | 'snapshot_hits', actionId: string, keep: number): Promise<void> {
    const edge = await this.#db
      .selectFrom(table)
      .select('id')
      .where('action_id', '=', actionId)
      .orderBy('id', 'desc')
      .limit(1)
      .offset(keep)
      .executeTakeFirst();
    if (edge !== undefined)
      await this.#db.deleteFrom(table).where('action_id', '=', actionId).where('id', '<=', edge.id).execute();
  }
}
