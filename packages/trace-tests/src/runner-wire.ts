import { z } from 'zod';
import { triggerSchema } from './resources/schema.js';
import { triggerResultSchema } from './run.js';

/**
 * The remote runner's protocol: JSON text frames over the WebSocket a runner opens to
 * `GET /api/v1/tests/runners/connect` (pool key as bearer token). The hub sends the triggers of tests that name the
 * runner; the runner sends them inside its network and answers with the result. Only the runner connects.
 */
export const RUNNER_PROTOCOL_VERSION = 1;
const v = z.literal(RUNNER_PROTOCOL_VERSION);

/** Runner names: what a test's `runner:` says. */
export const runnerNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lower-case letters, digits, ".", "_" or "-"');

export const runnerHelloSchema = z.object({
  type: z.literal('runner_hello'),
  v,
  name: runnerNameSchema,
  version: z.string().max(64),
  /** Where apps in the runner's network send OTLP (forwarded to the hub), for the hub's records. */
  otlpUrl: z.string().max(512).nullable(),
});
export const runnerWelcomeSchema = z.object({ type: z.literal('runner_welcome'), v, pool: z.string() });

export const triggerRequestSchema = z.object({
  type: z.literal('trigger'),
  v,
  requestId: z.string().max(64),
  /** With every `${…}` already resolved by the hub. */
  trigger: triggerSchema,
  propagation: z.record(z.string(), z.string()),
  maxBodyBytes: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
});
export type TriggerRequest = z.infer<typeof triggerRequestSchema>;

export const triggerAnswerSchema = z.object({
  type: z.literal('trigger_result'),
  v,
  requestId: z.string().max(64),
  result: triggerResultSchema.optional(),
  /** Why the trigger could not be sent (refused by the runner's network policy, unreachable…). */
  error: z.string().max(4096).optional(),
});
export type TriggerAnswer = z.infer<typeof triggerAnswerSchema>;

export const runnerFrameSchema = z.discriminatedUnion('type', [runnerHelloSchema, triggerAnswerSchema]);
export const hubToRunnerFrameSchema = z.discriminatedUnion('type', [runnerWelcomeSchema, triggerRequestSchema]);
