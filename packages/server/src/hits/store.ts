import {
  SpyglassError,
  addHistogram,
  type HitQuery,
  type LogHit,
  type MetricPoint,
  type MetricQuery,
  type MetricSample,
  type Page,
  type SnapshotHit,
  type SnapshotSummary,
  type StoredLog,
  type StoredSnapshot,
} from '@spyglass/protocol';
import {
  sql,
  type Expression,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type Selectable,
  type SqlBool,
} from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Database, LogHitsTable, SnapshotHitsTable } from '../storage/schema.js';
import { keysetPage } from '../storage/paging.js';
import { upsert } from '../storage/upsert.js';
import { inChunks, parseJson } from './cursor.js';

export interface Retention {
  logsPerAction: number;
  snapshotsPerAction: number;
  metricBucketMs: number;
  metricRetentionMs: number;
}

type LogRow = Omit<Insertable<LogHitsTable>, 'id'>;

/**
 * The filter of a page of log or snapshot hits: one action, and the optional agent and time window. Both tables have
 * the same `action_id`, `agent_id` and `at` columns.
 */
function hitFilter(
  actionId: string,
  q: HitQuery,
): (eb: ExpressionBuilder<Database, 'log_hits' | 'snapshot_hits'>) => Expression<SqlBool> {
  return (eb) => {
    const where: Expression<SqlBool>[] = [eb('action_id', '=', actionId)];
    if (q.agentId !== undefined) where.push(eb('agent_id', '=', q.agentId));
    if (q.since !== undefined) where.push(eb('at', '>=', q.since));
    if (q.until !== undefined) where.push(eb('at', '<', q.until));
    return eb.and(where);
  };
}

interface Bucket {
  actionId: string;
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  histogram: { bounds: number[]; counts: number[] } | null;
  /** The histogram holds every sample of the bucket since its first one, so it may replace the stored one. */
  histogramComplete: boolean;
  touchedAt: number;
  /** Part not yet written. */
  delta: { count: number; sum: number; min: number; max: number } | null;
}

function snapshotSummary(hit: SnapshotHit, id: string, agentId: string): SnapshotSummary {
  const top = hit.frames[0];
  return {
    id,
    actionId: hit.actionId,
    agentId,
    at: hit.at,
    top: top === undefined ? null : { functionName: top.functionName, file: top.file, line: top.line },
    frameCount: hit.frames.length,
    truncated: hit.truncated,
    traceId: hit.traceId ?? null,
    spanId: hit.spanId ?? null,
  };
}

/**
 * Stored hits, bounded per action: the newest `logsPerAction` log lines and `snapshotsPerAction` snapshots (older rows
 * are pruned in one statement per action every maintenance pass, not per insert), and metric samples merged into
 * `metricBucketMs` buckets kept for `metricRetentionMs`. Metric buckets are aggregated in memory and written as
 * additive deltas, one row per (action, bucket, replica), merged again when read.
 */
