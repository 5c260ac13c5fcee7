import { z } from 'zod';
import {
  actionSpecSchema,
  actionStateSchema,
  type ActionState,
  agentActionStateSchema,
  logLevelSchema,
  probeMethodSchema,
  targetSchema,
} from './actions.js';
import { PROTOCOL_VERSION, histogramSchema, snapshotHitSchema } from './agent-wire.js';
import { epochMsSchema, idSchema } from './common.js';

/**
 * REST resources and live-stream messages of live debugging: agents, actions, stored hits, and the client stream at
 * `GET /api/v1/stream`. See docs/api.md.
 */

// ---- retention (what the hub keeps per action) ----------------------------------------------------------------------

export const HIT_RETENTION = {
  /** Newest log lines kept per action. */
  logsPerAction: 1000,
  /** Newest snapshots kept per action. */
  snapshotsPerAction: 100,
  /** Width of one stored metric bucket; samples from every agent are merged into it. */
  metricBucketMs: 10_000,
  /** Metric buckets older than this are removed. */
  metricRetentionMs: 24 * 60 * 60 * 1000,
  /** Completed, expired (and their hits) are removed this long after they ended. */
  endedActionRetentionMs: 7 * 24 * 60 * 60 * 1000,
} as const;

// ---- agents ---------------------------------------------------------------------------------------------------------

export const AGENT_STATUSES = ['connected', 'disconnected'] as const;
export const agentStatusSchema = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof agentStatusSchema>;

/** The agent's own counters, from its last heartbeat (every 15 s by default): cumulative since it started. */
export const agentHealthSchema = z.object({
  /** When the agent reported them. */
  at: epochMsSchema,
  /** CPU time spent in the agent's probes and snapshot captures, in ms. */
  cpuMs: z.number().nonnegative(),
  /** Probe hits the agent counted (before hub-side limits). */
  hits: z.number().int().nonnegative(),
  /** Errors raised by probes (an expression that threw, a failed capture). */
  hookErrors: z.number().int().nonnegative(),
  /** Times an action was throttled by a CPU or log budget. */
  throttles: z.number().int().nonnegative(),
  /** Hits dropped from the agent's bounded buffers. */
  dropped: z.number().int().nonnegative(),
  /** Actions the agent holds. */
  actions: z.number().int().nonnegative(),
});
export type AgentHealth = z.infer<typeof agentHealthSchema>;

export const agentSchema = z.object({
  id: idSchema,
  poolId: idSchema,
  poolName: z.string(),
  instanceId: z.string(),
  service: z.object({ name: z.string(), version: z.string().nullable(), environment: z.string().nullable() }),
  tags: z.record(z.string(), z.string()),
  hostname: z.string(),
  pid: z.number().int(),
  /** Node.js worker thread id (0: the main thread). */
  threadId: z.number().int().nonnegative(),
  runtime: z.object({ name: z.string(), version: z.string() }),
  agentVersion: z.string(),
  address: z.string().nullable(),
  status: agentStatusSchema,
  firstSeenAt: epochMsSchema,
  connectedAt: epochMsSchema,
  lastSeenAt: epochMsSchema,
  disconnectedAt: epochMsSchema.nullable(),
  /** Hits this agent sent that the hub accepted, by kind, and the hits the agent reported dropping. */
  hits: z.object({
    logs: z.number().int().nonnegative(),
    snapshots: z.number().int().nonnegative(),
    metrics: z.number().int().nonnegative(),
    dropped: z.number().int().nonnegative(),
  }),
  /** The agent's health counters from its last heartbeat; null until one arrived. */
  health: agentHealthSchema.nullable(),
});
export type Agent = z.infer<typeof agentSchema>;

const tagFilter = z
  .string()
  .max(320)
  .regex(/^[^=]{1,63}=.{0,255}$/, 'must be key=value');

export const agentQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  /** Pool id or name. */
  pool: z.string().max(64).optional(),
  service: z.string().max(255).optional(),
  /** `key=value`; repeat the parameter to require several tags. */
  tag: z.union([tagFilter, z.array(tagFilter).max(20)]).optional(),
  status: agentStatusSchema.optional(),
});
export type AgentQuery = z.infer<typeof agentQuerySchema>;

// ---- actions --------------------------------------------------------------------------------------------------------

