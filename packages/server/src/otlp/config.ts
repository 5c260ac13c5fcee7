import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';

const port = z.number().int().min(0).max(65535);

/** The `otlp:` section: the OpenTelemetry receivers. docs/configuration.md lists every key. */
export const otlpConfigSchema = z
  .object({
    /** OTLP/HTTP listener (`POST /v1/traces`); 0 turns it off (the hub's own port still takes `/v1/traces`). */
    httpPort: port.default(4318),
    /** OTLP/gRPC listener (`TraceService/Export`); 0 turns it off. */
    grpcPort: port.default(4317),
    /** Interface both listeners bind; default: the hub's `host`. */
    host: z.string().min(1).optional(),
    /** Largest request accepted, before and after gzip decompression. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
  })
  .strict()
  .prefault({});

export type OtlpConfig = z.output<typeof otlpConfigSchema>;

export const otlpConfigSection: ConfigSection<typeof otlpConfigSchema> = {
  key: 'otlp',
  schema: otlpConfigSchema,
  env: [
    { env: 'SPYGLASS_OTLP_HTTP_PORT', key: 'httpPort', parse: 'int' },
    { env: 'SPYGLASS_OTLP_GRPC_PORT', key: 'grpcPort', parse: 'int' },
    { env: 'SPYGLASS_OTLP_HOST', key: 'host', parse: 'string' },
    { env: 'SPYGLASS_OTLP_MAX_BODY_BYTES', key: 'maxBodyBytes', parse: 'int' },
  ],
};
