import { z } from 'zod';
import { captureLimitsSchema } from './actions.js';
import { checkLinearPattern } from './linear-pattern.js';

export { matchesBlocklist } from './blocklist.js';

/**
 * Agent policy of a pool: set centrally in the hub, pushed to every agent of the pool at once (and cached by each agent
 * on disk for starts while the hub is unreachable). The agent's own settings can only tighten it: rules add up, limits
 * take the smaller value. See docs/agent.md, "Pool policy".
 */

export const POLICY_LIMITS = {
  maxRedactNames: 200,
  maxRedactValues: 100,
  maxBlocklist: 200,
} as const;

/** A redaction value pattern: a regular expression that runs in linear time (see `checkLinearPattern`). */
export const redactionPatternSchema = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((p, ctx) => {
    try {
      checkLinearPattern(p);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** A file blocklist entry: a glob (`secrets/**`, `*.key.ts`, `src/auth/?.ts`) or a plain path fragment. */
export const blocklistEntrySchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(1024)
  .refine((g) => !g.includes('\n'), 'must be one line');

const pct = z.number().positive().max(100);
const perSecond = z.number().int().positive();

const limit = captureLimitsSchema.shape;

/**
 * The policy schema, strict (unknown fields refused: what an admin sends, so a typo is an error) or lenient (unknown
 * fields dropped: what an agent or an older hub reads, so a field added later never costs the rest of the policy).
 */
function policySchema<const Strict extends boolean>(strict: Strict) {
  const object = <T extends z.core.$ZodLooseShape>(shape: T) =>
    (strict ? z.strictObject(shape) : z.object(shape)) as Strict extends true
      ? z.ZodObject<T, z.core.$strict>
      : z.ZodObject<T, z.core.$strip>;
  /** CPU and log quotas: the most the agent may use (the agent's own settings may only be lower). */
  const quotas = object({
    /** Share of one CPU the agent may use over all actions (percent). */
    cpuBudgetPct: pct.optional(),
    /** Share of one CPU one action may use (percent). */
    actionCpuBudgetPct: pct.optional(),
    maxLogsPerSecond: perSecond.optional(),
    maxLogsPerSecondPerAction: perSecond.optional(),
    maxLogBytesPerSecond: perSecond.optional(),
  });
  /**
   * Ceilings on what a snapshot captures: an action asking for more gets these. The fields and bounds of an action's
   * `limits`, without their defaults (a ceiling left out is no ceiling).
   */
  const capture = object({
    maxFrames: limit.maxFrames.unwrap().optional(),
    maxExpandedFrames: limit.maxExpandedFrames.unwrap().optional(),
    maxDepth: limit.maxDepth.unwrap().optional(),
    maxProperties: limit.maxProperties.unwrap().optional(),
    maxStringLength: limit.maxStringLength.unwrap().optional(),
    maxArrayItems: limit.maxArrayItems.unwrap().optional(),
    maxBytes: limit.maxBytes.unwrap().optional(),
  });
  const policy = object({
    redaction: object({
      /** Name fragments: a variable or property whose name contains one is redacted (case and `_-. ` ignored). */
      names: z.array(z.string().trim().min(1).max(128)).max(POLICY_LIMITS.maxRedactNames).default([]),
      /** Value patterns (linear-time regular expressions): matching parts of every captured string are redacted. */
      values: z.array(redactionPatternSchema).max(POLICY_LIMITS.maxRedactValues).default([]),
      /** Keep the agent's built-in rules (passwords, tokens, card numbers…); agents may not turn them off. */
      defaults: z.boolean().default(true),
    }).default({ names: [], values: [], defaults: true }),
    /** Files no action may instrument and source browsing never shows. */
    blocklist: z.array(blocklistEntrySchema).max(POLICY_LIMITS.maxBlocklist).default([]),
    quotas: quotas.default({}),
    capture: capture.default({}),
  });
  return { quotas, capture, policy };
}

const strictPolicy = policySchema(true);
const lenientPolicy = policySchema(false);

export const policyQuotasSchema = strictPolicy.quotas;
export type PolicyQuotas = z.infer<typeof policyQuotasSchema>;
export const policyCaptureSchema = strictPolicy.capture;
export type PolicyCapture = z.infer<typeof policyCaptureSchema>;

/** A pool policy as an admin sets it: unknown fields are refused. */
export const poolPolicySchema = strictPolicy.policy;
export type PoolPolicy = z.output<typeof poolPolicySchema>;
export type PoolPolicyInput = z.input<typeof poolPolicySchema>;
/** The same rules as stored and sent to agents: fields this version does not know are dropped, not fatal. */
export const storedPoolPolicySchema = lenientPolicy.policy;

/** A pool's policy as stored and sent: the rules with a revision that grows with each change. */
export const poolPolicyRecordSchema = z.object({
  pool: z.string(),
  /** 0: no policy was ever set (the rules are the empty policy). */
  revision: z.number().int().nonnegative(),
  updatedAt: z.number().int().nonnegative().nullable(),
  updatedBy: z.string().nullable(),
  policy: storedPoolPolicySchema,
});
export type PoolPolicyRecord = z.infer<typeof poolPolicyRecordSchema>;

/** The policy as it travels to an agent (in `welcome` and `policy` frames). */
export const wirePolicySchema = z.object({
  pool: z.string().max(64),
  revision: z.number().int().nonnegative(),
  policy: storedPoolPolicySchema,
});
export type WirePolicy = z.infer<typeof wirePolicySchema>;
