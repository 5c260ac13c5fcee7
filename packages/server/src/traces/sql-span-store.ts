import type { TraceSummary } from '@spyglass/protocol';
import type SQLite from 'better-sqlite3';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DialectName } from '../storage/db.js';
import type { Database } from '../storage/schema.js';
import { upsert } from '../storage/upsert.js';
import { kindName, spanFromRow, statusCode, type SpanData } from './span-data.js';
import type {
  OperationEntry,
  RetentionLimits,
  SpanRow,
  SpanSearch,
  SpanSearchResult,
  SpanStore,
  SweepResult,
  VisiblePools,
} from './span-store.js';

export interface SqlSpanStoreOptions {
  /** Width of the arrival-time buckets retention counts and removes by (and of PostgreSQL's partitions). */
  bucketMs: number;
  /** Rows one search may scan before it answers with what it found and a cursor to go on (bounded work). */
  maxScannedRows?: number;
  /** Rows one sweep step removes before it lets other work run. */
  deleteChunkRows?: number;
  /** Called when something non-fatal went wrong (partition creation). */
  onWarning?: (message: string, err: unknown) => void;
  /** SQLite only: the database's own handle (`Storage.sqlite`), for prepared-statement bulk inserts. */
  sqlite?: () => SQLite.Database | null;
}

interface SqliteStatements {
  readonly db: SQLite.Database;
  readonly span: SQLite.Statement;
  readonly bucket: SQLite.Statement;
  readonly operation: SQLite.Statement;
}

/** A stored row's approximate size: its JSON text plus the searched columns. */
const rowBytes = (r: SpanRow): number => r.data.length + r.service.length + r.name.length + 120;

/** How often a known (service, span name, kind) has its last-seen time refreshed. */
const OPERATION_REFRESH_MS = 60_000;
const SCAN_PAGE = 1000;

const LIGHT_COLUMNS = [
  'trace_id',
  'span_id',
  'parent_span_id',
  'service',
  'name',
  'status',
  'start_us',
  'duration_us',
] as const;

