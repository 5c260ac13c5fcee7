import { z } from 'zod';

/**
 * Trace-test resources in their normalised form: what the parser (`parse.ts`) produces from Tracetest's YAML or JSON
 * (aliases and legacy forms mapped), what the hub stores, and what its operations accept. Field names are
 * Tracetest's. Spyglass's extensions (`probes`, `runner`) are optional, so a plain Tracetest file stays valid.
 */

const keyValueSchema = z.object({ key: z.string(), value: z.string() });

export const HTTP_METHODS = [
  'GET',
  'PUT',
  'POST',
  'PATCH',
  'DELETE',
  'COPY',
  'HEAD',
  'OPTIONS',
  'LINK',
  'UNLINK',
  'PURGE',
  'LOCK',
  'UNLOCK',
  'PROPFIND',
  'VIEW',
] as const;

export const httpAuthSchema = z.object({
  type: z.enum(['apiKey', 'basic', 'bearer']),
  apiKey: z
    .object({ key: z.string(), value: z.string(), in: z.enum(['header', 'query']).default('header') })
    .optional(),
  basic: z.object({ username: z.string(), password: z.string() }).optional(),
  bearer: z.object({ token: z.string() }).optional(),
});
export type HttpAuth = z.infer<typeof httpAuthSchema>;

export const httpRequestSchema = z.object({
  url: z.string().min(1),
  method: z.enum(HTTP_METHODS).default('GET'),
  headers: z.array(keyValueSchema).default([]),
  body: z.string().optional(),
  auth: httpAuthSchema.optional(),
  /** Verify the target's TLS certificate. Tracetest's default is false (not verified); so is ours, for compatibility. */
  sslVerification: z.boolean().default(false),
});

export const grpcRequestSchema = z.object({
  /** The .proto text (a file the CLI read, or inline text). */
  protobufFile: z.string().min(1),
  address: z.string().min(1),
  service: z.string().optional(),
  /** `package.Service.Method`. */
  method: z.string().min(1),
  metadata: z.array(keyValueSchema).default([]),
  auth: httpAuthSchema.optional(),
  /** The request message as JSON text. */
  request: z.string().optional(),
});

export const kafkaRequestSchema = z.object({
  brokerUrls: z.array(z.string()).min(1),
  topic: z.string().min(1),
  headers: z.array(keyValueSchema).default([]),
  messageKey: z.string().optional(),
  messageValue: z.string().optional(),
  authentication: z
    .object({ type: z.literal('plain'), plain: z.object({ username: z.string(), password: z.string() }) })
    .optional(),
  sslVerification: z.boolean().default(false),
});

export const triggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('http'), httpRequest: httpRequestSchema }),
  z.object({ type: z.literal('grpc'), grpc: grpcRequestSchema }),
  z.object({ type: z.literal('traceid'), traceid: z.object({ id: z.string().min(1) }) }),
  z.object({ type: z.literal('kafka'), kafka: kafkaRequestSchema }),
]);
export type Trigger = z.infer<typeof triggerSchema>;

export const specSchema = z.object({
  /** Empty (or not written, as Tracetest's Go decoder reads it) selects every span. */
  selector: z.string().default(''),
  name: z.string().optional(),
  assertions: z.array(z.string()).min(1),
});
export type TestSpecItem = z.infer<typeof specSchema>;

export const outputSchema = z.object({
  name: z.string().regex(/^[A-Za-z_0-9][A-Za-z_0-9.]*$/, 'must be letters, digits, "_" or "."'),
  selector: z.string().default(''),
  value: z.string(),
});
export type TestOutput = z.infer<typeof outputSchema>;

/**
 * Spyglass's extension: a snapshot or log action a run places on `file:line` of a service that runs a Spyglass agent,
 * live only while the run lasts and only for the run's trace; what it captures becomes span events (ADR 0006).
 */
