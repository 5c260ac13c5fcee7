import { SpyglassError, type Span } from '@spyglass/protocol';
import { convertExportRequest, OtlpInputError, type DecodedSpans } from '../../otlp/convert.js';
import { decodeExportRequest } from '../../otlp/decode-proto.js';
import { DEFAULT_SPAN_LIMITS, spanFromRow, type SpanLimits } from '../../traces/span-data.js';
import type { SpanRow } from '../../traces/span-store.js';
import type { NetworkPolicy } from '@spyglass/trace-tests/node';

/**
 * Where a run's trace is read from when a DataStore names a backend other than the hub itself. A source answers the
 * spans the backend holds right now; the executor keeps polling until the trace is complete.
 */
export interface TraceSource {
  /** What is polled, for messages: `jaeger at http://jaeger:16686`. */
  readonly label: string;
  /** Every span of the trace the backend holds now, oldest first; an empty array while it has none. */
  fetch(traceId: string, signal: AbortSignal): Promise<Span[]>;
}

export interface SourceOptions {
  /** Decides every address before a connection is opened. */
  policy: NetworkPolicy;
  /** One request's limit, connecting included. */
  timeoutMs?: number;
  /** Largest answer read; a larger one fails the poll (the trace would not fit a run's snapshot anyway). */
  maxAnswerBytes?: number;
  /** Spans kept of one trace (the executor's snapshot limit). */
  maxSpans?: number;
  /** What the hub keeps of one span, as on ingest. */
  limits?: SpanLimits;
}

export interface ResolvedSourceOptions {
  policy: NetworkPolicy;
  timeoutMs: number;
  maxAnswerBytes: number;
  maxSpans: number;
  limits: SpanLimits;
}

export const DEFAULT_SOURCE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_SOURCE_SPANS = 5000;

export function resolveOptions(options: SourceOptions): ResolvedSourceOptions {
  return {
    policy: options.policy,
    timeoutMs: options.timeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS,
    maxAnswerBytes: options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
    maxSpans: options.maxSpans ?? DEFAULT_MAX_SOURCE_SPANS,
    limits: options.limits ?? DEFAULT_SPAN_LIMITS,
  };
}

/** An error of a poll: the backend's name and address first, so a run's failure says where it looked. */
export function sourceError(label: string, what: string, cause?: unknown): SpyglassError {
  return new SpyglassError('UNAVAILABLE', `${label} ${what}`, cause === undefined ? undefined : { cause });
}

/** The first characters of an answer body, on one line, for error messages. */
export function excerpt(body: Buffer | string, max = 300): string {
  const text = (typeof body === 'string' ? body : body.subarray(0, max * 4).toString('utf8'))
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return '(empty body)';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A trace id as the backends are asked for it: 32 lowercase hex digits. */
export function checkedTraceId(traceId: string): string {
  const id = traceId.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id) || /^0+$/.test(id))
    throw new SpyglassError(
      'INVALID_INPUT',
      `${JSON.stringify(traceId)} is not a trace id (32 hex digits, not all zero)`,
    );
  return id;
}

/** Rows as the API's spans: only the asked trace, one per span id, oldest first, at most `maxSpans`. */
export function spansFromRows(rows: readonly SpanRow[], traceId: string, maxSpans: number): Span[] {
  const seen = new Set<string>();
  const kept: SpanRow[] = [];
  for (const row of rows) {
    if (row.traceId !== traceId || seen.has(row.spanId)) continue;
    seen.add(row.spanId);
    kept.push(row);
  }
  kept.sort((a, b) => a.startUs - b.startUs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
  return kept.slice(0, maxSpans).map((row) =>
    spanFromRow({
      trace_id: row.traceId,
      span_id: row.spanId,
      parent_span_id: row.parentSpanId,
      service: row.service,
      name: row.name,
      kind: row.kind,
      status: row.status,
      start_us: row.startUs,
      duration_us: row.durationUs,
      data: row.data,
    }),
  );
}

/**
 * The backend's spans with the ones the hub holds of the same trace (the trigger span the hub writes itself), one per
 * span id (the backend's copy first), oldest first.
 */
export function mergeSpans(backend: readonly Span[], hub: readonly Span[]): Span[] {
  const ids = new Set(backend.map((s) => s.spanId));
  return [...backend, ...hub.filter((s) => !ids.has(s.spanId))].sort(
    (a, b) => a.startUs - b.startUs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0),
  );
}

const HEX = /^[0-9a-f]+$/i;

/** An id as OTLP/JSON writes it (hex) or as protobuf JSON mappings do (base64, Tempo's answers); hex out. */
export function hexId(value: unknown, bytes: number): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (value.length === bytes * 2 && HEX.test(value)) return value.toLowerCase();
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const raw = Buffer.from(value, 'base64');
    if (raw.length === bytes) return raw.toString('hex');
  }
  return value;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const each = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** Rewrites base64 ids of spans and links to hex, in place, so the OTLP/JSON converter reads them. */
export function hexIdsInPlace(resourceSpans: unknown): void {
  for (const rs of each(resourceSpans)) {
    for (const ss of [...each(rs.scopeSpans), ...each(rs.instrumentationLibrarySpans)]) {
      for (const s of each(ss.spans)) {
        s.traceId = hexId(s.traceId, 16);
        s.spanId = hexId(s.spanId, 8);
        s.parentSpanId = hexId(s.parentSpanId, 8);
        for (const l of each(s.links)) {
          l.traceId = hexId(l.traceId, 16);
          l.spanId = hexId(l.spanId, 8);
        }
      }
    }
  }
}

/** OTLP/JSON resource spans → rows, through the hub's own converter (same limits and mapping as ingest). */
export function rowsFromOtlpJson(resourceSpans: unknown, limits: SpanLimits, label: string): SpanRow[] {
  if (resourceSpans === undefined || resourceSpans === null) return [];
  if (!Array.isArray(resourceSpans)) throw sourceError(label, 'answered a trace whose resourceSpans is not a list');
  hexIdsInPlace(resourceSpans);
  let out: DecodedSpans;
  try {
    out = convertExportRequest({ resourceSpans }, limits, null);
  } catch (err) {
    if (err instanceof OtlpInputError) throw sourceError(label, `answered a trace the hub cannot read: ${err.message}`);
    throw err;
  }
  return out.rows;
}

/** OTLP protobuf `TracesData` (or any message whose field 1 is its resource spans) → rows. */
export function rowsFromOtlpProto(bytes: Buffer, limits: SpanLimits, label: string): SpanRow[] {
  try {
    return decodeExportRequest(bytes, limits, null).rows;
  } catch (err) {
    if (err instanceof OtlpInputError)
      throw sourceError(label, `answered protobuf the hub cannot read as OTLP traces: ${err.message}`);
    throw err;
  }
}
