import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';
import { DEFAULT_SPAN_LIMITS } from './span-data.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const limit = (max: number) => z.number().int().min(1).max(max);

/** The `traces:` section of the hub configuration (the span store). docs/configuration.md lists every key. */
export const tracesConfigSchema = z
  .object({
    retention: z
      .object({
        /** Spans are removed this long after they arrived. */
        maxAgeMs: z
          .number()
          .int()
          .min(60_000)
          .default(7 * DAY_MS),
        /** The oldest spans are removed while the store holds more than this (bytes, as the store counts them). */
        maxBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(10 * 1024 * 1024 * 1024),
        /** How often the retention sweep runs. */
        sweepIntervalMs: z.number().int().min(1000).default(60_000),
      })
      .strict()
      .prefault({}),
    /** Spans accepted and not yet stored, at most; past it senders are told to retry (HTTP 503, gRPC UNAVAILABLE). */
    maxQueuedSpans: z.number().int().min(1000).max(10_000_000).default(100_000),
    limits: z
      .object({
        /** Attributes kept per span, event and link; the rest are counted as dropped. */
        maxAttributes: limit(10_000).default(DEFAULT_SPAN_LIMITS.maxAttributes),
        /** Longest string attribute value kept (characters); longer ones are cut. */
        maxAttributeValueLength: limit(1_000_000).default(DEFAULT_SPAN_LIMITS.maxAttributeValueLength),
        maxEvents: limit(10_000).default(DEFAULT_SPAN_LIMITS.maxEvents),
        maxLinks: limit(10_000).default(DEFAULT_SPAN_LIMITS.maxLinks),
        /** Spans one trace read returns at most. */
        maxSpansPerTrace: limit(1_000_000).default(50_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type TracesConfig = z.output<typeof tracesConfigSchema>;

export const tracesConfigSection: ConfigSection<typeof tracesConfigSchema> = {
  key: 'traces',
  schema: tracesConfigSchema,
  env: [
    { env: 'SPYGLASS_TRACES_RETENTION_MS', key: 'retention.maxAgeMs', parse: 'int' },
    { env: 'SPYGLASS_TRACES_MAX_BYTES', key: 'retention.maxBytes', parse: 'int' },
    { env: 'SPYGLASS_TRACES_MAX_QUEUED_SPANS', key: 'maxQueuedSpans', parse: 'int' },
    { env: 'SPYGLASS_TRACES_MAX_ATTRIBUTES', key: 'limits.maxAttributes', parse: 'int' },
    { env: 'SPYGLASS_TRACES_MAX_ATTRIBUTE_VALUE_LENGTH', key: 'limits.maxAttributeValueLength', parse: 'int' },
  ],
};

/** The retention bucket width for a maximum age: an hour at most, a second at least, ~1/24 of the age. */
export function bucketMsFor(maxAgeMs: number): number {
  return Math.min(3_600_000, Math.max(1000, Math.floor(maxAgeMs / 24 / 1000) * 1000));
}
