import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/** The Node.js worker thread an agent runs in (0: the main thread), so agents of one process tell apart. */
export const agentThread: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .alterTable('agents')
      .addColumn('thread_id', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('agents').dropColumn('thread_id').execute();
  },
};
