import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/** The hash of each agent's session credential, which a reconnect under the same instance id must present. */
export const agentSessions: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('agents').addColumn('session_hash', 'varchar(64)').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('agents').dropColumn('session_hash').execute();
  },
};
