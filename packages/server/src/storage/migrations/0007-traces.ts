import { sql, type Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * Distributed traces: `spans` (the searched columns plus one JSON text with the rest), `span_buckets` (spans and bytes
 * per arrival-time bucket, for retention by size without scanning spans), `span_operations` (service and span names
 * seen). On PostgreSQL `spans` is partitioned by arrival time (`ingested_ms`), so retention drops whole partitions;
 * the store creates the partitions; a default partition takes rows no partition covers. Live-debugging hits get an
 * index on their trace id so a trace can show the hits recorded inside it.
 */
export const traces: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    const bigText = dialect === 'mysql' ? 'mediumtext' : 'text';
    if (dialect === 'postgres') {
      await sql`create table spans (
        id bigserial not null,
        trace_id varchar(32) not null,
        span_id varchar(16) not null,
        parent_span_id varchar(16),
        service varchar(255) not null,
        name varchar(255) not null,
        kind smallint not null,
        status smallint not null,
        start_us bigint not null,
        duration_us bigint not null,
        ingested_ms bigint not null,
        pool_id varchar(36),
        bytes integer not null,
        data text not null
      ) partition by range (ingested_ms)`.execute(db);
      await sql`create table spans_default partition of spans default`.execute(db);
    } else {
      await db.schema
        .createTable('spans')
        .addColumn('id', dialect === 'mysql' ? 'bigint' : 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('trace_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('span_id', 'varchar(16)', (c) => c.notNull())
        .addColumn('parent_span_id', 'varchar(16)')
        .addColumn('service', 'varchar(255)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('kind', 'smallint', (c) => c.notNull())
        .addColumn('status', 'smallint', (c) => c.notNull())
        .addColumn('start_us', 'bigint', (c) => c.notNull())
        .addColumn('duration_us', 'bigint', (c) => c.notNull())
        .addColumn('ingested_ms', 'bigint', (c) => c.notNull())
        .addColumn('pool_id', 'varchar(36)')
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('data', sql.raw(bigText), (c) => c.notNull())
        .execute();
    }
    await db.schema.createIndex('spans_trace').on('spans').columns(['trace_id']).execute();
    await db.schema.createIndex('spans_start').on('spans').columns(['start_us']).execute();
    await db.schema.createIndex('spans_service').on('spans').columns(['service', 'start_us']).execute();

    await db.schema
      .createTable('span_buckets')
      .addColumn('bucket_ms', 'bigint', (c) => c.primaryKey())
      .addColumn('spans', 'bigint', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('span_operations')
      .addColumn('service', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('kind', 'smallint', (c) => c.notNull())
      .addColumn('last_seen_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('span_operations_pk', ['service', 'name', 'kind'])
      .execute();

    await db.schema.createIndex('log_hits_trace').on('log_hits').columns(['trace_id']).execute();
    await db.schema.createIndex('snapshot_hits_trace').on('snapshot_hits').columns(['trace_id']).execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropIndex('snapshot_hits_trace').on('snapshot_hits').execute();
    await db.schema.dropIndex('log_hits_trace').on('log_hits').execute();
    await db.schema.dropTable('span_operations').execute();
    await db.schema.dropTable('span_buckets').execute();
    await db.schema.dropTable('spans').execute();
  },
};
