import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/**
 * Named leases held by one hub replica at a time (singleton jobs): who holds each and until when (epoch ms, by the
 * holder's clock).
 */
export const leases: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('leases')
      .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(200)', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('leases').execute();
  },
};
