import { sql, type Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * Agents, actions, per-agent action statuses and stored hits. Key lengths stay under MySQL's 3072-byte index limit
 * with utf8mb4; large text (log messages, snapshots) uses MEDIUMTEXT on MySQL, whose TEXT stops at 64 KiB.
 */
export const liveDebugging: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    const bigText = dialect === 'mysql' ? sql`mediumtext` : sql`text`;
    const autoId = dialect === 'postgres' ? 'bigserial' : dialect === 'mysql' ? 'bigint' : 'integer';

    await db.schema
      .createTable('agents')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('pool_id', 'varchar(36)', (c) => c.notNull().references('pools.id').onDelete('cascade'))
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('service_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('service_version', 'varchar(255)')
      .addColumn('service_environment', 'varchar(255)')
      .addColumn('tags', 'text', (c) => c.notNull())
      .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('runtime_name', 'varchar(32)', (c) => c.notNull())
      .addColumn('runtime_version', 'varchar(64)', (c) => c.notNull())
      .addColumn('agent_version', 'varchar(64)', (c) => c.notNull())
      .addColumn('address', 'varchar(255)')
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('connection_id', 'varchar(36)')
      .addColumn('replica_id', 'varchar(64)')
      .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('connected_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('disconnected_at', 'bigint')
      .addColumn('log_hits', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('snapshot_hits', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('metric_hits', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('dropped_hits', 'bigint', (c) => c.notNull().defaultTo(0))
      .addUniqueConstraint('agents_pool_instance', ['pool_id', 'instance_id'])
      .execute();
    await db.schema.createIndex('agents_pool_service').on('agents').columns(['pool_id', 'service_name']).execute();
    await db.schema.createIndex('agents_status_seen').on('agents').columns(['status', 'last_seen_at']).execute();

    await db.schema
      .createTable('agent_tags')
      .addColumn('agent_id', 'varchar(36)', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('tag_key', 'varchar(63)', (c) => c.notNull())
      .addColumn('tag_value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('agent_tags_pk', ['agent_id', 'tag_key'])
      .execute();
    await db.schema.createIndex('agent_tags_kv').on('agent_tags').columns(['tag_key', 'tag_value']).execute();

    await db.schema
      .createTable('actions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('pool_id', 'varchar(36)', (c) => c.notNull().references('pools.id').onDelete('cascade'))
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('target_agent_ids', 'text')
      .addColumn('target_tags', 'text')
      .addColumn('target_service', 'varchar(255)')
      .addColumn('max_hits', 'bigint', (c) => c.notNull())
      .addColumn('hit_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'varchar(36)')
      .addColumn('ended_at', 'bigint')
      .execute();
    await db.schema.createIndex('actions_state_pool').on('actions').columns(['state', 'pool_id']).execute();
    await db.schema.createIndex('actions_created').on('actions').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('actions_state_ended').on('actions').columns(['state', 'ended_at']).execute();
    await db.schema.createIndex('actions_state_expires').on('actions').columns(['state', 'expires_at']).execute();

    await db.schema
      .createTable('action_agents')
      .addColumn('action_id', 'varchar(36)', (c) => c.notNull().references('actions.id').onDelete('cascade'))
      .addColumn('agent_id', 'varchar(36)', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('method', 'varchar(16)')
      .addColumn('reason', 'text')
      .addColumn('location', 'text')
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('hits', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('action_agents_pk', ['action_id', 'agent_id'])
      .execute();
    await db.schema.createIndex('action_agents_agent').on('action_agents').column('agent_id').execute();

    await db.schema
      .createTable('log_hits')
      .addColumn('id', autoId, (c) => (autoId === 'bigserial' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('action_id', 'varchar(36)', (c) => c.notNull().references('actions.id').onDelete('cascade'))
      .addColumn('agent_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('level', 'varchar(8)', (c) => c.notNull())
      .addColumn('message', bigText, (c) => c.notNull())
      .addColumn('trace_id', 'varchar(32)')
      .addColumn('span_id', 'varchar(16)')
      .execute();
    await db.schema.createIndex('log_hits_action').on('log_hits').columns(['action_id', 'id']).execute();

    await db.schema
      .createTable('snapshot_hits')
      .addColumn('id', autoId, (c) => (autoId === 'bigserial' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('action_id', 'varchar(36)', (c) => c.notNull().references('actions.id').onDelete('cascade'))
      .addColumn('agent_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('data', bigText, (c) => c.notNull())
      .addColumn('truncated', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('trace_id', 'varchar(32)')
      .addColumn('span_id', 'varchar(16)')
      .execute();
    await db.schema.createIndex('snapshot_hits_action').on('snapshot_hits').columns(['action_id', 'id']).execute();

    await db.schema
      .createTable('metric_buckets')
      .addColumn('action_id', 'varchar(36)', (c) => c.notNull().references('actions.id').onDelete('cascade'))
      .addColumn('bucket_start', 'bigint', (c) => c.notNull())
      .addColumn('replica_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('value_count', 'bigint', (c) => c.notNull())
      .addColumn('value_sum', 'double precision', (c) => c.notNull())
      .addColumn('value_min', 'double precision')
      .addColumn('value_max', 'double precision')
      .addColumn('histogram', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('metric_buckets_pk', ['action_id', 'bucket_start', 'replica_id'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    for (const t of [
      'metric_buckets',
      'snapshot_hits',
      'log_hits',
      'action_agents',
      'actions',
      'agent_tags',
      'agents',
    ]) {
      await db.schema.dropTable(t).execute();
    }
  },
};
