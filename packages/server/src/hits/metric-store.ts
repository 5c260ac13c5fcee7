import { addHistogram, type MetricPoint, type MetricQuery, type MetricSample, type Page } from '@spyglass/protocol';
import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../storage/db.js';
import { keysetPage } from '../storage/paging.js';
import type { Database } from '../storage/schema.js';
import { upsert } from '../storage/upsert.js';
import { parseJson } from './cursor.js';

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

/**
 * Metric samples merged into `bucketMs` buckets. Buckets are aggregated in memory and written as additive deltas, one
 * row per (action, bucket, replica), merged again when read.
 */
export class MetricStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #bucketMs: number;
  readonly #replicaId: string;
  readonly #written: (actionId: string) => void;
  readonly #buckets = new Map<string, Bucket>();
  readonly #listeners: ((samples: readonly MetricSample[]) => void)[] = [];

  /** `written` hears of every action samples were taken for (retention removes its old buckets later). */
  constructor(
    db: Kysely<Database>,
    dialect: DialectName,
    bucketMs: number,
    replicaId: string,
    written: (actionId: string) => void,
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#bucketMs = bucketMs;
    this.#replicaId = replicaId;
    this.#written = written;
  }

  /** Called with every batch of accepted metric samples (the Prometheus export follows them). */
  onSamples(listener: (samples: readonly MetricSample[]) => void): void {
    this.#listeners.push(listener);
  }

  /** Merges samples into the in-memory buckets; `flush` writes them. */
  add(samples: readonly MetricSample[], now: number): void {
    for (const listener of this.#listeners) listener(samples);
    const width = this.#bucketMs;
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
      this.#written(s.actionId);
    }
  }

  /** Writes bucket deltas; forgets buckets untouched for three bucket widths. */
  async flush(now: number): Promise<void> {
    const width = this.#bucketMs;
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

  async page(actionId: string, q: MetricQuery): Promise<Page<MetricPoint>> {
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
    const width = this.#bucketMs;
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

export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string } | undefined;
  return e?.code === '23503' || e?.code === 'ER_NO_REFERENCED_ROW_2' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
