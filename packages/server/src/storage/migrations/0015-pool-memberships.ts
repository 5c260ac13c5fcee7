import type { Kysely, Migration } from 'kysely';

// Frozen: never edit a released migration; add a new one.

/**
 * Roles per pool: a user holds at most one role in each pool (`viewer`, `developer` or `admin`), besides the global
 * role on `users.role` (which may now be `none`: the user sees only the pools they are a member of). `source` says
 * who granted it (`manual` for an admin, a provider name for a mapping from single sign-on).
 */
export const poolMemberships: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('pool_memberships')
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('pool_id', 'varchar(36)', (c) => c.notNull().references('pools.id').onDelete('cascade'))
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('source', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('pool_memberships_pk', ['user_id', 'pool_id'])
      .execute();
    await db.schema.createIndex('pool_memberships_pool').on('pool_memberships').column('pool_id').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('pool_memberships').execute();
  },
};
