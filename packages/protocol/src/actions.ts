import { z } from 'zod';
import { actionSyntaxProblems } from './action-syntax.js';
import { MAX_EXPRESSION_LENGTH } from './expression.js';
import { epochMsSchema, idSchema } from './common.js';
import { DEFAULT_CAPTURE_LIMITS } from './capture-defaults.js';

export const MAX_TEMPLATE_LENGTH = 2000;
export const MAX_WATCH_EXPRESSIONS = 20;
/** Default and maximum lifetime of an action. */
export const DEFAULT_ACTION_TTL_MS = 60 * 60 * 1000;
export const MAX_ACTION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Default `maxHits` per kind when the request gives none. */
export const DEFAULT_MAX_HITS = { log: 100, snapshot: 1, metric: 1_000_000 } as const;
export const MAX_MAX_HITS = 10_000_000;

export const ACTION_KINDS = ['log', 'snapshot', 'metric'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const logLevelSchema = z.enum(LOG_LEVELS);
export type LogLevel = z.infer<typeof logLevelSchema>;
export const METRIC_TYPES = ['counter', 'tictoc', 'duration', 'gauge'] as const;
export const metricTypeSchema = z.enum(METRIC_TYPES);
export type MetricType = z.infer<typeof metricTypeSchema>;

export const expressionSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_EXPRESSION_LENGTH, `must be at most ${MAX_EXPRESSION_LENGTH} characters`);

export const fileSchema = z.string().trim().min(1, 'must name a file').max(1024);
export const lineSchema = z.number().int().min(1, 'must be 1 or more');

/** Limits on what a snapshot captures. Every field has a default; a request may lower or raise them within bounds. */
const d = DEFAULT_CAPTURE_LIMITS;
export const captureLimitsSchema = z.object({
  maxFrames: z.number().int().min(1).max(100).default(d.maxFrames),
  /** Frames (from the top) whose locals are captured. */
  maxExpandedFrames: z.number().int().min(0).max(20).default(d.maxExpandedFrames),
  maxDepth: z.number().int().min(0).max(10).default(d.maxDepth),
  maxProperties: z.number().int().min(1).max(1000).default(d.maxProperties),
  maxStringLength: z.number().int().min(1).max(65536).default(d.maxStringLength),
  maxArrayItems: z.number().int().min(1).max(1000).default(d.maxArrayItems),
  maxBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(d.maxBytes),
});
export type CaptureLimits = z.infer<typeof captureLimitsSchema>;
export { DEFAULT_CAPTURE_LIMITS };

// ---- what an action does (shared by the REST API and the agent wire protocol) ---------------------------------------

const specBase = {
  file: fileSchema,
  line: lineSchema,
  /** Optional condition; the action fires only when it evaluates truthy. */
  condition: expressionSchema.optional(),
  /**
   * Only hits inside this trace count (the OpenTelemetry span active where the line runs belongs to it); elsewhere the
   * line runs as if the action were not there. Trace-based tests use it for their probes.
   */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits')
    .optional(),
};

export const logSpecSchema = z.object({
  kind: z.literal('log'),
  ...specBase,
  /** Text with `{expression}` parts, e.g. `user {user.id} paid {amount}`. `{{` and `}}` are literal braces. */
  template: z.string().min(1, 'must not be empty').max(MAX_TEMPLATE_LENGTH),
  level: logLevelSchema.default('info'),
  /** Also write the line to the application's own stdout ("log piping"). */
  pipe: z.boolean().default(false),
});

export const snapshotSpecSchema = z.object({
  kind: z.literal('snapshot'),
  ...specBase,
  /** Watch expressions evaluated in the top frame. */
  expressions: z.array(expressionSchema).max(MAX_WATCH_EXPRESSIONS).default([]),
  limits: captureLimitsSchema.partial().optional(),
});

export const metricSpecSchema = z.object({
  kind: z.literal('metric'),
  ...specBase,
  metric: metricTypeSchema,
  /** Metric name, e.g. `checkout.items`. */
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(
      /^[A-Za-z_][A-Za-z0-9_.:-]*$/,
      'must start with a letter or "_" and use letters, digits, ".", "_", ":" or "-"',
    ),
  /** `tictoc`: the line where the timer stops (same invocation). */
  endLine: lineSchema.optional(),
  /** `gauge`: the numeric expression to record. */
  expression: expressionSchema.optional(),
});

export const actionSpecSchema = z
  .discriminatedUnion('kind', [logSpecSchema, snapshotSpecSchema, metricSpecSchema])
  .superRefine((spec, ctx) => {
    if (spec.kind !== 'metric') return;
    if (spec.metric === 'tictoc') {
      if (spec.endLine === undefined)
        ctx.addIssue({ code: 'custom', path: ['endLine'], message: 'a tictoc metric needs endLine' });
      else if (spec.endLine <= spec.line)
        ctx.addIssue({ code: 'custom', path: ['endLine'], message: 'must be after line' });
    }
    if (spec.metric === 'gauge' && spec.expression === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expression'], message: 'a gauge metric needs expression' });
    }
  });
export type ActionSpec = z.infer<typeof actionSpecSchema>;
export type LogSpec = z.infer<typeof logSpecSchema>;
export type SnapshotSpec = z.infer<typeof snapshotSpecSchema>;
export type MetricSpec = z.infer<typeof metricSpecSchema>;

/** Which agents an action applies to: every agent of the pool that matches all of the given filters. */
export const targetSchema = z.object({
  /** Pool name. */
  pool: z.string().trim().min(1).max(63),
  agentIds: z.array(idSchema).max(1000).optional(),
  /** Every tag must match (`{ "region": "eu" }`). */
  tags: z.record(z.string().min(1).max(63), z.string().max(255)).optional(),
  service: z.string().trim().min(1).max(255).optional(),
});
export type Target = z.infer<typeof targetSchema>;

/**
 * Body of `POST /api/v1/actions`. Its template, condition, watch and gauge expressions are checked with the agent's
 * parser: a mistake is `INVALID_INPUT` naming the field and column, and no action is created.
 */
export const createActionBodySchema = z
  .intersection(
    actionSpecSchema,
    z.object({
      target: targetSchema,
      maxHits: z.number().int().min(1).max(MAX_MAX_HITS).optional(),
      /** Absolute expiry (epoch ms); at most 7 days ahead. Default: 1 hour. */
      expiresAt: epochMsSchema.optional(),
    }),
  )
  .superRefine((body, ctx) => {
    for (const problem of actionSyntaxProblems(body)) ctx.addIssue({ code: 'custom', ...problem });
  });
export type CreateActionBody = z.infer<typeof createActionBodySchema>;
/** What a caller may send: fields with defaults (`level`, `pipe`, `expressions`) are optional. */
export type CreateActionInput = z.input<typeof createActionBodySchema>;

// ---- statuses -----------------------------------------------------------------------------------------------------

/** Per-agent status of an action, as the agent reports it. */
export const AGENT_ACTION_STATES = ['pending', 'active', 'error', 'throttled', 'completed', 'expired'] as const;
export const agentActionStateSchema = z.enum(AGENT_ACTION_STATES);
export type AgentActionState = z.infer<typeof agentActionStateSchema>;

export const probeMethodSchema = z.enum(['patch', 'breakpoint']);
export type ProbeMethod = z.infer<typeof probeMethodSchema>;

/** Hub-side lifecycle of an action. */
export const ACTION_STATES = ['active', 'completed', 'expired'] as const;
export const actionStateSchema = z.enum(ACTION_STATES);
export type ActionState = z.infer<typeof actionStateSchema>;
