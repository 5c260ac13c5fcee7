import {
  SpyglassError,
  parseDurationUs,
  traceOperations,
  type Span,
  type TraceQuery,
  type TraceSummary,
} from '@spyglass/protocol';
import { Counter, Gauge, Histogram } from 'prom-client';
import { defineModule } from '../platform/module.js';
import { scopeOf, visiblePools } from '../pools/scope.js';
import { TRACE_TOPICS, tracesChannel, type TracesArrivedMessage } from './channel.js';
import { bucketMsFor, tracesConfigSection, type TracesConfig } from './config.js';
import { registerJaegerRoutes } from './jaeger.js';
import type { SpanLimits } from './span-data.js';
import type { SpanRow, SpanSearch, SpanStore } from './span-store.js';
import { SpanWriter } from './span-writer.js';
import { SqlSpanStore } from './sql-span-store.js';
import { addTraceTools } from './tools.js';

/** Tuning tests pass (`deps.modules.traces`). */
export interface TracesOptions {
  /** The clock spans' arrival time is read from (retention tests move it). */
  now?: () => number;
  maxQueuedSpans?: number;
  maxBatchSpans?: number;
}

/** What the traces module gives the rest of the hub (the OTLP receivers, trace tests, Kubernetes tracing). */
export interface Traces {
  readonly store: SpanStore;
  readonly writer: SpanWriter;
  readonly limits: SpanLimits;
  readonly config: TracesConfig;
  /** Runs the retention sweep once now (tests). */
  sweep(nowMs?: number): Promise<{ deletedSpans: number; storedBytes: number }>;
  /** Counts spans refused or cut on ingest, by reason (the receivers call it). */
  countRefused(spans: number, reason: 'invalid' | 'busy' | 'malformed'): void;
  countTruncated(spans: number): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    traces: Traces;
  }
}

const HOUR_US = 3_600_000_000;
/** Live notices per write at most (a burst of new traces is sampled, not queued). */
const MAX_NOTICES_PER_WRITE = 200;

/** The store's search from the API query: defaults (the last hour), parsed durations, `key=value` pairs. */
export function toSpanSearch(q: TraceQuery, nowMs: number): SpanSearch {
  const toUs = (q.to ?? nowMs) * 1000;
  const fromUs = q.from === undefined ? toUs - HOUR_US : q.from * 1000;
  if (fromUs > toUs) throw new SpyglassError('INVALID_INPUT', 'from must not be after to');
  const minDurationUs = q.minDuration === undefined ? undefined : parseDurationUs(q.minDuration);
  const maxDurationUs = q.maxDuration === undefined ? undefined : parseDurationUs(q.maxDuration);
  if (minDurationUs !== undefined && maxDurationUs !== undefined && minDurationUs > maxDurationUs)
    throw new SpyglassError('INVALID_INPUT', 'minDuration must not be above maxDuration');
  const attrs = q.attr === undefined ? [] : Array.isArray(q.attr) ? q.attr : [q.attr];
  const search: SpanSearch = {
    fromUs,
    toUs,
    limit: q.limit,
    attributes: attrs.map((a) => {
      const i = a.indexOf('=');
      return { key: a.slice(0, i), value: a.slice(i + 1) };
    }),
  };
  if (q.cursor !== undefined) search.cursor = q.cursor;
  if (q.service !== undefined) search.service = q.service;
  if (q.name !== undefined) search.name = q.name;
  if (q.status !== undefined) search.status = q.status;
  if (minDurationUs !== undefined) search.minDurationUs = minDurationUs;
  if (maxDurationUs !== undefined) search.maxDurationUs = maxDurationUs;
  return search;
}

