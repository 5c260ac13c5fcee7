import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_DENIED_NETWORKS } from '@spyglass/trace-tests/node';
import type { ConfigSection } from '../platform/module.js';

/** A CIDR block (`10.0.0.0/8`, `fd00::/8`) or a single address. */
const cidrSchema = z.string().refine((s) => {
  const [addr, bits, ...rest] = s.split('/');
  if (rest.length > 0 || addr === undefined || isIP(addr) === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
}, 'must be an IP address or a CIDR block such as 10.0.0.0/8 or fd00::/8');

/** The `tests:` section of the hub configuration (trace-based tests). docs/configuration.md lists every key. */
export const testsConfigSchema = z
  .object({
    network: z
      .object({
        /**
         * When not empty, triggers and data-store polls may reach only these networks (the hub's own listeners and
         * `deny` still excluded).
         */
        allow: z.array(cidrSchema).default([]),
        /** Never reached (checked before every connection and after every redirect). */
        deny: z.array(cidrSchema).default(DEFAULT_DENIED_NETWORKS),
        /** Let triggers reach this hub's own ports (off: a test could otherwise drive the hub's API with its answer stored). */
        allowSelf: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Bytes of a trigger's answer body kept in the run (and on the trigger span); the rest is cut and said so. */
    maxResponseBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** The polling profile of tests that name none. */
    defaultPolling: z
      .object({
        timeoutMs: z.number().int().min(100).default(60_000),
        retryDelayMs: z.number().int().min(10).default(1000),
        /**
         * Polls more while some spec's selector matches nothing once the span count is stable (spans of a batch
         * exporter arrive every 5 s; 10 polls of 1 s cover one late batch).
         */
        selectorMatchRetries: z.number().int().min(0).default(10),
      })
      .strict()
      .prefault({}),
    /** Runs executing at once on this replica; more wait their turn in state CREATED. */
    maxConcurrentRuns: z.number().int().min(1).max(1000).default(20),
    /** Spans kept in a run's trace snapshot. */
    maxSnapshotSpans: z.number().int().min(10).max(100_000).default(5000),
  })
  .strict()
  .prefault({});

export type TestsConfig = z.output<typeof testsConfigSchema>;

export const testsConfigSection: ConfigSection<typeof testsConfigSchema> = {
  key: 'tests',
  schema: testsConfigSchema,
  env: [
    { env: 'SPYGLASS_TESTS_ALLOW_SELF', key: 'network.allowSelf', parse: 'bool' },
    { env: 'SPYGLASS_TESTS_MAX_CONCURRENT_RUNS', key: 'maxConcurrentRuns', parse: 'int' },
  ],
};