interface Cursor {
  s: number;
  i: number;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.s}:${c.i}`).toString('base64url');
}

function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(Buffer.from(text, 'base64url').toString());
  return m === null ? undefined : { s: Number(m[1]), i: Number(m[2]) };
}

/** LIKE pattern text with `!` as the escape character (a backslash means different things across dialects). */
const escapeLike = (s: string): string => s.replace(/[!%_]/g, (c) => `!${c}`);

/** The JSON spellings an attribute value written as text may have in a span's data. */
function jsonSpellings(key: string, value: string): string[] {
  const k = JSON.stringify(key);
  const out = [`${k}:${JSON.stringify(value)}`];
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value) && String(Number(value)) === value) out.push(`${k}:${value}`);
  if (value === 'true' || value === 'false') out.push(`${k}:${value}`);
  return out;
}

/** A stored attribute value equals the text the user wrote. */
function matchesText(v: unknown, text: string): boolean {
  if (typeof v === 'string') return v === text;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v) === text;
  return false;
}

/**
 * Spans of the visible pools only: `pool_id in (...)`, or nothing at all for an empty list. Callers add it only when
 * the pools are not null, so a caller who sees every pool runs the same query as before pools existed.
 */
function inPools(pools: readonly string[], column = 'pool_id') {
  if (pools.length === 0) return sql<boolean>`1 = 0`;
  return sql<boolean>`${sql.ref(column)} in (${sql.join([...pools])})`;
}

/** Spans on SQLite, PostgreSQL (time-partitioned) or MySQL through Kysely. */
export class SqlSpanStore implements SpanStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #bucketMs: number;
  readonly #maxScanned: number;
  readonly #chunk: number;
  readonly #warn: (message: string, err: unknown) => void;
  /** (service, name, kind) → when its last-seen time was last written. */
  readonly #operations = new Map<string, number>();
  /** PostgreSQL partitions known to exist (bucket start ms). */
  readonly #partitions = new Set<number>();
  readonly #sqlite: (() => SQLite.Database | null) | undefined;
  #statements: SqliteStatements | null = null;

  constructor(db: Kysely<Database>, dialect: DialectName, options: SqlSpanStoreOptions) {
    this.#db = db;
    this.#dialect = dialect;
    this.#bucketMs = options.bucketMs;
    this.#maxScanned = options.maxScannedRows ?? 50_000;
    this.#chunk = options.deleteChunkRows ?? 5000;
    this.#warn = options.onWarning ?? (() => {});
    this.#sqlite = dialect === 'sqlite' ? options.sqlite : undefined;
  }

  bucketOf(nowMs: number): number {
    return Math.floor(nowMs / this.#bucketMs) * this.#bucketMs;
  }

  async insert(rows: readonly SpanRow[], nowMs: number): Promise<void> {
    if (rows.length === 0) return;
    const bucket = this.bucketOf(nowMs);
    if (this.#dialect === 'postgres') await this.#ensurePartition(bucket);
    let bytes = 0;
    for (const r of rows) bytes += rowBytes(r);
    const ops = this.#newOperations(rows, nowMs);
    if (this.#sqlite !== undefined) {
      // Holding Kysely's one SQLite connection, so no transaction of its is open around this synchronous one.
      const done = await this.#db
        .connection()
        .execute(() => Promise.resolve(this.#insertSqlite(rows, nowMs, bucket, bytes, ops)));
      if (done) return;
    }
    await this.#db.transaction().execute(async (trx) => {
      await this.#insertRows(trx, rows, nowMs);
      await upsert<Database, 'span_buckets'>(
        trx,
        this.#dialect,
        'span_buckets',
        [{ bucket_ms: bucket, spans: rows.length, bytes }],
        {
          key: ['bucket_ms'],
          set: {
            spans: ({ current, inserted }) => sql`${current('spans')} + ${inserted('spans')}`,
            bytes: ({ current, inserted }) => sql`${current('bytes')} + ${inserted('bytes')}`,
          },
        },
      );
      if (ops.length > 0)
        await upsert<Database, 'span_operations'>(trx, this.#dialect, 'span_operations', ops, {
          key: ['service', 'name', 'kind'],
          set: {
            last_seen_ms: ({ current, greatest, inserted }) =>
              greatest(current('last_seen_ms'), inserted('last_seen_ms')),
          },
        });
    });
  }

  /** Prepared statements in one transaction: several times faster than one statement of bound JSON. */
  #insertSqlite(
    rows: readonly SpanRow[],
    nowMs: number,
    bucket: number,
    bytes: number,
    ops: readonly { service: string; name: string; kind: number; last_seen_ms: number }[],
  ): boolean {
    const db = this.#sqlite?.() ?? null;
    if (db === null) return false;
    if (this.#statements?.db !== db) {
      this.#statements = {
        db,
        span: db.prepare(
          `insert into spans (trace_id, span_id, parent_span_id, service, name, kind, status, start_us, duration_us,
            ingested_ms, pool_id, bytes, data) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
        bucket: db.prepare(
          `insert into span_buckets (bucket_ms, spans, bytes) values (?, ?, ?) on conflict (bucket_ms) do update
            set spans = span_buckets.spans + excluded.spans, bytes = span_buckets.bytes + excluded.bytes`,
        ),
        operation: db.prepare(
          `insert into span_operations (service, name, kind, last_seen_ms) values (?, ?, ?, ?)
            on conflict (service, name, kind) do update set last_seen_ms = max(span_operations.last_seen_ms, excluded.last_seen_ms)`,
        ),
      };
    }
    const st = this.#statements;
    db.transaction(() => {
      for (const r of rows)
        st.span.run(
          r.traceId,
          r.spanId,
          r.parentSpanId,
          r.service,
          r.name,
          r.kind,
          r.status,
          r.startUs,
          r.durationUs,
          nowMs,
          r.poolId,
          rowBytes(r),
          r.data,
        );
      st.bucket.run(bucket, rows.length, bytes);
      for (const o of ops) st.operation.run(o.service, o.name, o.kind, o.last_seen_ms);
    })();
    return true;
  }

  #newOperations(rows: readonly SpanRow[], nowMs: number) {
    const out: { service: string; name: string; kind: number; last_seen_ms: number }[] = [];
    for (const r of rows) {
      const key = `${r.service}\u0000${r.name}\u0000${r.kind}`;
      const last = this.#operations.get(key);
      if (last !== undefined && nowMs - last < OPERATION_REFRESH_MS) continue;
      this.#operations.set(key, nowMs);
      out.push({ service: r.service, name: r.name, kind: r.kind, last_seen_ms: nowMs });
    }
    if (this.#operations.size > 100_000) this.#operations.clear();
    return out;
  }

  async #insertRows(db: Kysely<Database>, rows: readonly SpanRow[], nowMs: number): Promise<void> {
    const cols = sql.raw(
      'trace_id, span_id, parent_span_id, service, name, kind, status, start_us, duration_us, ingested_ms, pool_id, bytes, data',
    );
    if (this.#dialect === 'sqlite') {
      // One parameter, parsed by SQLite itself: far cheaper than thousands of bound values.
      const json = JSON.stringify(
        rows.map((r) => [
          r.traceId,
          r.spanId,
          r.parentSpanId,
          r.service,
          r.name,
          r.kind,
          r.status,
          r.startUs,
          r.durationUs,
          nowMs,
          r.poolId,
          rowBytes(r),
          r.data,
        ]),
      );
      await sql`insert into spans (${cols}) select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
        value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12
        from json_each(${json})`.execute(db);
      return;
    }
    if (this.#dialect === 'postgres') {
      const col = <T>(f: (r: SpanRow) => T): T[] => rows.map(f);
      await sql`insert into spans (${cols}) select * from unnest(
        ${col((r) => r.traceId)}::text[], ${col((r) => r.spanId)}::text[], ${col((r) => r.parentSpanId)}::text[],
        ${col((r) => r.service)}::text[], ${col((r) => r.name)}::text[], ${col((r) => r.kind)}::smallint[],
        ${col((r) => r.status)}::smallint[], ${col((r) => r.startUs)}::bigint[], ${col((r) => r.durationUs)}::bigint[],
        ${col(() => nowMs)}::bigint[], ${col((r) => r.poolId)}::text[], ${col(rowBytes)}::integer[],
        ${col((r) => r.data)}::text[])`.execute(db);
      return;
    }
    for (let i = 0; i < rows.length; i += 1000) {
      await db
        .insertInto('spans')
        .values(
          rows.slice(i, i + 1000).map((r) => ({
            trace_id: r.traceId,
            span_id: r.spanId,
            parent_span_id: r.parentSpanId,
            service: r.service,
            name: r.name,
            kind: r.kind,
            status: r.status,
            start_us: r.startUs,
            duration_us: r.durationUs,
            ingested_ms: nowMs,
            pool_id: r.poolId,
            bytes: rowBytes(r),
            data: r.data,
          })),
        )
        .execute();
    }
  }

  async #ensurePartition(bucket: number): Promise<void> {
    if (this.#partitions.has(bucket)) return;
    const end = bucket + this.#bucketMs;
    const name = `spans_p${bucket}_${end}`;
    try {
      await sql`create table if not exists ${sql.id(name)} partition of spans for values from (${sql.lit(bucket)}) to (${sql.lit(end)})`.execute(
        this.#db,
      );
    } catch (err) {
      // Overlaps a partition of another width (the bucket setting changed) or rows already in the default
      // partition: those rows stay in the default partition, which the sweep trims by row.
      this.#warn(`could not create span partition ${name}`, err);
    }
    this.#partitions.add(bucket);
    if (this.#partitions.size > 10_000) this.#partitions.clear();
  }

  async trace(traceId: string, limit: number, pools: VisiblePools = null) {
    if (pools !== null && pools.length === 0) return { spans: [], truncated: false };
    let query = this.#db
      .selectFrom('spans')
      .select([...LIGHT_COLUMNS, 'kind', 'data'])
      .where('trace_id', '=', traceId);
    if (pools !== null) query = query.where(inPools(pools));
    const rows = await query
      .orderBy('start_us')
      .limit(limit + 1)
      .execute();
    const seen = new Set<string>();
    const spans = [];
    for (const row of rows.slice(0, limit)) {
      if (seen.has(row.span_id)) continue;
      seen.add(row.span_id);
      spans.push(spanFromRow(row));
    }
    return { spans, truncated: rows.length > limit };
  }

  /** Spans matching the search's filters (the attribute filters as a LIKE prefilter; `#attributesMatch` decides). */
  #matching(q: SpanSearch, columns: readonly ('id' | 'trace_id' | 'start_us' | 'data')[]) {
    let query = this.#db
      .selectFrom('spans')
      .select(columns)
      .where('start_us', '>=', q.fromUs)
      .where('start_us', '<=', q.toUs);
    if (q.pools !== undefined && q.pools !== null) query = query.where(inPools(q.pools));
    if (q.service !== undefined) query = query.where('service', '=', q.service);
    if (q.name !== undefined) query = query.where('name', '=', q.name);
    if (q.status !== undefined) query = query.where('status', '=', statusCode(q.status));
    if (q.minDurationUs !== undefined) query = query.where('duration_us', '>=', q.minDurationUs);
    if (q.maxDurationUs !== undefined) query = query.where('duration_us', '<=', q.maxDurationUs);
    for (const a of q.attributes ?? []) {
      const patterns = jsonSpellings(a.key, a.value).map((p) => `%${escapeLike(p)}%`);
      query = query.where((eb) => eb.or(patterns.map((p) => sql<boolean>`data like ${p} escape '!'`)));
    }
    return query;
  }

  /**
   * Traces in the order of their newest matching span. The scan walks matching spans newest first and stops at the
   * page's last new trace (the cursor points there); a trace met again on a later page, because it also has older
   * spans, is recognised by a matching span at or above the request's cursor and skipped. A scan is bounded: after
   * `maxScannedRows` rows it answers with what it found and a cursor to go on.
   */
  async search(q: SpanSearch): Promise<SpanSearchResult> {
    if (q.pools !== undefined && q.pools !== null && q.pools.length === 0) return { items: [], nextCursor: null };
    const attrs = q.attributes ?? [];
    const start = decodeCursor(q.cursor);
    let cursor = start;
    const found = new Set<string>();
    const order: string[] = [];
    let scanned = 0;
    let next: Cursor | null = null;
    const columns =
      attrs.length > 0 ? (['id', 'trace_id', 'start_us', 'data'] as const) : (['id', 'trace_id', 'start_us'] as const);
    outer: for (;;) {
      let query = this.#matching(q, columns);
      const c = cursor;
      if (c !== undefined)
        query = query.where((eb) =>
          eb.or([eb('start_us', '<', c.s), eb.and([eb('start_us', '=', c.s), eb('id', '<', c.i)])]),
        );
      const rows = (await query.orderBy('start_us', 'desc').orderBy('id', 'desc').limit(SCAN_PAGE).execute()) as {
        id: number;
        trace_id: string;
        start_us: number;
        data?: string;
      }[];
      const matching = attrs.length > 0 ? rows.filter((r) => this.#attributesMatch(r.data!, attrs)) : rows;
      const returned = start === undefined ? new Set<string>() : await this.#returnedBefore(q, start, matching);
      let i = 0;
      for (const row of rows) {
        scanned++;
        const here = { s: Number(row.start_us), i: Number(row.id) };
        if (matching[i] === row) {
          i++;
          if (!found.has(row.trace_id) && !returned.has(row.trace_id)) {
            found.add(row.trace_id);
            order.push(row.trace_id);
            if (order.length >= q.limit) {
              next = here;
              break outer;
            }
          }
        }
        if (scanned >= this.#maxScanned) {
          next = here;
          break outer;
        }
      }
      if (rows.length < SCAN_PAGE) break;
      const last = rows[rows.length - 1]!;
      cursor = { s: Number(last.start_us), i: Number(last.id) };
    }
    const summaries = await this.summaries(order, q.pools ?? null);
    const byId = new Map(summaries.map((s) => [s.traceId, s]));
    return {
      items: order.flatMap((id) => byId.get(id) ?? []),
      nextCursor: next === null ? null : encodeCursor(next),
    };
  }

  /** Which of these rows' traces have a matching span at or above `cursor`, i.e. were on an earlier page. */
  async #returnedBefore(q: SpanSearch, cursor: Cursor, rows: readonly { trace_id: string }[]): Promise<Set<string>> {
    const ids = [...new Set(rows.map((r) => r.trace_id))];
    if (ids.length === 0) return new Set();
    const attrs = q.attributes ?? [];
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const above = (await this.#matching(q, attrs.length > 0 ? ['trace_id', 'data'] : ['trace_id'])
        .where('trace_id', 'in', ids.slice(i, i + 500))
        .where((eb) =>
          eb.or([eb('start_us', '>', cursor.s), eb.and([eb('start_us', '=', cursor.s), eb('id', '>=', cursor.i)])]),
        )
        .execute()) as { trace_id: string; data?: string }[];
      for (const r of above) if (attrs.length === 0 || this.#attributesMatch(r.data!, attrs)) out.add(r.trace_id);
    }
    return out;
  }

  #attributesMatch(data: string, attrs: readonly { key: string; value: string }[]): boolean {
    const d = JSON.parse(data) as SpanData;
    return attrs.every((a) => matchesText(d.a[a.key], a.value) || matchesText(d.r[a.key], a.value));
  }

  async summaries(traceIds: readonly string[], pools: VisiblePools = null): Promise<TraceSummary[]> {
    if (traceIds.length === 0 || (pools !== null && pools.length === 0)) return [];
    let query = this.#db.selectFrom('spans').select(LIGHT_COLUMNS).where('trace_id', 'in', traceIds);
    if (pools !== null) query = query.where(inPools(pools));
    const rows = await query.execute();
    const byTrace = new Map<string, typeof rows>();
    for (const r of rows) {
      let list = byTrace.get(r.trace_id);
      if (list === undefined) byTrace.set(r.trace_id, (list = []));
      list.push(r);
    }
    const out: TraceSummary[] = [];
    for (const id of traceIds) {
      const spans = byTrace.get(id);
      if (spans === undefined) continue;
      const seen = new Set<string>();
      let start = Infinity;
      let end = -Infinity;
      let errors = 0;
      let root: (typeof rows)[number] | undefined;
      const services = new Map<string, number>();
      for (const s of spans) {
        if (seen.has(s.span_id)) continue;
        seen.add(s.span_id);
        const st = Number(s.start_us);
        start = Math.min(start, st);
        end = Math.max(end, st + Number(s.duration_us));
        if (Number(s.status) === 2) errors++;
        services.set(s.service, (services.get(s.service) ?? 0) + 1);
        if (s.parent_span_id === null && (root === undefined || st < Number(root.start_us))) root = s;
      }
      out.push({
        traceId: id,
        rootService: root?.service ?? null,
        rootName: root?.name ?? null,
        startUs: start,
        durationUs: Math.max(0, end - start),
        spanCount: seen.size,
        errorCount: errors,
        services: [...services]
          .map(([name, spanCount]) => ({ name, spanCount }))
          .sort((a, b) => b.spanCount - a.spanCount),
      });
    }
    return out;
  }

  async services(pools: VisiblePools = null) {
    if (pools !== null && pools.length === 0) return [];
    let query = this.#db
      .selectFrom('span_operations')
      .select(['service', (eb) => eb.fn.max('last_seen_ms').as('last')]);
    if (pools !== null) query = query.where((eb) => this.#seenInPools(eb, pools));
    const rows = await query.groupBy('service').orderBy('last', 'desc').execute();
    return rows.map((r) => ({ name: r.service, lastSeenAt: Number(r.last) }));
  }

  async operations(service?: string, pools: VisiblePools = null): Promise<OperationEntry[]> {
    if (pools !== null && pools.length === 0) return [];
    let q = this.#db.selectFrom('span_operations').selectAll();
    if (service !== undefined) q = q.where('service', '=', service);
    if (pools !== null) q = q.where((eb) => this.#seenInPools(eb, pools));
    const rows = await q.orderBy('service').orderBy('name').limit(10_000).execute();
    return rows.map((r) => ({
      service: r.service,
      name: r.name,
      kind: kindName(Number(r.kind)),
      lastSeenAt: Number(r.last_seen_ms),
    }));
  }

  /**
   * A known (service, span name, kind) that has at least one span of the visible pools. `span_operations` has no pool,
   * so the spans decide (through the (service, start_us) index; the first match ends each look-up).
   */
  #seenInPools(eb: ExpressionBuilder<Database, 'span_operations'>, pools: readonly string[]) {
    return eb.exists(
      eb
        .selectFrom('spans')
        .select(sql<number>`1`.as('one'))
        .whereRef('spans.service', '=', 'span_operations.service')
        .whereRef('spans.name', '=', 'span_operations.name')
        .whereRef('spans.kind', '=', 'span_operations.kind')
        .where(inPools(pools, 'spans.pool_id')),
    );
  }

  async stats() {
    const row = await this.#db
      .selectFrom('span_buckets')
      .select([(eb) => eb.fn.sum<number>('spans').as('spans'), (eb) => eb.fn.sum<number>('bytes').as('bytes')])
      .executeTakeFirst();
    return { spans: Number(row?.spans ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  async sweep(limits: RetentionLimits, nowMs: number): Promise<SweepResult> {
    const buckets = (await this.#db.selectFrom('span_buckets').selectAll().orderBy('bucket_ms').execute()).map((b) => ({
      start: Number(b.bucket_ms),
      spans: Number(b.spans),
      bytes: Number(b.bytes),
    }));
    let total = buckets.reduce((n, b) => n + b.bytes, 0);
    const cutoff = nowMs - limits.maxAgeMs;
    const expired: typeof buckets = [];
    for (const b of buckets) {
      const tooOld = b.start + this.#bucketMs <= cutoff;
      // By size: the oldest buckets go while the rest is over the limit (never the current one).
      const tooBig = total > limits.maxBytes && b.start < this.bucketOf(nowMs);
      if (!tooOld && !tooBig) break;
      expired.push(b);
      total -= b.bytes;
    }
    if (this.#dialect === 'postgres') await this.#ensurePartition(this.bucketOf(nowMs) + this.#bucketMs);
    if (expired.length === 0) return { deletedSpans: 0, storedBytes: total };
    const removeBefore = expired[expired.length - 1]!.start + this.#bucketMs;
    const complete =
      this.#dialect === 'postgres'
        ? await this.#dropPartitions(
            removeBefore,
            expired.reduce((n, b) => n + b.spans, 0),
          )
        : await this.#deleteOldest(removeBefore);
    const deleted = complete.deleted;
    if (complete.done) {
      await this.#db
        .deleteFrom('span_buckets')
        .where(
          'bucket_ms',
          'in',
          expired.map((b) => b.start),
        )
        .execute();
    }
    return { deletedSpans: deleted, storedBytes: total };
  }

  /** SQLite and MySQL: delete from the lowest ids (arrival order) while they arrived before `before`. */
  async #deleteOldest(before: number): Promise<{ deleted: number; done: boolean }> {
    let deleted = 0;
    const maxPerSweep = this.#chunk * 100;
    while (deleted < maxPerSweep) {
      const rows = await this.#db
        .selectFrom('spans')
        .select(['id', 'ingested_ms'])
        .orderBy('id')
        .limit(this.#chunk)
        .execute();
      let last = -1;
      for (const r of rows) {
        if (Number(r.ingested_ms) >= before) break;
        last = Number(r.id);
      }
      if (last < 0) return { deleted, done: true };
      const res = await this.#db.deleteFrom('spans').where('id', '<=', last).executeTakeFirst();
      deleted += Number(res.numDeletedRows);
      // Let ingest and queries run between steps.
      await yieldToLoop();
    }
    return { deleted, done: false };
  }

  /** PostgreSQL: drop whole partitions that ended before `before`; trim the default partition by row. */
  async #dropPartitions(before: number, bucketSpans: number): Promise<{ deleted: number; done: boolean }> {
    const parts = await sql<{ name: string }>`select c.relname as name from pg_inherits i
      join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.relname = 'spans' and c.relname like 'spans\\_p%'`.execute(this.#db);
    for (const { name } of parts.rows) {
      const m = /^spans_p(\d+)_(\d+)$/.exec(name);
      if (m === null || Number(m[2]) > before) continue;
      await sql`drop table if exists ${sql.id(name)}`.execute(this.#db);
      this.#partitions.delete(Number(m[1]));
      await yieldToLoop();
    }
    // Rows outside every partition (rare) are trimmed by row; the dropped partitions' spans are the buckets' counts.
    await sql`delete from spans_default where ingested_ms < ${before}`.execute(this.#db);
    return { deleted: bucketSpans, done: true };
  }
}
