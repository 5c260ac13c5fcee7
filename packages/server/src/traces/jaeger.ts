import { parseDurationUs, type AttributeValue, type Span, type SpanKind } from '@spyglass/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scopeOf, visiblePools } from '../pools/scope.js';
import type { SpanSearch, SpanStore, VisiblePools } from './span-store.js';

/**
 * A Jaeger-compatible query API (`/api/jaeger/api/...`): the routes and JSON shapes of jaeger-query's HTTP API, which
 * Grafana's Jaeger data source and the Jaeger UI read. Spans are translated the way Jaeger's own OTLP translator does
 * (span kind, status and scope as tags, events as logs, resource attributes as process tags).
 */

interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}

interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags: number;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: { timestamp: number; fields: JaegerTag[] }[];
  processID: string;
  warnings: string[] | null;
}

interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
  warnings: string[] | null;
}

const PREFIX = '/api/jaeger/api';
/** Traces one search returns at most (Jaeger's UI asks for 20 by default, Grafana for 20). */
const MAX_LIMIT = 1500;
const MAX_SPANS_PER_TRACE = 50_000;

class JaegerError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function tag(key: string, v: AttributeValue): JaegerTag {
  if (typeof v === 'string') return { key, type: 'string', value: v };
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  if (typeof v === 'number')
    return Number.isInteger(v) ? { key, type: 'int64', value: v } : { key, type: 'float64', value: v };
  // Arrays and maps: JSON text, as Jaeger's translator writes them.
  return { key, type: 'string', value: JSON.stringify(v) };
}

const tags = (attrs: Record<string, AttributeValue>, skip?: string): JaegerTag[] =>
  Object.entries(attrs)
    .filter(([k]) => k !== skip)
    .map(([k, v]) => tag(k, v));

const KIND_TAG: Partial<Record<SpanKind, string>> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
};

/** Spyglass spans of one trace as a Jaeger trace (one process per distinct service and resource). */
export function toJaegerTrace(traceId: string, spans: readonly Span[]): JaegerTrace {
  const processes: JaegerTrace['processes'] = {};
  const processIds = new Map<string, string>();
  const out: JaegerSpan[] = [];
  for (const s of spans) {
    const resourceKey = JSON.stringify([s.service, s.resource]);
    let pid = processIds.get(resourceKey);
    if (pid === undefined) {
      pid = `p${processIds.size + 1}`;
      processIds.set(resourceKey, pid);
      processes[pid] = { serviceName: s.service, tags: tags(s.resource, 'service.name') };
    }
    const t = tags(s.attributes);
    const kind = KIND_TAG[s.kind];
    if (kind !== undefined) t.push({ key: 'span.kind', type: 'string', value: kind });
    if (s.scope.name !== '') t.push({ key: 'otel.scope.name', type: 'string', value: s.scope.name });
    if (s.scope.version !== '') t.push({ key: 'otel.scope.version', type: 'string', value: s.scope.version });
    if (s.status.code !== 'unset')
      t.push({ key: 'otel.status_code', type: 'string', value: s.status.code.toUpperCase() });
    if (s.status.code === 'error') t.push({ key: 'error', type: 'bool', value: true });
    if (s.status.message !== '') t.push({ key: 'otel.status_description', type: 'string', value: s.status.message });
    if (s.traceState !== null) t.push({ key: 'w3c.tracestate', type: 'string', value: s.traceState });
    const references: JaegerSpan['references'] = [];
    if (s.parentSpanId !== null) references.push({ refType: 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId });
    for (const l of s.links) references.push({ refType: 'FOLLOWS_FROM', traceID: l.traceId, spanID: l.spanId });
    const warnings: string[] = [];
    if (s.truncated) warnings.push('the hub cut this span to its limits (attributes, events, links or value length)');
    out.push({
      traceID: s.traceId,
      spanID: s.spanId,
      flags: 1,
      operationName: s.name,
      references,
      startTime: s.startUs,
      duration: s.durationUs,
      tags: t,
      logs: s.events.map((e) => ({
        timestamp: e.timeUs,
        fields: [{ key: 'event', type: 'string', value: e.name }, ...tags(e.attributes)],
      })),
      processID: pid,
      warnings: warnings.length === 0 ? null : warnings,
    });
  }
  return { traceID: traceId, spans: out, processes, warnings: null };
}

