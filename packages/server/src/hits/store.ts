import type {
  HitQuery,
  LogHit,
  MetricPoint,
  MetricQuery,
  MetricSample,
  Page,
  SnapshotHit,
  SnapshotSummary,
  StoredLog,
  StoredSnapshot,
} from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Database } from '../storage/schema.js';
import { LogStore } from './log-store.js';
import { MetricStore } from './metric-store.js';
import { HitRetention, type Retention } from './retention.js';
import { SnapshotStore } from './snapshot-store.js';

export { isForeignKeyViolation } from './metric-store.js';
export type { Retention } from './retention.js';

/**
 * Stored hits, bounded per action: log lines (`LogStore`), snapshots (`SnapshotStore`) and metric buckets
 * (`MetricStore`), trimmed to their retention by `HitRetention`. One object for the gateway and the routes.
 */
export class HitStore {
  readonly #retention: Retention;
  readonly #pruning: HitRetention;
  readonly #logs: LogStore;
  readonly #snapshots: SnapshotStore;
  readonly #metrics: MetricStore;

  constructor(db: Kysely<Database>, dialect: DialectName, retention: Retention, replicaId: string) {
    this.#retention = retention;
    this.#pruning = new HitRetention(db, retention);
    this.#logs = new LogStore(db, dialect, retention.logsPerAction, this.#pruning.logsWritten);
    this.#snapshots = new SnapshotStore(db, dialect, this.#pruning.snapshotsWritten);
    this.#metrics = new MetricStore(db, dialect, retention.metricBucketMs, replicaId, this.#pruning.metricsWritten);
  }

  get retention(): Retention {
    return this.#retention;
  }

  async insertLogs(agentId: string, logs: readonly LogHit[]): Promise<void> {
    await this.#logs.insertBatch(logs.map((log) => ({ agentId, log })));
  }

  /** Stores log lines of any number of agents and actions (see `LogStore.insertBatch`). */
  insertLogBatch(batch: readonly { agentId: string; log: LogHit }[]): Promise<void> {
    return this.#logs.insertBatch(batch);
  }

  /** Stores snapshots one by one (each needs its id back) and returns their summaries. */
  insertSnapshots(agentId: string, snapshots: readonly SnapshotHit[]): Promise<SnapshotSummary[]> {
    return this.#snapshots.insert(agentId, snapshots);
  }

  /** Called with every batch of accepted metric samples (the Prometheus export follows them). */
  onMetrics(listener: (samples: readonly MetricSample[]) => void): void {
    this.#metrics.onSamples(listener);
  }

  /** Merges samples into the in-memory buckets; `flushMetrics` writes them. */
  addMetrics(samples: readonly MetricSample[], now: number): void {
    this.#metrics.add(samples, now);
  }

  /** Writes bucket deltas; forgets buckets untouched for three bucket widths. */
  flushMetrics(now: number): Promise<void> {
    return this.#metrics.flush(now);
  }

  /** Trims every action that received hits since the last pass to its retention. */
  prune(now: number): Promise<void> {
    return this.#pruning.prune(now);
  }

  logs(actionId: string, q: HitQuery): Promise<Page<StoredLog>> {
    return this.#logs.page(actionId, q);
  }

  snapshots(actionId: string, q: HitQuery): Promise<Page<SnapshotSummary>> {
    return this.#snapshots.page(actionId, q);
  }

  snapshot(actionId: string, hitId: string): Promise<StoredSnapshot> {
    return this.#snapshots.get(actionId, hitId);
  }

  /** The log lines and snapshots recorded inside a trace (their agents read the active OpenTelemetry span). */
  /** Hits recorded inside a trace; `pools` (not null): only hits of actions in these pools. */
  async byTrace(
    traceId: string,
    limit: number,
    pools: readonly string[] | null = null,
  ): Promise<{ logs: StoredLog[]; snapshots: SnapshotSummary[] }> {
    if (pools !== null && pools.length === 0) return { logs: [], snapshots: [] };
    const [logs, snapshots] = await Promise.all([
      this.#logs.byTrace(traceId, limit, pools),
      this.#snapshots.byTrace(traceId, limit, pools),
    ]);
    return { logs, snapshots };
  }

  metrics(actionId: string, q: MetricQuery): Promise<Page<MetricPoint>> {
    return this.#metrics.page(actionId, q);
  }
}
