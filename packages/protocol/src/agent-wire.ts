import { z } from 'zod';
import { actionSpecSchema, agentActionStateSchema, logLevelSchema, probeMethodSchema } from './actions.js';
import { epochMsSchema, idSchema } from './common.js';
import { wirePolicySchema } from './policy.js';

import { CLOSE_CODES, PROTOCOL_VERSION, SOURCE_LIMITS, WIRE_LIMITS } from './agent-limits.js';

export { CLOSE_CODES, PROTOCOL_VERSION, SOURCE_LIMITS, WIRE_LIMITS };

const v = z.literal(PROTOCOL_VERSION);

// ---- values captured by snapshots ----------------------------------------------------------------------------------

/** A rendered value. Objects are trees of these, bounded by the capture limits. */
export interface CapturedValue {
  /** Property, variable or index name. */
  name?: string | undefined;
  /** `typeof`-like: string, number, boolean, undefined, null, bigint, symbol, function, object. */
  type: string;
  /** Class or subtype for objects: `Map`, `Array`, `Date`, `Order`… */
  className?: string | undefined;
  /** Rendered primitive or short description (`Map(3)`, an ISO date, an error message). */
  value?: string | undefined;
  /** Length of arrays/strings or size of maps/sets, when known. */
  size?: number | undefined;
  children?: CapturedValue[] | undefined;
  /** Children, characters or items were cut by a limit. */
  truncated?: boolean | undefined;
  /** Replaced by the redaction rules. */
  redacted?: boolean | undefined;
  /** Refers back to an ancestor. */
  circular?: boolean | undefined;
  /** Could not be read (e.g. a getter that would have run). */
  error?: string | undefined;
}

export const capturedValueSchema: z.ZodType<CapturedValue> = z.lazy(() =>
  z.object({
    name: z.string().max(1024).optional(),
    type: z.string().max(32),
    className: z.string().max(256).optional(),
    value: z.string().max(65536).optional(),
    size: z.number().int().nonnegative().optional(),
    children: z.array(capturedValueSchema).max(1000).optional(),
    truncated: z.boolean().optional(),
    redacted: z.boolean().optional(),
    circular: z.boolean().optional(),
    error: z.string().max(1024).optional(),
  }),
);

export const stackFrameSchema = z.object({
  functionName: z.string().max(1024),
  /** Original source file (after source maps) when known, else the script URL. */
  file: z.string().max(2048),
  line: z.number().int().nonnegative(),
  column: z.number().int().nonnegative().optional(),
  /**
   * Set on a frame of an async caller (V8's async stack trace): how the code above it was reached from this frame,
   * e.g. `await`, `Promise.then`, `setTimeout`.
   */
  async: z.string().max(64).optional(),
  locals: z.array(capturedValueSchema).max(1000).optional(),
});
export type StackFrame = z.infer<typeof stackFrameSchema>;

export const watchResultSchema = z.object({
  expression: z.string().max(1024),
  value: capturedValueSchema.optional(),
  error: z.string().max(1024).optional(),
});
export type WatchResult = z.infer<typeof watchResultSchema>;

// ---- hits -----------------------------------------------------------------------------------------------------------

const traceIds = {
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  spanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
};

export const logHitSchema = z.object({
  actionId: idSchema,
  at: epochMsSchema,
  level: logLevelSchema,
  message: z.string().max(65536),
  ...traceIds,
});
export type LogHit = z.infer<typeof logHitSchema>;

export const snapshotHitSchema = z.object({
  actionId: idSchema,
  at: epochMsSchema,
  frames: z.array(stackFrameSchema).max(100),
  watches: z.array(watchResultSchema).max(50).default([]),
  /** Something was cut by a capture limit. */
  truncated: z.boolean().default(false),
  ...traceIds,
});
export type SnapshotHit = z.infer<typeof snapshotHitSchema>;

/**
 * Largest magnitude of a measured value the hub keeps from an agent; beyond it values are clamped, so sums over any
 * number of samples stay finite (a sample of 1e300 used to turn an action's sum into Infinity and its reads into 500s).
 */
export const MAX_METRIC_MAGNITUDE = 1e100;
const measured = z.number().transform((n) => Math.max(-MAX_METRIC_MAGNITUDE, Math.min(MAX_METRIC_MAGNITUDE, n)));
/** Counts an agent sends: integers up to 2^53 − 1 (larger ones cannot be exact, or stored, or answered). */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Histogram buckets: `counts[i]` values fell at or below `bounds[i]`; the last count is the overflow (+Inf). */
export const histogramSchema = z
  .object({
    bounds: z.array(z.number()).max(64),
    counts: z.array(z.number().int().nonnegative()).max(65),
  })
  .refine((h) => h.counts.length === h.bounds.length + 1, { message: 'counts must have one more entry than bounds' });

