import { z } from 'zod';
import { resourceSchema, RESOURCE_TYPES } from './resources/schema.js';

/** Runs of trace-based tests and suites, as the hub stores and answers them. */

export const RUN_STATES = [
  'CREATED',
  'EXECUTING',
  'AWAITING_TRACE',
  'AWAITING_TEST_RESULTS',
  'FINISHED',
  'TRIGGER_FAILED',
  'TRACE_FAILED',
  'STOPPED',
] as const;
export const runStateSchema = z.enum(RUN_STATES);
export type RunState = z.infer<typeof runStateSchema>;
/** States a run does not leave. */
export const FINAL_RUN_STATES: readonly RunState[] = ['FINISHED', 'TRIGGER_FAILED', 'TRACE_FAILED', 'STOPPED'];
export function isFinalRunState(state: RunState): boolean {
  return FINAL_RUN_STATES.includes(state);
}

export const SUITE_RUN_STATES = ['CREATED', 'EXECUTING', 'FAILED', 'FINISHED', 'STOPPED'] as const;
export const suiteRunStateSchema = z.enum(SUITE_RUN_STATES);
export type SuiteRunState = z.infer<typeof suiteRunStateSchema>;

export const assertionSpanResultSchema = z.object({
  spanId: z.string().nullable(),
  observed: z.string(),
  passed: z.boolean(),
  error: z.string().optional(),
});
export const assertionResultSchema = z.object({
  assertion: z.string(),
  passed: z.boolean(),
  spans: z.array(assertionSpanResultSchema),
});
export const specResultSchema = z.object({
  index: z.number().int(),
  selector: z.string(),
  name: z.string().optional(),
  spanIds: z.array(z.string()),
  passed: z.boolean(),
  assertions: z.array(assertionResultSchema),
});
export type SpecResultData = z.infer<typeof specResultSchema>;
export const outputResultSchema = z.object({
  name: z.string(),
  value: z.string(),
  spanId: z.string().nullable(),
  error: z.string().optional(),
});

/** A variable as a run used it; secret values are never answered (`value` is `""`, `type: "secret"`). */
export const runVariableSchema = z.object({ key: z.string(), value: z.string(), type: z.enum(['raw', 'secret']) });
export type RunVariable = z.infer<typeof runVariableSchema>;

export const triggerResultSchema = z.object({
  type: z.enum(['http', 'grpc', 'traceid', 'kafka']),
  /** What was sent (secrets masked): `GET http://…`, `shop.Orders/Create @ 127.0.0.1:50051`. */
  target: z.string(),
  /** HTTP status or gRPC status code. */
  status: z.number().int().nullable(),
  headers: z.array(z.object({ key: z.string(), value: z.string() })),
  body: z.string(),
  bodyTruncated: z.boolean(),
  durationMs: z.number(),
});
export type TriggerResult = z.infer<typeof triggerResultSchema>;

export const testRunSchema = z.object({
  id: z.string(),
  testId: z.string(),
  testName: z.string(),
  testVersion: z.number().int(),
  /** 1, 2, 3… per test. */
  runNumber: z.number().int(),
  suiteRunId: z.string().nullable(),
  state: runStateSchema,
  traceId: z.string(),
  /** The span the trigger wrote (the run's root). */
  triggerSpanId: z.string(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  lastError: z.string().nullable(),
  trigger: triggerResultSchema.nullable(),
  outputs: z.array(outputResultSchema),
  /** Per spec, per assertion, per span; null until the run has assertions' results. */
  results: z.array(specResultSchema).nullable(),
  /** null until FINISHED; then whether every spec passed. */
  passed: z.boolean().nullable(),
  variables: z.array(runVariableSchema),
  spanCount: z.number().int(),
  timings: z.object({ triggerMs: z.number(), traceMs: z.number(), assertMs: z.number() }),
  createdBy: z.string().nullable(),
});
export type TestRun = z.infer<typeof testRunSchema>;

export const suiteRunSchema = z.object({
  id: z.string(),
  suiteId: z.string(),
  suiteName: z.string(),
  suiteVersion: z.number().int(),
  runNumber: z.number().int(),
  state: suiteRunStateSchema,
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  lastError: z.string().nullable(),
  steps: z.array(testRunSchema),
  passed: z.boolean().nullable(),
  variables: z.array(runVariableSchema),
});
export type SuiteRun = z.infer<typeof suiteRunSchema>;

/** A stored resource: the normalised definition with its version. */
export const storedResourceSchema = z.object({
  type: z.enum(RESOURCE_TYPES),
  id: z.string(),
  name: z.string(),
  version: z.number().int(),
  /** The normalised resource (VariableSet secrets blanked). */
  resource: resourceSchema,
  createdAt: z.number(),
  updatedAt: z.number(),
  updatedBy: z.string().nullable(),
});
export type StoredResource = z.infer<typeof storedResourceSchema>;

export const testSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  version: z.number().int(),
  triggerType: z.string(),
  specCount: z.number().int(),
  updatedAt: z.number(),
  lastRun: z
    .object({
      runNumber: z.number().int(),
      state: runStateSchema,
      passed: z.boolean().nullable(),
      createdAt: z.number(),
      traceId: z.string(),
    })
    .nullable(),
});
export type TestSummary = z.infer<typeof testSummarySchema>;

export const applyBodySchema = z.object({
  /** Applied together: all or nothing. */
  resources: z.array(resourceSchema).min(1).max(500),
  /** Check only (what `spyglass apply --dry-run` and the console's editor ask). */
  dryRun: z.boolean().default(false),
});
export const applyResultSchema = z.object({
  items: z.array(
    z.object({
      type: z.enum(RESOURCE_TYPES),
      id: z.string(),
      name: z.string(),
      version: z.number().int(),
      outcome: z.enum(['created', 'updated', 'unchanged']),
    }),
  ),
});
export type ApplyResult = z.infer<typeof applyResultSchema>;

export const runBodySchema = z.object({
  /** Id of a stored VariableSet. */
  variableSetId: z.string().optional(),
  /** Variables sent with the run (win over the set's); `type: secret` is never shown back. */
  variables: z
    .array(z.object({ key: z.string().min(1), value: z.string(), type: z.enum(['raw', 'secret']).default('raw') }))
    .max(500)
    .default([]),
});
export type RunBody = z.infer<typeof runBodySchema>;
