import { sql, type Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/** The agent policy of a pool (JSON rules), with a revision that grows with each change; gone with its pool. */
export const poolPolicies: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    const bigText = sql.raw(dialect === 'mysql' ? 'longtext' : 'text');
    await db.schema
      .createTable('pool_policies')
      .addColumn('pool_id', 'varchar(36)', (c) => c.primaryKey().references('pools.id').onDelete('cascade'))
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('policy', bigText, (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'varchar(36)')
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('pool_policies').execute();
  },
};