/** The status one agent reported for an action. */
export const agentActionStatusSchema = z.object({
  agentId: idSchema,
  state: agentActionStateSchema,
  method: probeMethodSchema.nullable(),
  reason: z.string().nullable(),
  location: z.object({ file: z.string(), line: z.number().int(), column: z.number().int().optional() }).nullable(),
  /** When the agent reported it. */
  at: epochMsSchema,
  /** Hits the hub accepted from this agent for this action. */
  hits: z.number().int().nonnegative(),
});
export type AgentActionStatus = z.infer<typeof agentActionStatusSchema>;

/**
 * An action's state as its agents make it, in one word: `completed` and `expired` when it ended; otherwise `error`
 * when every agent that reported failed to run it, `partial` when some did, `active` when at least one runs it, and
 * `pending` while no agent has reported it running (none matched yet, or each waits for its file to load).
 */
export const ACTION_SUMMARY_STATES = ['pending', 'active', 'partial', 'error', 'completed', 'expired'] as const;
export const actionSummaryStateSchema = z.enum(ACTION_SUMMARY_STATES);
export type ActionSummaryState = z.infer<typeof actionSummaryStateSchema>;

export const actionSummarySchema = z.object({
  state: actionSummaryStateSchema,
  /** Agents that reported a status. */
  agents: z.number().int().nonnegative(),
  /** Of them, those whose status is `error`. */
  errors: z.number().int().nonnegative(),
});
export type ActionSummary = z.infer<typeof actionSummarySchema>;

/** The summary of an action from its hub-side state and its agents' status counts (`statusCounts`). */
export function summarizeAction(state: ActionState, statusCounts: Readonly<Record<string, number>>): ActionSummary {
  let agents = 0;
  for (const n of Object.values(statusCounts)) agents += n;
  const errors = statusCounts.error ?? 0;
  const running = agents - errors - (statusCounts.pending ?? 0);
  const summary =
    state !== 'active'
      ? state
      : errors > 0 && errors === agents
        ? 'error'
        : errors > 0
          ? 'partial'
          : running > 0
            ? 'active'
            : 'pending';
  return { state: summary, agents, errors };
}

export const actionSchema = z.intersection(
  actionSpecSchema,
  z.object({
    id: idSchema,
    target: targetSchema,
    maxHits: z.number().int().min(1),
    expiresAt: epochMsSchema,
    state: actionStateSchema,
    createdAt: epochMsSchema,
    /** User id of the creator (null when the user was deleted). */
    createdBy: z.string().nullable(),
    /** When it completed or expired. */
    endedAt: epochMsSchema.nullable(),
    /** Hits accepted across every agent. */
    hitCount: z.number().int().nonnegative(),
    /** Agents that reported a status, by state. */
    statusCounts: z.record(z.string(), z.number().int().nonnegative()),
    /** The state its agents make it: `error` when all failed, `partial` when some did (see `summarizeAction`). */
    summary: actionSummarySchema,
    /** The first agents' statuses (all of them: `GET /api/v1/actions/:id/agents`). Only on single-action reads. */
    agents: z.array(agentActionStatusSchema).optional(),
  }),
);
export type Action = z.infer<typeof actionSchema>;

export const actionQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  state: actionStateSchema.optional(),
  /** Pool id or name. */
  pool: z.string().max(64).optional(),
  kind: z.enum(['log', 'snapshot', 'metric']).optional(),
  /** Actions whose target names this service. */
  service: z.string().max(255).optional(),
});
export type ActionQuery = z.infer<typeof actionQuerySchema>;

// ---- stored hits ----------------------------------------------------------------------------------------------------

export const hitQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** From `nextCursor` of the previous page; pages go from newest to oldest. */
  cursor: z.string().max(200).optional(),
  agentId: idSchema.optional(),
  /** Epoch ms, inclusive. */
  since: z.coerce.number().int().nonnegative().optional(),
  /** Epoch ms, exclusive. */
  until: z.coerce.number().int().nonnegative().optional(),
});
export type HitQuery = z.infer<typeof hitQuerySchema>;

export const storedLogSchema = z.object({
  id: z.string(),
  actionId: idSchema,
  agentId: idSchema,
  at: epochMsSchema,
  level: logLevelSchema,
  message: z.string(),
  traceId: z.string().nullable(),
  spanId: z.string().nullable(),
});
export type StoredLog = z.infer<typeof storedLogSchema>;

/** A snapshot in lists: where and when, without the captured values. */
export const snapshotSummarySchema = z.object({
  id: z.string(),
  actionId: idSchema,
  agentId: idSchema,
  at: epochMsSchema,
  /** Function and location of the top frame. */
  top: z.object({ functionName: z.string(), file: z.string(), line: z.number().int() }).nullable(),
  frameCount: z.number().int().nonnegative(),
  truncated: z.boolean(),
  traceId: z.string().nullable(),
  spanId: z.string().nullable(),
});
export type SnapshotSummary = z.infer<typeof snapshotSummarySchema>;