/** The histogram as an agent sends it: the same shape, its numbers bounded (see `MAX_METRIC_MAGNITUDE`). */
const wireHistogramSchema = z
  .object({
    bounds: z.array(measured).max(64),
    counts: z.array(count).max(65),
  })
  .refine((h) => h.counts.length === h.bounds.length + 1, { message: 'counts must have one more entry than bounds' });

/** One metric aggregated by the agent over `[start, end)`. */
export const metricSampleSchema = z.object({
  actionId: idSchema,
  start: epochMsSchema,
  end: epochMsSchema,
  count,
  sum: measured,
  min: measured,
  max: measured,
  histogram: wireHistogramSchema.optional(),
});
export type MetricSample = z.infer<typeof metricSampleSchema>;

// ---- agent → hub ----------------------------------------------------------------------------------------------------

export const serviceInfoSchema = z.object({
  name: z.string().trim().min(1).max(255),
  version: z.string().max(255).optional(),
  environment: z.string().max(255).optional(),
});

export const helloFrameSchema = z.object({
  type: z.literal('hello'),
  v,
  /** Stable for the life of the process; a reconnect with the same id is the same agent. */
  instanceId: z.string().min(8).max(64),
  service: serviceInfoSchema,
  tags: z
    .record(z.string().min(1).max(63), z.string().max(255))
    .refine((t) => Object.keys(t).length <= WIRE_LIMITS.maxTagsPerAgent, {
      message: `at most ${WIRE_LIMITS.maxTagsPerAgent} tags`,
    })
    .default({}),
  hostname: z.string().max(255),
  pid: z.number().int().nonnegative(),
  /** Node.js worker thread id; absent (or 0) for the main thread. */
  threadId: z.number().int().nonnegative().optional(),
  runtime: z.object({ name: z.string().max(32), version: z.string().max(64) }),
  agentVersion: z.string().max(64),
  /** Address the agent advertises (informational; the hub never dials agents). */
  address: z.string().max(255).optional(),
  /**
   * The session credential of this instance's last `welcome`. A hello for an instance id the pool already knows must
   * carry it, or it is refused (4008): the instance id alone does not prove who the agent is.
   */
  session: z.string().min(1).max(128).optional(),
});
export type HelloFrame = z.infer<typeof helloFrameSchema>;

export const actionStatusSchema = z.object({
  actionId: idSchema,
  state: agentActionStateSchema,
  method: probeMethodSchema.optional(),
  /** Why: the error, the throttling budget that tripped, the file that is not loaded yet… */
  reason: z.string().max(2048).optional(),
  /** Where the probe landed (may differ from the requested line: the next statement). */
  location: z
    .object({
      file: z.string().max(2048),
      line: z.number().int().min(1),
      column: z.number().int().nonnegative().optional(),
    })
    .optional(),
  at: epochMsSchema,
});
export type ActionStatus = z.infer<typeof actionStatusSchema>;

export const actionStatusFrameSchema = z.object({
  type: z.literal('action_status'),
  v,
  statuses: z.array(actionStatusSchema).min(1).max(WIRE_LIMITS.maxStatuses),
});

export const hitsFrameSchema = z
  .object({
    type: z.literal('hits'),
    v,
    logs: z.array(logHitSchema).default([]),
    snapshots: z.array(snapshotHitSchema).default([]),
    metrics: z.array(metricSampleSchema).default([]),
    /** Hits the agent dropped since the last frame (buffer full, hub away). */
    dropped: count.default(0),
  })
  .refine((f) => f.logs.length + f.snapshots.length + f.metrics.length <= WIRE_LIMITS.maxBatchItems, {
    message: `a hits frame carries at most ${WIRE_LIMITS.maxBatchItems} items`,
  });
export type HitsFrame = z.infer<typeof hitsFrameSchema>;

export const heartbeatFrameSchema = z.object({
  type: z.literal('heartbeat'),
  v,
  at: epochMsSchema,
  /** Optional agent health counters (dropped hits, CPU budget used…). */
  stats: z.record(z.string().max(64), z.number()).optional(),
});

/** A file the agent can show: a loaded script, or an original source found through a script's source map. */
export const sourceFileSchema = z.object({
  path: z.string().min(1).max(2048),
  /** An original source (e.g. TypeScript) rather than the script the runtime loaded. */
  original: z.boolean(),
});
export type SourceFile = z.infer<typeof sourceFileSchema>;

/** Why the agent could not answer a `source_request`. */
export const SOURCE_ERROR_CODES = ['NOT_FOUND', 'FORBIDDEN', 'INVALID_INPUT', 'UNAVAILABLE'] as const;