export class HitStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #retention: Retention;
  readonly #replicaId: string;
  readonly #dirtyLogs = new Set<string>();
  readonly #dirtySnapshots = new Set<string>();
  readonly #metricActions = new Set<string>();
  readonly #buckets = new Map<string, Bucket>();

  readonly #metricListeners: ((samples: readonly MetricSample[]) => void)[] = [];

  constructor(db: Kysely<Database>, dialect: DialectName, retention: Retention, replicaId: string) {
    this.#db = db;
    this.#dialect = dialect;
    this.#retention = retention;
    this.#replicaId = replicaId;
  }

  get retention(): Retention {
    return this.#retention;
  }

  async insertLogs(agentId: string, logs: readonly LogHit[]): Promise<void> {
    await this.insertLogBatch(logs.map((log) => ({ agentId, log })));
  }

  /**
   * Stores log lines of any number of agents and actions, oldest first, in as few statements as possible. Lines that
   * retention would remove at once (more than `logsPerAction` newer lines of the same action are in this batch) are
   * not written at all: every line written later gets a higher id, so they could never be among the newest.
   */
  async insertLogBatch(batch: readonly { agentId: string; log: LogHit }[]): Promise<void> {
    if (batch.length === 0) return;
    const keep = this.#retention.logsPerAction;
    const perAction = new Map<string, number>();
    for (const { log } of batch) perAction.set(log.actionId, (perAction.get(log.actionId) ?? 0) + 1);
    const rows: LogRow[] = [];
    for (const { agentId, log: l } of batch) {
      const left = perAction.get(l.actionId)!;
      perAction.set(l.actionId, left - 1);
      if (left > keep) continue; // `keep` newer lines of this action follow in the same batch
      rows.push({
        action_id: l.actionId,
        agent_id: agentId,
        at: l.at,
        level: l.level,
        message: l.message,
        trace_id: l.traceId ?? null,
        span_id: l.spanId ?? null,
      });
    }
    await this.#insertLogRows(rows);
    for (const actionId of perAction.keys()) this.#dirtyLogs.add(actionId);
  }

  /** All rows or none: several statements run in one transaction. */
  async #insertLogRows(rows: readonly LogRow[]): Promise<void> {
    const size = this.#dialect === 'mysql' ? 250 : 2000;
    if (rows.length <= size) return this.#insertLogChunk(this.#db, rows);
    await this.#db.transaction().execute((trx) => inChunks(rows, size, (chunk) => this.#insertLogChunk(trx, chunk)));
  }

  async #insertLogChunk(db: Kysely<Database>, rows: readonly LogRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.#dialect === 'mysql') {
      await db.insertInto('log_hits').values(rows).execute();
      return;
    }
    // One short statement with the batch as a JSON parameter: far cheaper to prepare than a 250-row VALUES list.
    const json = JSON.stringify(rows);
    const source =
      this.#dialect === 'postgres'
        ? sql`select * from json_to_recordset(${json}::json) as r(action_id text, agent_id text, at bigint, level text, message text, trace_id text, span_id text)`
        : sql`select value ->> '$.action_id', value ->> '$.agent_id', value ->> '$.at', value ->> '$.level', value ->> '$.message', value ->> '$.trace_id', value ->> '$.span_id' from json_each(${json})`;
    await sql`insert into log_hits (action_id, agent_id, at, level, message, trace_id, span_id) ${source}`.execute(db);
  }

  /** Stores snapshots one by one (each needs its id back) and returns their summaries. */
  async insertSnapshots(agentId: string, snapshots: readonly SnapshotHit[]): Promise<SnapshotSummary[]> {
    const out: SnapshotSummary[] = [];
    for (const s of snapshots) {
      const summary = snapshotSummary(s, '', agentId);
      const values = {
        action_id: s.actionId,
        agent_id: agentId,
        at: s.at,
        summary: JSON.stringify({ top: summary.top, frameCount: summary.frameCount }),
        data: JSON.stringify({ frames: s.frames, watches: s.watches }),
        truncated: s.truncated ? 1 : 0,
        trace_id: s.traceId ?? null,
        span_id: s.spanId ?? null,
      };
      let id: number;
      if (this.#dialect === 'postgres') {
        id = (await this.#db.insertInto('snapshot_hits').values(values).returning('id').executeTakeFirstOrThrow()).id;
      } else {
        id = Number((await this.#db.insertInto('snapshot_hits').values(values).executeTakeFirstOrThrow()).insertId);
      }
      out.push({ ...summary, id: String(id) });
      this.#dirtySnapshots.add(s.actionId);
    }
    return out;
  }

  /** Merges samples into the in-memory buckets; `flushMetrics` writes them. */
  /** Called with every batch of accepted metric samples (the Prometheus export follows them). */
  onMetrics(listener: (samples: readonly MetricSample[]) => void): void {
    this.#metricListeners.push(listener);
  }

  addMetrics(samples: readonly MetricSample[], now: number): void {
    for (const listener of this.#metricListeners) listener(samples);
    const width = this.#retention.metricBucketMs;
    for (const s of samples) {
      if (s.count === 0) continue;
      const start = Math.floor(s.start / width) * width;
      const key = `${s.actionId}|${start}`;
      let b = this.#buckets.get(key);
      if (b === undefined) {
        b = {
          actionId: s.actionId,
          start,
          count: 0,
          sum: 0,
          min: Infinity,
          max: -Infinity,
          histogram: null,
          // A bucket that ended long ago may already have a stored histogram from before it left memory.
          histogramComplete: start + width * 3 > now,
          touchedAt: now,
          delta: null,
        };
        this.#buckets.set(key, b);
      }
      b.count += s.count;
      b.sum += s.sum;
      b.min = Math.min(b.min, s.min);
      b.max = Math.max(b.max, s.max);
      b.touchedAt = now;
      if (s.histogram !== undefined) {
        if (b.histogram === null && b.count === s.count)
          b.histogram = { bounds: [...s.histogram.bounds], counts: [...s.histogram.counts] };
        else if (b.histogram === null || !addHistogram(b.histogram, s.histogram)) b.histogramComplete = false;
      }
      const d = (b.delta ??= { count: 0, sum: 0, min: Infinity, max: -Infinity });
      d.count += s.count;
      d.sum += s.sum;
      d.min = Math.min(d.min, s.min);
      d.max = Math.max(d.max, s.max);
      this.#metricActions.add(s.actionId);
    }
  }

  /** Writes bucket deltas; forgets buckets untouched for three bucket widths. */
  async flushMetrics(now: number): Promise<void> {
    const width = this.#retention.metricBucketMs;
    for (const [key, b] of this.#buckets) {
      const d = b.delta;
      if (d !== null) {
        b.delta = null;
        const histogram = b.histogramComplete && b.histogram !== null ? JSON.stringify(b.histogram) : null;
        try {
          await this.#upsertBucket(b, d, histogram, now);
        } catch (err) {
          if (!isForeignKeyViolation(err)) throw err; // the action was deleted meanwhile
        }
      }
      if (now - b.touchedAt > width * 3) this.#buckets.delete(key);
    }
  }

  #upsertBucket(b: Bucket, d: NonNullable<Bucket['delta']>, histogram: string | null, now: number) {
    const values = {
      action_id: b.actionId,
      bucket_start: b.start,
      replica_id: this.#replicaId,
      value_count: d.count,
      value_sum: d.sum,
      value_min: d.min,
      value_max: d.max,
      histogram,
      updated_at: now,
    };
    return upsert(this.#db, this.#dialect, 'metric_buckets', values, {
      key: ['action_id', 'bucket_start', 'replica_id'],
      set: {
        value_count: ({ current, inserted }) => sql`${current('value_count')} + ${inserted('value_count')}`,
        value_sum: ({ current, inserted }) => sql`${current('value_sum')} + ${inserted('value_sum')}`,
        value_min: ({ current, inserted, least }) =>
          least(sql`coalesce(${current('value_min')}, ${inserted('value_min')})`, inserted('value_min')),
        value_max: ({ current, inserted, greatest }) =>
          greatest(sql`coalesce(${current('value_max')}, ${inserted('value_max')})`, inserted('value_max')),
        histogram: ({ current, inserted }) => sql`coalesce(${inserted('histogram')}, ${current('histogram')})`,
        updated_at: 'inserted',
      },
    });
  }

  /** Trims every action that received hits since the last pass to its retention. */
  async prune(now: number): Promise<void> {
    const logs = [...this.#dirtyLogs];
    this.#dirtyLogs.clear();
    for (const actionId of logs) await this.#trim('log_hits', actionId, this.#retention.logsPerAction);
    const snaps = [...this.#dirtySnapshots];
    this.#dirtySnapshots.clear();
    for (const actionId of snaps) await this.#trim('snapshot_hits', actionId, this.#retention.snapshotsPerAction);
    const metrics = [...this.#metricActions];
    this.#metricActions.clear();
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

  async logs(actionId: string, q: HitQuery): Promise<Page<StoredLog>> {
    const query = this.#db.selectFrom('log_hits').selectAll().where(hitFilter(actionId, q));
    const page = await keysetPage(query, [['id', 'desc', 'number']], q.cursor, q.limit);
    const items = page.items.map((r): StoredLog => ({
      id: String(r.id),
      actionId: r.action_id,
      agentId: r.agent_id,
      at: Number(r.at),
      level: r.level as StoredLog['level'],
      message: r.message,
      traceId: r.trace_id,
      spanId: r.span_id,
    }));
    return { items, nextCursor: page.nextCursor };
  }

  async snapshots(actionId: string, q: HitQuery): Promise<Page<SnapshotSummary>> {
    const query = this.#db
      .selectFrom('snapshot_hits')
      .select(['id', 'action_id', 'agent_id', 'at', 'summary', 'truncated', 'trace_id', 'span_id'])
      .where(hitFilter(actionId, q));
    const page = await keysetPage(query, [['id', 'desc', 'number']], q.cursor, q.limit);
    return { items: page.items.map(toSummary), nextCursor: page.nextCursor };
  }

  async snapshot(actionId: string, hitId: string): Promise<StoredSnapshot> {
    const id = Number(hitId);
    const row = Number.isSafeInteger(id)
      ? await this.#db
          .selectFrom('snapshot_hits')
          .selectAll()
          .where('action_id', '=', actionId)
          .where('id', '=', id)
          .executeTakeFirst()
      : undefined;
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `snapshot ${hitId} of action ${actionId} not found`);
    const data = parseJson<Pick<StoredSnapshot, 'frames' | 'watches'>>(row.data, { frames: [], watches: [] });
    return { ...toSummary(row), frames: data.frames, watches: data.watches };
  }

  async metrics(actionId: string, q: MetricQuery): Promise<Page<MetricPoint>> {
    let starts = this.#db
      .selectFrom('metric_buckets')
      .select('bucket_start')
      .where('action_id', '=', actionId)
      .groupBy('bucket_start');
    if (q.since !== undefined) starts = starts.where('bucket_start', '>=', q.since);
    if (q.until !== undefined) starts = starts.where('bucket_start', '<', q.until);
    const startPage = await keysetPage(starts, [['bucket_start', 'desc', 'number']], q.cursor, q.limit);
    const page = startPage.items.map((r) => Number(r.bucket_start));
    if (page.length === 0) return { items: [], nextCursor: null };
    const rows = await this.#db
      .selectFrom('metric_buckets')
      .selectAll()
      .where('action_id', '=', actionId)
      .where('bucket_start', 'in', page)
      .execute();
    const width = this.#retention.metricBucketMs;
    const byStart = new Map<number, MetricPoint>();
    for (const r of rows) {
      const start = Number(r.bucket_start);
      const p = byStart.get(start) ?? { actionId, start, end: start + width, count: 0, sum: 0, min: null, max: null };
      p.count += Number(r.value_count);
      p.sum += Number(r.value_sum);
      if (r.value_min !== null) p.min = p.min === null ? Number(r.value_min) : Math.min(p.min, Number(r.value_min));
      if (r.value_max !== null) p.max = p.max === null ? Number(r.value_max) : Math.max(p.max, Number(r.value_max));
      const h = parseJson<{ bounds: number[]; counts: number[] } | null>(r.histogram, null);
      if (h !== null) {
        if (p.histogram === undefined) p.histogram = h;
        else addHistogram(p.histogram, h);
      }
      byStart.set(start, p);
    }
    const items = page.map((s) => byStart.get(s)).filter((p): p is MetricPoint => p !== undefined);
    return { items, nextCursor: startPage.nextCursor };
  }
}

function toSummary(
  r: Pick<
    Selectable<SnapshotHitsTable>,
    'id' | 'action_id' | 'agent_id' | 'at' | 'summary' | 'truncated' | 'trace_id' | 'span_id'
  >,
): SnapshotSummary {
  const s = parseJson<{ top: SnapshotSummary['top']; frameCount: number }>(r.summary, { top: null, frameCount: 0 });
  return {
    id: String(r.id),
    actionId: r.action_id,
    agentId: r.agent_id,
    at: Number(r.at),
    top: s.top,
    frameCount: s.frameCount,
    truncated: Number(r.truncated) === 1,
    traceId: r.trace_id,
    spanId: r.span_id,
  };
}

export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string } | undefined;
  return e?.code === '23503' || e?.code === 'ER_NO_REFERENCED_ROW_2' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