export const storedSnapshotSchema = snapshotSummarySchema.extend({
  frames: snapshotHitSchema.shape.frames,
  watches: snapshotHitSchema.shape.watches,
});
export type StoredSnapshot = z.infer<typeof storedSnapshotSchema>;

export const metricQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(2000).default(360),
  /** Pages go from newest to oldest bucket. */
  cursor: z.string().max(200).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  until: z.coerce.number().int().nonnegative().optional(),
});
export type MetricQuery = z.infer<typeof metricQuerySchema>;

/** One stored bucket: every agent's samples over `[start, start + bucketMs)` merged. */
export const metricPointSchema = z.object({
  actionId: idSchema,
  start: epochMsSchema,
  end: epochMsSchema,
  count: z.number().int().nonnegative(),
  sum: z.number(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  histogram: histogramSchema.optional(),
});
export type MetricPoint = z.infer<typeof metricPointSchema>;

// ---- live stream (`GET /api/v1/stream`) -----------------------------------------------------------------------------

export const STREAM_LIMITS = {
  /** Most actions plus services one stream may follow. */
  maxSubscriptions: 1000,
  /** Largest client message (bytes). */
  maxMessageBytes: 64 * 1024,
} as const;

const sv = z.literal(PROTOCOL_VERSION);

export const serviceSelectorSchema = z.object({
  /** Pool id or name. */
  pool: z.string().min(1).max(64),
  service: z.string().min(1).max(255),
});
export type ServiceSelector = z.infer<typeof serviceSelectorSchema>;

const subscriptionFields = {
  actionIds: z.array(idSchema).max(STREAM_LIMITS.maxSubscriptions).default([]),
  /** Everything (hits, statuses, action changes) from agents of these services. */
  services: z.array(serviceSelectorSchema).max(STREAM_LIMITS.maxSubscriptions).default([]),
};

/**
 * The stream carries channels, one per kind of feed; `live` (the default when a message names none) is live
 * debugging's, whose filter is `actionIds` and `services`. Other modules' channels take their own filter fields.
 */
const channelField = { channel: z.string().min(1).max(64).optional() };

export const streamSubscribeSchema = z.object({
  type: z.literal('subscribe'),
  v: sv,
  ...channelField,
  ...subscriptionFields,
});
export const streamUnsubscribeSchema = z.object({
  type: z.literal('unsubscribe'),
  v: sv,
  ...channelField,
  ...subscriptionFields,
});
export const streamPingSchema = z.object({ type: z.literal('ping'), v: sv, id: z.string().max(64).optional() });

/** Client → hub. */
export const streamClientMessageSchema = z.discriminatedUnion('type', [
  streamSubscribeSchema,
  streamUnsubscribeSchema,
  streamPingSchema,
]);
export type StreamClientMessage = z.input<typeof streamClientMessageSchema>;

const liveBase = { v: sv, actionId: idSchema, agentId: idSchema };

/** Hub → client. */
export const streamServerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribed'),
    v: sv,
    actionIds: z.array(z.string()),
    services: z.array(serviceSelectorSchema),
  }),
  z.object({
    type: z.literal('log'),
    ...liveBase,
    log: storedLogSchema.omit({ id: true, actionId: true, agentId: true }),
  }),
  z.object({ type: z.literal('snapshot'), ...liveBase, snapshot: snapshotSummarySchema }),
  z.object({
    type: z.literal('metric'),
    ...liveBase,
    sample: z.object({
      start: epochMsSchema,
      end: epochMsSchema,
      count: z.number(),
      sum: z.number(),
      min: z.number(),
      max: z.number(),
    }),
  }),
  z.object({
    type: z.literal('status'),
    ...liveBase,
    status: agentActionStatusSchema.omit({ agentId: true, hits: true }),
  }),
  z.object({
    type: z.literal('action'),
    v: sv,
    actionId: idSchema,
    event: z.enum(['created', 'deleted', 'completed', 'expired']),
  }),
  /** Messages this client was too slow to receive were dropped (oldest first). */
  z.object({ type: z.literal('dropped'), v: sv, count: z.number().int().positive() }),
  z.object({ type: z.literal('pong'), v: sv, id: z.string().optional() }),
  z.object({ type: z.literal('error'), v: sv, code: z.string(), message: z.string() }),
]);
export type StreamServerMessage = z.infer<typeof streamServerMessageSchema>;
