import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/**
 * Failed sign-ins per key (`ip:<address>` or `account:<email>`) in a fixed window, shared by every hub replica
 * through the database, so spreading attempts over replicas gains nothing.
 */
export const loginFailures: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('login_failures')
      .addColumn('limit_key', 'varchar(400)', (c) => c.primaryKey())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_failures_window_start').on('login_failures').column('window_start').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('login_failures').execute();
  },
};
