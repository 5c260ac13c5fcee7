import type { Span, SpanKind, SpanStatusCode, TraceSummary } from '@spyglass/protocol';

/**
 * A span as the decoders produce it and the store writes it: the columns searches use, and everything else already
 * serialised as one JSON text (`data`, see `span-data.ts`), so a write builds no per-attribute objects.
 */
export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
  startUs: number;
  durationUs: number;
  /** Attributes, resource, scope, events, links, trace state, status message, dropped counts (see span-data.ts). */
  data: string;
  /** Pool of the key the spans arrived with (null for spans the hub writes itself). */
  poolId: string | null;
}

/** A search over spans; the result is traces with at least one span matching every filter. */
export interface SpanSearch {
  service?: string;
  name?: string;
  /** Exact matches on span or resource attributes (values compared as text). */
  attributes?: readonly { key: string; value: string }[];
  minDurationUs?: number;
  maxDurationUs?: number;
  status?: SpanStatusCode;
  /** Span start range, epoch microseconds, inclusive. */
  fromUs: number;
  toUs: number;
  limit: number;
  cursor?: string;
  /**
   * Only spans exported with these pools' keys (a pool-only caller's memberships; empty matches nothing). Absent or
   * null: every span, the same query as without pools (docs/adr/0013-roles-per-pool.md).
   */
  pools?: VisiblePools;
}

/** The pools whose spans a caller sees: `null` for all (a global role of viewer or higher), otherwise their ids. */
export type VisiblePools = readonly string[] | null;

export interface SpanSearchResult {
  items: TraceSummary[];
  nextCursor: string | null;
}

export interface OperationEntry {
  service: string;
  name: string;
  kind: SpanKind;
  lastSeenAt: number;
}

export interface RetentionLimits {
  /** Spans are removed this long after they arrived. */
  maxAgeMs: number;
  /** The oldest spans are removed while the stored total is above this. */
  maxBytes: number;
}

export interface SweepResult {
  deletedSpans: number;
  /** Stored bytes (as the store counts them) after the sweep. */
  storedBytes: number;
}

/**
 * Where spans live. One implementation per SQL dialect today (SQLite, PostgreSQL with time partitions, MySQL); the
 * interface is what a columnar engine would implement later (ADR 0005).
 */
export interface SpanStore {
  /** Writes spans that arrived at `nowMs` in one statement per dialect chunk; resolves when they are queryable. */
  insert(rows: readonly SpanRow[], nowMs: number): Promise<void>;
  /** Every span of a trace, oldest first, at most `limit` (duplicates from retried exports removed). */
  trace(traceId: string, limit: number, pools?: VisiblePools): Promise<{ spans: Span[]; truncated: boolean }>;
  search(query: SpanSearch): Promise<SpanSearchResult>;
  /** Summaries of the given traces (for search results and live notices), counting only the visible pools' spans. */
  summaries(traceIds: readonly string[], pools?: VisiblePools): Promise<TraceSummary[]>;
  /** Services with spans (of the visible pools), most recently seen first. */
  services(pools?: VisiblePools): Promise<{ name: string; lastSeenAt: number }[]>;
  operations(service?: string, pools?: VisiblePools): Promise<OperationEntry[]>;
  /** Removes what retention says must go, in small steps that leave room for writes between them. */
  sweep(limits: RetentionLimits, nowMs: number): Promise<SweepResult>;
  /** Stored spans and bytes (bookkeeping counts, cheap). */
  stats(): Promise<{ spans: number; bytes: number }>;
}
