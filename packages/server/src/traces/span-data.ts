import { SPAN_KINDS, SPAN_STATUS_CODES, type Attributes, type Span } from '@spyglass/protocol';

/**
 * How a span's non-searched parts are stored: one JSON text per span, written by the decoders by concatenation (no
 * objects per attribute on the ingest path) and read back by `spanFromRow`. Keys in this order:
 * `{"a":{attributes},"r":{resource attributes},"s":[scope name, scope version],"e":[[timeUs,name,{attributes}],…],
 * "l":[[traceId,spanId,traceState|null,{attributes}],…],"ts":traceState|null,"m":status message,
 * "d":[dropped attributes, dropped events, dropped links],"t":0|1}` (`t`: the hub cut something).
 */
export interface SpanData {
  a: Attributes;
  r: Attributes;
  s: [string, string];
  e: [number, string, Attributes][];
  l: [string, string, string | null, Attributes][];
  ts: string | null;
  m: string;
  d: [number, number, number];
  t: 0 | 1;
}

/** What the hub keeps of one span at most; beyond these it cuts and counts (`dropped`, `truncated`). */
export interface SpanLimits {
  maxAttributes: number;
  /** Longest string value kept (characters); longer ones are cut. */
  maxAttributeValueLength: number;
  maxEvents: number;
  maxLinks: number;
}

export const DEFAULT_SPAN_LIMITS: SpanLimits = {
  maxAttributes: 128,
  maxAttributeValueLength: 8192,
  maxEvents: 128,
  maxLinks: 128,
};

/** Longest service and span name kept (the columns' width). */
export const MAX_NAME_LENGTH = 255;
/** Nesting kept inside array and key/value-list attribute values. */
export const MAX_VALUE_DEPTH = 8;

/** The columns a stored span row has, as read back. */
export interface StoredSpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  service: string;
  name: string;
  kind: number;
  status: number;
  start_us: number;
  duration_us: number;
  data: string;
}

export function kindName(kind: number): Span['kind'] {
  return SPAN_KINDS[kind] ?? 'unspecified';
}

export function statusName(code: number): Span['status']['code'] {
  return SPAN_STATUS_CODES[code] ?? 'unset';
}

export function statusCode(name: Span['status']['code']): number {
  return SPAN_STATUS_CODES.indexOf(name);
}

/** A stored row as the API's span. */
export function spanFromRow(row: StoredSpanRow): Span {
  const d = JSON.parse(row.data) as SpanData;
  return {
    traceId: row.trace_id,
    spanId: row.span_id,
    parentSpanId: row.parent_span_id,
    traceState: d.ts,
    name: row.name,
    kind: kindName(Number(row.kind)),
    service: row.service,
    startUs: Number(row.start_us),
    durationUs: Number(row.duration_us),
    status: { code: statusName(Number(row.status)), message: d.m },
    attributes: d.a,
    resource: d.r,
    scope: { name: d.s[0], version: d.s[1] },
    events: d.e.map(([timeUs, name, attributes]) => ({ timeUs, name, attributes })),
    links: d.l.map(([traceId, spanId, traceState, attributes]) => ({ traceId, spanId, traceState, attributes })),
    dropped: { attributes: d.d[0], events: d.d[1], links: d.d[2] },
    truncated: d.t === 1,
  };
}