export const probeSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z_0-9]*$/, 'must be an identifier'),
  service: z.string().min(1),
  /** `path/to/file.ts:42`. */
  location: z.string().regex(/^.+:\d+$/, 'must be file:line'),
  kind: z.enum(['snapshot', 'log']).default('snapshot'),
  /** Snapshot: expressions to capture (default: locals). Log: the template. */
  expressions: z.array(z.string()).default([]),
  template: z.string().optional(),
  condition: z.string().optional(),
});
export type Probe = z.infer<typeof probeSchema>;

export const testSpecSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  trigger: triggerSchema,
  specs: z.array(specSchema).default([]),
  outputs: z.array(outputSchema).default([]),
  /** Id of a PollingProfile (the default profile when absent). */
  pollingProfile: z.string().optional(),
  skipTraceCollection: z.boolean().default(false),
  probes: z.array(probeSchema).default([]),
  /**
   * Spyglass's extension: the remote runner (`spyglass runner --name …`) that sends the trigger from inside the app's
   * network; absent, the hub sends it.
   */
  runner: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lower-case letters, digits, ".", "_" or "-"')
    .optional(),
});
export type TestSpec = z.infer<typeof testSpecSchema>;

export const testSuiteSpecSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  /** Test ids, in order (the CLI turns step file paths into the ids of the tests it applied). */
  steps: z.array(z.string().min(1)).min(1),
});
export type TestSuiteSpec = z.infer<typeof testSuiteSpecSchema>;

export const variableSetSpecSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  values: z.array(
    z.object({ key: z.string().min(1), value: z.string(), type: z.enum(['raw', 'secret']).default('raw') }),
  ),
});
export type VariableSetSpec = z.infer<typeof variableSetSpecSchema>;

export const pollingProfileSpecSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  default: z.boolean().default(false),
  strategy: z.literal('periodic').default('periodic'),
  periodic: z.object({
    /** Go durations as Tracetest writes them: `500ms`, `5s`, `1m`. */
    retryDelay: z.string(),
    timeout: z.string(),
    selectorMatchRetries: z.number().int().nonnegative().optional(),
  }),
});
export type PollingProfileSpec = z.infer<typeof pollingProfileSpecSchema>;

/** A backend connection's TLS settings, as Tracetest writes them (Tempo's too: its own example sets `insecure`). */
const tlsSchema = z.object({ insecure: z.boolean().optional(), insecureSkipVerify: z.boolean().optional() }).optional();

export const DATA_STORE_TYPES = ['otlp', 'jaeger', 'tempo'] as const;
export const dataStoreSpecSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  type: z.enum(DATA_STORE_TYPES),
  default: z.boolean().default(false),
  jaeger: z
    .object({
      /** gRPC `host:port` (Tracetest's field) or an HTTP query URL. */
      endpoint: z.string().min(1),
      tls: tlsSchema,
    })
    .optional(),
  tempo: z
    .object({
      type: z.enum(['http', 'grpc']).default('http'),
      http: z
        .object({ url: z.string().min(1), headers: z.record(z.string(), z.string()).optional(), tls: tlsSchema })
        .optional(),
      grpc: z.object({ endpoint: z.string().min(1), tls: tlsSchema }).optional(),
    })
    .optional(),
});
export type DataStoreSpec = z.infer<typeof dataStoreSpecSchema>;

export const RESOURCE_TYPES = ['Test', 'TestSuite', 'VariableSet', 'PollingProfile', 'DataStore'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const resourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Test'), spec: testSpecSchema }),
  z.object({ type: z.literal('TestSuite'), spec: testSuiteSpecSchema }),
  z.object({ type: z.literal('VariableSet'), spec: variableSetSpecSchema }),
  z.object({ type: z.literal('PollingProfile'), spec: pollingProfileSpecSchema }),
  z.object({ type: z.literal('DataStore'), spec: dataStoreSpecSchema }),
]);
export type Resource = z.infer<typeof resourceSchema>;