/** A trace's summary from its spans (the same rules as the store's). */
export function summarize(traceId: string, spans: readonly Span[]): TraceSummary {
  let start = Infinity;
  let end = -Infinity;
  let errors = 0;
  let root: Span | undefined;
  const services = new Map<string, number>();
  for (const s of spans) {
    start = Math.min(start, s.startUs);
    end = Math.max(end, s.startUs + s.durationUs);
    if (s.status.code === 'error') errors++;
    services.set(s.service, (services.get(s.service) ?? 0) + 1);
    if (s.parentSpanId === null && (root === undefined || s.startUs < root.startUs)) root = s;
  }
  return {
    traceId,
    rootService: root?.service ?? null,
    rootName: root?.name ?? null,
    startUs: spans.length === 0 ? 0 : start,
    durationUs: spans.length === 0 ? 0 : Math.max(0, end - start),
    spanCount: spans.length,
    errorCount: errors,
    services: [...services].map(([name, spanCount]) => ({ name, spanCount })).sort((a, b) => b.spanCount - a.spanCount),
  };
}

/**
 * Distributed traces: the span store (SQLite, PostgreSQL, MySQL), its writer, search and trace operations, the
 * `traces` stream channel and the retention sweep. The OTLP receivers (module `otlp`), trace-based tests and
 * Kubernetes tracing write through `app.traces.writer`.
 */