const answer = (data: unknown, total = Array.isArray(data) ? data.length : 0) => ({
  data,
  total,
  limit: 0,
  offset: 0,
  errors: null,
});

/** Jaeger accepts ids shorter than 32 digits (left-padded) and upper case. */
export function jaegerTraceId(raw: string): string {
  if (!/^[0-9a-fA-F]{1,32}$/.test(raw)) throw new JaegerError(400, `malformed trace id ${JSON.stringify(raw)}`);
  const id = raw.toLowerCase().padStart(32, '0');
  if (/^0+$/.test(id)) throw new JaegerError(400, 'trace id must not be zero');
  return id;
}

/** Jaeger's `tags` parameter: a JSON object (the Jaeger UI, Grafana) or logfmt `k=v k2="v 2"`. */
export function parseJaegerTags(raw: string | string[] | undefined): { key: string; value: string }[] {
  if (raw === undefined) return [];
  const out: { key: string; value: string }[] = [];
  for (const text of Array.isArray(raw) ? raw : [raw]) {
    const t = text.trim();
    if (t === '') continue;
    if (t.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch {
        throw new JaegerError(400, `malformed tags parameter: not a JSON object: ${t}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new JaegerError(400, 'malformed tags parameter: not a JSON object');
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>))
        out.push({ key, value: typeof value === 'string' ? value : JSON.stringify(value) });
      continue;
    }
    const re = /\s*([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/gy;
    let end = 0;
    for (let m = re.exec(t); m !== null; m = re.exec(t)) {
      out.push({ key: m[1]!, value: m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]! });
      end = re.lastIndex;
    }
    if (t.slice(end).trim() !== '')
      throw new JaegerError(400, `malformed tags parameter: expected key=value at "${t.slice(end).trim()}"`);
  }
  return out;
}

function durationParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const us = parseDurationUs(raw);
  if (us === undefined)
    throw new JaegerError(400, `cannot parse ${name}: time: invalid duration ${JSON.stringify(raw)}`);
  return us;
}

function intParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw))
    throw new JaegerError(400, `unable to parse param '${name}': ${JSON.stringify(raw)} is not a number`);
  return Number(raw);
}

type Query = Record<string, string | string[] | undefined>;
const one = (q: Query, key: string): string | undefined => {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
};

/** Jaeger's search parameters as a span search (error tags become a status filter). */
export function jaegerSearch(q: Query, nowMs: number): SpanSearch {
  const service = one(q, 'service');
  if (service === undefined || service === '') throw new JaegerError(400, "parameter 'service' is required");
  const endUs = intParam(one(q, 'end'), 'end') ?? nowMs * 1000;
  const lookback = one(q, 'lookback');
  const lookbackUs = lookback === undefined || lookback === 'custom' ? undefined : durationParam(lookback, 'lookback');
  const startUs = intParam(one(q, 'start'), 'start') ?? endUs - (lookbackUs ?? 3_600_000_000);
  const limit = Math.min(MAX_LIMIT, Math.max(1, intParam(one(q, 'limit'), 'limit') ?? 20));
  const search: SpanSearch = { service, fromUs: startUs, toUs: endUs, limit };
  const operation = one(q, 'operation');
  if (operation !== undefined && operation !== '' && operation !== 'all') search.name = operation;
  const min = durationParam(one(q, 'minDuration'), 'minDuration');
  const max = durationParam(one(q, 'maxDuration'), 'maxDuration');
  if (min !== undefined) search.minDurationUs = min;
  if (max !== undefined) search.maxDurationUs = max;
  const attributes: { key: string; value: string }[] = [];
  for (const t of parseJaegerTags(q.tags)) {
    if ((t.key === 'error' && t.value === 'true') || (t.key === 'otel.status_code' && t.value === 'ERROR'))
      search.status = 'error';
    else if (t.key === 'otel.status_code' && t.value === 'OK') search.status = 'ok';
    else attributes.push(t);
  }
  if (attributes.length > 0) search.attributes = attributes;
  return search;
}

function fail(reply: FastifyReply, err: JaegerError): FastifyReply {
  return reply
    .status(err.code)
    .send({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: err.code, msg: err.message }] });
}

export function registerJaegerRoutes(app: FastifyInstance, deps: { store: SpanStore }): void {
  const { store } = deps;
  const guarded =
    (handler: (query: Query, params: Record<string, string>, pools: VisiblePools) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        return await handler(
          request.query as Query,
          request.params as Record<string, string>,
          visiblePools(scopeOf(request.principal)),
        );
      } catch (err) {
        if (err instanceof JaegerError) return fail(reply, err);
        throw err;
      }
    };
  // Pool-scoped like the trace operations: a caller with only pool roles reads their pools' spans.
  const viewer = { config: { access: 'viewer' as const, poolScoped: true } };

  app.get(
    `${PREFIX}/services`,
    viewer,
    guarded(async (_q, _p, pools) => answer((await store.services(pools)).map((s) => s.name))),
  );
  app.get(
    `${PREFIX}/services/:service/operations`,
    viewer,
    guarded(async (_q, p, pools) =>
      answer([...new Set((await store.operations(p.service, pools)).map((o) => o.name))]),
    ),
  );
  app.get(
    `${PREFIX}/operations`,
    viewer,
    guarded(async (q, _p, pools) => {
      const service = one(q, 'service');
      if (service === undefined || service === '') throw new JaegerError(400, "parameter 'service' is required");
      const kind = one(q, 'spanKind');
      const ops = (await store.operations(service, pools)).filter(
        (o) => kind === undefined || kind === '' || o.kind === kind,
      );
      return answer(ops.map((o) => ({ name: o.name, spanKind: o.kind === 'unspecified' ? '' : o.kind })));
    }),
  );
  app.get(
    `${PREFIX}/traces`,
    viewer,
    guarded(async (q, _p, pools) => {
      const traceIds = q.traceID === undefined ? [] : Array.isArray(q.traceID) ? q.traceID : [q.traceID];
      const ids =
        traceIds.length > 0
          ? traceIds.map(jaegerTraceId)
          : (await store.search({ ...jaegerSearch(q, Date.now()), pools })).items.map((t) => t.traceId);
      const traces: JaegerTrace[] = [];
      for (const id of ids) {
        const { spans } = await store.trace(id, MAX_SPANS_PER_TRACE, pools);
        if (spans.length > 0) traces.push(toJaegerTrace(id, spans));
      }
      return answer(traces);
    }),
  );
  app.get(
    `${PREFIX}/traces/:traceId`,
    viewer,
    guarded(async (_q, p, pools) => {
      const id = jaegerTraceId(p.traceId ?? '');
      const { spans } = await store.trace(id, MAX_SPANS_PER_TRACE, pools);
      if (spans.length === 0) throw new JaegerError(404, 'trace not found');
      return answer([toJaegerTrace(id, spans)]);
    }),
  );
  app.get(
    `${PREFIX}/dependencies`,
    viewer,
    guarded(async (q, _p, pools) => {
      const endMs = intParam(one(q, 'endTs'), 'endTs') ?? Date.now();
      const lookbackMs = intParam(one(q, 'lookback'), 'lookback') ?? 3_600_000;
      return answer(await dependencies(store, (endMs - lookbackMs) * 1000, endMs * 1000, pools));
    }),
  );
}

/**
 * Service calls seen in recent traces: a child span of another service than its parent counts one call
 * parent → child. Read from the newest traces of the window (at most 200), so it is a sample on busy systems.
 */
async function dependencies(store: SpanStore, fromUs: number, toUs: number, pools: VisiblePools) {
  const calls = new Map<string, number>();
  const page = await store.search({ fromUs, toUs, limit: 200, pools });
  for (const t of page.items) {
    const { spans } = await store.trace(t.traceId, 10_000, pools);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const s of spans) {
      const parent = s.parentSpanId === null ? undefined : byId.get(s.parentSpanId);
      if (parent === undefined || parent.service === s.service) continue;
      const key = `${parent.service}\u0000${s.service}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
    }
  }
  return [...calls].map(([key, callCount]) => {
    const [parent, child] = key.split('\u0000') as [string, string];
    return { parent, child, callCount };
  });
}
