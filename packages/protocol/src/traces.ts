import { z } from 'zod';
import { epochMsSchema } from './common.js';
import { snapshotSummarySchema, storedLogSchema } from './live.js';

/** One span model for everything shown as a trace: OTLP spans, trace-test runs, Kubernetes objects. */

export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
export const spanKindSchema = z.enum(SPAN_KINDS);
export type SpanKind = z.infer<typeof spanKindSchema>;

export const SPAN_STATUS_CODES = ['unset', 'ok', 'error'] as const;
export const spanStatusCodeSchema = z.enum(SPAN_STATUS_CODES);
export type SpanStatusCode = z.infer<typeof spanStatusCodeSchema>;

export const traceIdSchema = z
  .string()
  .regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits')
  .refine((id) => id !== '0'.repeat(32), 'must not be all zeros');
export const spanIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits');

/**
 * An attribute value as OTLP's AnyValue maps to JSON: strings, booleans, numbers (64-bit integers beyond 2^53 as
 * decimal strings), arrays, key/value lists as objects, bytes as base64 strings; an empty AnyValue is `null`.
 */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export const attributeValueSchema: z.ZodType<AttributeValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(attributeValueSchema),
    z.record(z.string(), attributeValueSchema),
  ]),
);
/**
 * Attributes by key. Answers validate only the map's shape (values are the hub's own decoding), so a trace of
 * thousands of spans is not walked value by value on its way out; `attributeValueSchema` describes the values.
 */
export const attributesSchema = z.record(z.string(), z.unknown()) as unknown as z.ZodType<
  Record<string, AttributeValue>
>;
export type Attributes = Record<string, AttributeValue>;

export const spanEventSchema = z.object({
  /** Epoch microseconds. */
  timeUs: z.number(),
  name: z.string(),
  attributes: attributesSchema,
});
export type SpanEvent = z.infer<typeof spanEventSchema>;

export const spanLinkSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  traceState: z.string().nullable(),
  attributes: attributesSchema,
});
export type SpanLink = z.infer<typeof spanLinkSchema>;

/** Items the sender dropped (OTLP's dropped_*_count) plus those the hub cut by its limits. */
export const spanDroppedSchema = z.object({
  attributes: z.number().int().nonnegative(),
  events: z.number().int().nonnegative(),
  links: z.number().int().nonnegative(),
});

export const spanSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  traceState: z.string().nullable(),
  name: z.string(),
  kind: spanKindSchema,
  /** `service.name` of the resource (`unknown_service` when the sender set none). */
  service: z.string(),
  /** Epoch microseconds. */
  startUs: z.number(),
  durationUs: z.number().nonnegative(),
  status: z.object({ code: spanStatusCodeSchema, message: z.string() }),
  attributes: attributesSchema,
  resource: attributesSchema,
  scope: z.object({ name: z.string(), version: z.string() }),
  events: z.array(spanEventSchema),
  links: z.array(spanLinkSchema),
  dropped: spanDroppedSchema,
  /** The hub cut something of this span by its limits (counted in `dropped`, strings shortened). */
  truncated: z.boolean(),
});
export type Span = z.infer<typeof spanSchema>;

/** A trace in search results. */
export const traceSummarySchema = z.object({
  traceId: z.string(),
  /** The root span's service and name (the earliest span without a parent in the trace; null when none arrived). */
  rootService: z.string().nullable(),
  rootName: z.string().nullable(),
  /** Epoch microseconds of the earliest span. */
  startUs: z.number(),
  /** From the earliest start to the latest end. */
  durationUs: z.number().nonnegative(),
  spanCount: z.number().int().nonnegative(),
  errorCount: z.number().int().nonnegative(),
  services: z.array(z.object({ name: z.string(), spanCount: z.number().int().nonnegative() })),
});
export type TraceSummary = z.infer<typeof traceSummarySchema>;

/** A whole trace: every stored span, and the live-debugging hits recorded inside it. */
export const traceSchema = traceSummarySchema.extend({
  spans: z.array(spanSchema),
  /** Spans beyond the hub's per-trace read limit were left out. */
  spansTruncated: z.boolean(),
  logs: z.array(storedLogSchema),
  snapshots: z.array(snapshotSummarySchema),
});
export type Trace = z.infer<typeof traceSchema>;

// ---- durations ------------------------------------------------------------------------------------------------------

const DURATION_UNITS_US: Record<string, number> = {
  ns: 0.001,
  us: 1,
  µs: 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

/**
 * Parses a duration as people write it (`250ms`, `1.5s`, `2m`, `300us`, `1h30m`; a bare number is milliseconds) into
 * microseconds. Returns undefined for anything else.
 */
export function parseDurationUs(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    total += Number(m[1]) * DURATION_UNITS_US[m[2]!]!;
    end = re.lastIndex;
  }
  return end === t.length && end > 0 ? total : undefined;
}

/** A duration in microseconds as a short text: `840µs`, `12.3ms`, `4.21s`, `2m05s`. */
export function formatDurationUs(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  if (us < 60_000_000) return `${(us / 1_000_000).toFixed(2)}s`;
  const s = Math.round(us / 1_000_000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const durationParam = z
  .string()
  .max(32)
  .refine((s) => parseDurationUs(s) !== undefined, 'must be a duration such as 250ms, 1.5s or 2m');

const attrFilter = z
  .string()
  .max(1100)
  .regex(/^[^=]{1,255}=[\s\S]{0,1024}$/, 'must be key=value');

/** Search: traces with a span that matches every given filter; newest first. */
export const traceQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  cursor: z.string().max(200).optional(),
  service: z.string().max(255).optional(),
  /** Span name (operation). */
  name: z.string().max(255).optional(),
  /** `key=value` on a span's attributes (or its resource's); repeat to require several. */
  attr: z.union([attrFilter, z.array(attrFilter).max(20)]).optional(),
  minDuration: durationParam.optional(),
  maxDuration: durationParam.optional(),
  status: spanStatusCodeSchema.optional(),
  /** Span start time range, epoch ms (default: the last hour). */
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
});
export type TraceQuery = z.infer<typeof traceQuerySchema>;

export const traceParamsSchema = z.object({ traceId: traceIdSchema });

export const traceServicesSchema = z.object({
  items: z.array(z.object({ name: z.string(), lastSeenAt: epochMsSchema })),
});
export const traceOperationsQuerySchema = z.object({ service: z.string().min(1).max(255).optional() });
export const traceOperationsSchema = z.object({
  items: z.array(z.object({ service: z.string(), name: z.string(), kind: spanKindSchema, lastSeenAt: epochMsSchema })),
});

/**
 * The `traces` stream channel: `{"type":"subscribe","channel":"traces","services":["checkout"]}` (`"*"` follows
 * every service). The hub sends `{"type":"trace","channel":"traces",…}` when the root span of a trace of a followed
 * service arrives (or, for a trace whose root it never sees, its first span).
 */
export const traceStreamFilterSchema = z.object({
  services: z.array(z.string().min(1).max(255)).min(1).max(100),
});
export const traceStreamMessageSchema = z.object({
  type: z.literal('trace'),
  channel: z.literal('traces'),
  traceId: z.string(),
  service: z.string(),
  name: z.string(),
  startUs: z.number(),
  durationUs: z.number(),
  error: z.boolean(),
});
export type TraceStreamMessage = z.infer<typeof traceStreamMessageSchema>;
