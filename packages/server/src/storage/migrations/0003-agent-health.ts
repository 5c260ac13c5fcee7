import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/**
 * The agent's own health counters, from its last heartbeat: `health` holds them as JSON (CPU time spent in probes,
 * hook errors, throttles, actions in place), `health_at` when they were reported.
 */
export const agentHealth: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('agents').addColumn('health', 'text').execute();
    await db.schema.alterTable('agents').addColumn('health_at', 'bigint').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('agents').dropColumn('health_at').execute();
    await db.schema.alterTable('agents').dropColumn('health').execute();
  },
};