export const tracesModule = defineModule({
  name: 'traces',
  config: tracesConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    const options = (ctx.options ?? {}) as TracesOptions;
    const now = options.now ?? Date.now;
    const log = ctx.log;
    const store = new SqlSpanStore(hub.storage.db, hub.storage.dialect, {
      bucketMs: bucketMsFor(config.retention.maxAgeMs),
      onWarning: (message, err) => log.warn({ err }, message),
      sqlite: () => hub.storage.sqlite,
    });
    const writer = new SpanWriter(store, {
      maxQueuedSpans: options.maxQueuedSpans ?? config.maxQueuedSpans,
      // A batch blocks the event loop on SQLite while it is written: a few thousand spans keep that to tens of ms.
      maxBatchSpans: options.maxBatchSpans ?? 4000,
      now,
    });
    const limits: SpanLimits = {
      maxAttributes: config.limits.maxAttributes,
      maxAttributeValueLength: config.limits.maxAttributeValueLength,
      maxEvents: config.limits.maxEvents,
      maxLinks: config.limits.maxLinks,
    };

    // ---- metrics ----
    const registry = hub.metrics.registry;
    const stored = new Counter({
      name: 'spyglass_traces_spans_stored_total',
      help: 'Spans written to the span store by this replica',
      registers: [registry],
    });
    const refused = new Counter({
      name: 'spyglass_traces_spans_refused_total',
      help: 'Spans refused on ingest, by reason: invalid (ids), busy (store behind), malformed (unreadable request, counted as one)',
      labelNames: ['reason'],
      registers: [registry],
    });
    const truncated = new Counter({
      name: 'spyglass_traces_spans_truncated_total',
      help: 'Spans stored with something cut by the span limits',
      registers: [registry],
    });
    const writeFailures = new Counter({
      name: 'spyglass_traces_write_failures_total',
      help: 'Spans whose write to the store failed (the sender was told to retry)',
      registers: [registry],
    });
    const writeSeconds = new Histogram({
      name: 'spyglass_traces_write_duration_seconds',
      help: 'Time of one batched span write',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    new Gauge({
      name: 'spyglass_traces_queue_spans',
      help: 'Spans accepted and waiting to be written',
      registers: [registry],
      collect() {
        this.set(writer.queuedSpans);
      },
    });
    let storedCache = { spans: 0, bytes: 0, at: 0 };
    const refreshStats = async (): Promise<void> => {
      const s = await store.stats();
      storedCache = { ...s, at: Date.now() };
    };
    new Gauge({
      name: 'spyglass_traces_stored_spans',
      help: 'Spans in the store (all replicas), as of the last retention sweep or scrape',
      registers: [registry],
      async collect() {
        if (Date.now() - storedCache.at > 10_000) await refreshStats().catch(() => {});
        this.set(storedCache.spans);
      },
    });
    new Gauge({
      name: 'spyglass_traces_stored_bytes',
      help: 'Bytes in the span store as it counts them (all replicas)',
      registers: [registry],
      async collect() {
        if (Date.now() - storedCache.at > 10_000) await refreshStats().catch(() => {});
        this.set(storedCache.bytes);
      },
    });

    // ---- live notices of new traces ----
    writer.onWrite((rows: readonly SpanRow[], stats) => {
      stored.inc(stats.spans);
      writeSeconds.observe(stats.ms / 1000);
      const traces: TracesArrivedMessage['traces'] = [];
      for (const r of rows) {
        if (r.parentSpanId !== null) continue;
        traces.push({
          poolId: r.poolId,
          traceId: r.traceId,
          service: r.service,
          name: r.name,
          startUs: r.startUs,
          durationUs: r.durationUs,
          error: r.status === 2,
        });
        if (traces.length >= MAX_NOTICES_PER_WRITE) break;
      }
      if (traces.length > 0)
        hub.bus
          .publish(TRACE_TOPICS.arrived, { traces })
          .catch((err: unknown) => log.warn({ err }, 'could not announce new traces'));
    });
    writer.onFailure((err, spans) => {
      writeFailures.inc(spans);
      log.error({ err, spans }, 'could not write spans; the senders were told to retry');
    });
    ctx.stream.addChannel(tracesChannel(hub.bus));

    // ---- operations ----
    addTraceTools(ctx);
    // Trace reads are pool-scoped (docs/adr/0013-roles-per-pool.md): a caller with only pool roles sees the spans
    // exported with their pools' keys; a global viewer or higher sees every span (no filter, the same queries).
    ctx.operation(traceOperations.searchTraces, ({ query }, c) =>
      store.search({ ...toSpanSearch(query, Date.now()), pools: visiblePools(scopeOf(c.principal)) }),
    );
    ctx.operation(traceOperations.getTrace, async ({ params }, c) => {
      const pools = visiblePools(scopeOf(c.principal));
      const { spans, truncated: spansTruncated } = await store.trace(
        params.traceId,
        config.limits.maxSpansPerTrace,
        pools,
      );
      if (spans.length === 0)
        throw new SpyglassError(
          'NOT_FOUND',
          `trace ${params.traceId} not found (no span of it arrived, or they are older than the retention)`,
        );
      const hits = app.hasDecorator('live')
        ? await app.live.hits.byTrace(params.traceId, 1000, pools)
        : { logs: [], snapshots: [] };
      return { ...summarize(params.traceId, spans), spans, spansTruncated, ...hits };
    });
    ctx.operation(traceOperations.listServices, async (_input, c) => ({
      items: await store.services(visiblePools(scopeOf(c.principal))),
    }));
    ctx.operation(traceOperations.listOperations, async ({ query }, c) => ({
      items: await store.operations(query.service, visiblePools(scopeOf(c.principal))),
    }));

    // The same spans for Grafana's Jaeger data source and the Jaeger UI.
    registerJaegerRoutes(app, { store });

    // ---- retention ----
    const sweep = async (nowMs = now()) => {
      const result = await store.sweep(config.retention, nowMs);
      if (result.deletedSpans > 0)
        log.info({ deletedSpans: result.deletedSpans, storedBytes: result.storedBytes }, 'span retention sweep');
      await refreshStats().catch(() => {});
      return result;
    };
    ctx.jobs.add({
      name: 'traces.retention',
      everyMs: config.retention.sweepIntervalMs,
      singleton: true,
      run: () => sweep().then(() => {}),
    });
    ctx.onClose(() => writer.close());

    const traces: Traces = {
      store,
      writer,
      limits,
      config,
      sweep,
      countRefused: (spans, reason) => refused.inc({ reason }, spans),
      countTruncated: (spans) => truncated.inc(spans),
    };
    app.decorate('traces', traces);
  },
});