/** The answer to one `source_request`: `files` for `list`, `path` + `text` + `truncated` for `read`, or `error`. */
export const sourceResponseFrameSchema = z.object({
  type: z.literal('source_response'),
  v,
  requestId: z.string().min(1).max(64),
  files: z.array(sourceFileSchema).max(SOURCE_LIMITS.maxFiles).optional(),
  path: z.string().max(2048).optional(),
  /** File text, redacted by the agent's rules, at most `SOURCE_LIMITS.maxTextBytes`. */
  text: z.string().max(SOURCE_LIMITS.maxTextBytes).optional(),
  truncated: z.boolean().optional(),
  error: z.object({ code: z.enum(SOURCE_ERROR_CODES), message: z.string().max(2048) }).optional(),
});
export type SourceResponseFrame = z.infer<typeof sourceResponseFrameSchema>;

export const agentFrameSchema = z.discriminatedUnion('type', [
  helloFrameSchema,
  actionStatusFrameSchema,
  hitsFrameSchema,
  heartbeatFrameSchema,
  sourceResponseFrameSchema,
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;

// ---- hub → agent ----------------------------------------------------------------------------------------------------

/** An action as an agent receives it: what to do, where, until when, how many times. */
export const agentActionSchema = z.intersection(
  actionSpecSchema,
  z.object({ id: idSchema, maxHits: z.number().int().min(1), expiresAt: epochMsSchema }),
);
export type AgentAction = z.infer<typeof agentActionSchema>;

/** The full desired set. A higher revision replaces everything before it, so a lost frame heals on the next one. */
export const actionSetSchema = z.object({
  revision: z.number().int().nonnegative(),
  items: z.array(agentActionSchema).max(WIRE_LIMITS.maxActionsPerAgent),
});
export type ActionSet = z.infer<typeof actionSetSchema>;

export const agentSettingsSchema = z.object({
  heartbeatIntervalMs: z.number().int().positive(),
  /** How often the agent should flush buffered hits. */
  flushIntervalMs: z.number().int().positive(),
  /** How often metric aggregates are sent. */
  metricIntervalMs: z.number().int().positive(),
  maxFrameBytes: z.number().int().positive(),
  maxBatchItems: z.number().int().positive(),
});
export type AgentSettings = z.infer<typeof agentSettingsSchema>;

export const welcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  v,
  agentId: idSchema,
  /** The name of the agent's pool (for the line the agent writes when it connects). */
  pool: z.string().max(64).optional(),
  /**
   * The agent's session credential: kept in memory and sent in the `session` of every later hello of this instance
   * (a reconnect). Issued at registration; hubs before it did not send one.
   */
  session: z.string().min(1).max(128).optional(),
  settings: agentSettingsSchema,
  /**
   * The pool's agent policy, applied before the actions of this frame. Hubs before it sent none (the agent keeps what
   * it has); one the agent cannot read is dropped rather than costing the session (the hub validated it).
   */
  policy: wirePolicySchema.optional().catch(undefined),
  actions: actionSetSchema,
});
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;

export const actionsFrameSchema = z.object({ type: z.literal('actions'), v }).extend(actionSetSchema.shape);
export type ActionsFrame = z.infer<typeof actionsFrameSchema>;

/** A non-fatal complaint about a frame the agent sent (fatal ones close the socket with a CLOSE_CODES code). */
export const errorFrameSchema = z.object({
  type: z.literal('error'),
  v,
  code: z.string().max(64),
  message: z.string().max(2048),
});

/**
 * Source browsing: `list` asks for the files the agent has loaded (scripts and the original sources of their source
 * maps); `read` asks for the text of one of those files. The agent answers with a `source_response` of the same
 * `requestId`, and never reads a file it did not list (blocklist and redaction apply).
 */
export const sourceRequestFrameSchema = z.object({
  type: z.literal('source_request'),
  v,
  requestId: z.string().min(1).max(64),
  op: z.enum(['list', 'read']),
  /** For `read`: a path exactly as the agent listed it. */
  path: z.string().min(1).max(2048).optional(),
});
export type SourceRequestFrame = z.infer<typeof sourceRequestFrameSchema>;

/**
 * The pool's policy changed: apply it at once. Agents before it do not know this type and drop the frame (an invalid
 * frame is logged, never fatal), so a hub sends it to every agent regardless of version.
 */
export const policyFrameSchema = z.object({ type: z.literal('policy'), v }).extend(wirePolicySchema.shape);
export type PolicyFrame = z.infer<typeof policyFrameSchema>;

export const hubFrameSchema = z.discriminatedUnion('type', [
  welcomeFrameSchema,
  actionsFrameSchema,
  errorFrameSchema,
  sourceRequestFrameSchema,
  policyFrameSchema,
]);
export type HubFrame = z.infer<typeof hubFrameSchema>;
