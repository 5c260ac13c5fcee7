import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/** When a key past its free sign-in attempts may try again (the progressive delay; 0: at once). */
export const loginDelays: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .alterTable('login_failures')
      .addColumn('next_at', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('login_failures').dropColumn('next_at').execute();
  },
};
