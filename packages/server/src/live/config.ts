import { HIT_RETENTION } from '@spyglass/protocol';
import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';

const ms = z.number().int().positive();
const count = z.number().int().min(1).max(1_000_000);

/** The `live:` section of the hub configuration (live debugging). docs/configuration.md lists every key. */
export const liveConfigSchema = z
  .object({
    retention: z
      .object({
        /** Newest log lines kept per action. */
        logsPerAction: count.default(HIT_RETENTION.logsPerAction),
        /** Newest snapshots kept per action. */
        snapshotsPerAction: count.default(HIT_RETENTION.snapshotsPerAction),
        /** Metric buckets older than this are removed. */
        metricRetentionMs: ms.default(HIT_RETENTION.metricRetentionMs),
        /** Completed and expired actions (with their hits) are removed this long after they ended. */
        endedActionRetentionMs: ms.default(HIT_RETENTION.endedActionRetentionMs),
      })
      .strict()
      .prefault({}),
    /** Agents are pinged every half interval; one silent for 1.5 intervals is disconnected. */
    heartbeatIntervalMs: ms.min(1000).default(15_000),
    /** A new agent connection must send `hello` within this time. */
    helloTimeoutMs: ms.min(100).default(10_000),
    /** Agents registered in one pool; a hello that would register one more is refused (4009). */
    maxAgentsPerPool: count.default(20_000),
    /** Open agent connections of one pool on each hub replica; one more is refused (4009). */
    maxConnectionsPerPool: count.default(5_000),
    /** Agents disconnected (not seen) for longer than this are deleted; 0 keeps them forever. */
    agentRetentionMs: z
      .number()
      .int()
      .refine((n) => n === 0 || n >= 1000, { message: 'must be 0 (keep forever) or at least 1000' })
      .default(7 * 24 * 3600_000),
  })
  .strict()
  .prefault({});

export type LiveConfig = z.output<typeof liveConfigSchema>;

export const liveConfigSection: ConfigSection<typeof liveConfigSchema> = {
  key: 'live',
  schema: liveConfigSchema,
  env: [
    { env: 'SPYGLASS_LIVE_LOGS_PER_ACTION', key: 'retention.logsPerAction', parse: 'int' },
    { env: 'SPYGLASS_LIVE_SNAPSHOTS_PER_ACTION', key: 'retention.snapshotsPerAction', parse: 'int' },
    { env: 'SPYGLASS_LIVE_METRIC_RETENTION_MS', key: 'retention.metricRetentionMs', parse: 'int' },
    { env: 'SPYGLASS_LIVE_ENDED_ACTION_RETENTION_MS', key: 'retention.endedActionRetentionMs', parse: 'int' },
    { env: 'SPYGLASS_LIVE_HEARTBEAT_INTERVAL_MS', key: 'heartbeatIntervalMs', parse: 'int' },
    { env: 'SPYGLASS_LIVE_HELLO_TIMEOUT_MS', key: 'helloTimeoutMs', parse: 'int' },
    { env: 'SPYGLASS_LIVE_MAX_AGENTS_PER_POOL', key: 'maxAgentsPerPool', parse: 'int' },
    { env: 'SPYGLASS_LIVE_MAX_CONNECTIONS_PER_POOL', key: 'maxConnectionsPerPool', parse: 'int' },
    { env: 'SPYGLASS_LIVE_AGENT_RETENTION_MS', key: 'agentRetentionMs', parse: 'int' },
  ],
};
