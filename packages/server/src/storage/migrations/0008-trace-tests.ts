import { sql, type Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * Trace-based tests: resources (tests, suites, variable sets, polling profiles, data stores) with every version kept,
 * test runs and suite runs (searched columns plus one JSON text with the rest), and each run's trace as it was when
 * its assertions ran.
 */
export const traceTests: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    const bigText = sql.raw(dialect === 'mysql' ? 'longtext' : 'text');
    await db.schema
      .createTable('test_resources')
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('id', 'varchar(200)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('spec', bigText, (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'varchar(36)')
      .addPrimaryKeyConstraint('test_resources_pk', ['type', 'id'])
      .execute();
    await db.schema
      .createTable('test_resource_versions')
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('id', 'varchar(200)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('spec', bigText, (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'varchar(36)')
      .addPrimaryKeyConstraint('test_resource_versions_pk', ['type', 'id', 'version'])
      .execute();
    await db.schema
      .createTable('test_runs')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('test_id', 'varchar(200)', (c) => c.notNull())
      .addColumn('run_number', 'integer', (c) => c.notNull())
      .addColumn('test_version', 'integer', (c) => c.notNull())
      .addColumn('suite_run_id', 'varchar(36)')
      .addColumn('state', 'varchar(32)', (c) => c.notNull())
      .addColumn('trace_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('passed', 'smallint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .addColumn('created_by', 'varchar(36)')
      .addColumn('data', bigText, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('test_runs_number')
      .unique()
      .on('test_runs')
      .columns(['test_id', 'run_number'])
      .execute();
    await db.schema.createIndex('test_runs_trace').on('test_runs').columns(['trace_id']).execute();
    await db.schema.createIndex('test_runs_state').on('test_runs').columns(['state', 'updated_at']).execute();
    await db.schema
      .createTable('test_run_traces')
      .addColumn('run_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('spans', bigText, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('test_suite_runs')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('suite_id', 'varchar(200)', (c) => c.notNull())
      .addColumn('run_number', 'integer', (c) => c.notNull())
      .addColumn('suite_version', 'integer', (c) => c.notNull())
      .addColumn('state', 'varchar(32)', (c) => c.notNull())
      .addColumn('passed', 'smallint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .addColumn('created_by', 'varchar(36)')
      .addColumn('data', bigText, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('test_suite_runs_number')
      .unique()
      .on('test_suite_runs')
      .columns(['suite_id', 'run_number'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('test_suite_runs').execute();
    await db.schema.dropTable('test_run_traces').execute();
    await db.schema.dropTable('test_runs').execute();
    await db.schema.dropTable('test_resource_versions').execute();
    await db.schema.dropTable('test_resources').execute();
  },
};
