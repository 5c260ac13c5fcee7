import { sql, type Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * Kubernetes object tracing: objects (keyed by a hash of cluster/group/resource/namespace/name), who owns whom, the
 * entries recorded per object (audit entries, Events, diffs; deduplicated by a key per object), each object's last
 * version (for the next diff) and the watchers' resume points.
 */
export const k8s: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    const bigText = sql.raw(dialect === 'mysql' ? 'longtext' : 'text');
    await db.schema
      .createTable('k8s_objects')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('cluster', 'varchar(63)', (c) => c.notNull())
      .addColumn('api_group', 'varchar(253)', (c) => c.notNull())
      .addColumn('resource', 'varchar(253)', (c) => c.notNull())
      .addColumn('namespace', 'varchar(63)', (c) => c.notNull())
      .addColumn('name', 'varchar(253)', (c) => c.notNull())
      .addColumn('kind', 'varchar(100)', (c) => c.notNull())
      .addColumn('uid', 'varchar(64)')
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('owners', 'text', (c) => c.notNull())
      .addColumn('first_seen_us', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_us', 'bigint', (c) => c.notNull())
      .addColumn('deleted', 'smallint', (c) => c.notNull())
      .addColumn('redacted', 'smallint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('k8s_objects_lookup')
      .on('k8s_objects')
      .columns(['cluster', 'resource', 'namespace'])
      .execute();
    await db.schema.createIndex('k8s_objects_seen').on('k8s_objects').columns(['last_seen_us']).execute();
    await db.schema
      .createTable('k8s_owner_links')
      .addColumn('child_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('parent_id', 'varchar(32)', (c) => c.notNull())
      .addPrimaryKeyConstraint('k8s_owner_links_pk', ['child_id', 'parent_id'])
      .execute();
    await db.schema.createIndex('k8s_owner_links_parent').on('k8s_owner_links').columns(['parent_id']).execute();
    await db.schema
      .createTable('k8s_entries')
      .addColumn('object_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('entry_key', 'varchar(140)', (c) => c.notNull())
      .addColumn('type', 'varchar(8)', (c) => c.notNull())
      .addColumn('start_us', 'bigint', (c) => c.notNull())
      .addColumn('end_us', 'bigint', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('username', 'varchar(255)')
      .addColumn('verb', 'varchar(32)')
      .addColumn('code', 'integer')
      .addColumn('data', bigText, (c) => c.notNull())
      .addPrimaryKeyConstraint('k8s_entries_pk', ['object_id', 'entry_key'])
      .execute();
    await db.schema.createIndex('k8s_entries_time').on('k8s_entries').columns(['object_id', 'start_us']).execute();
    await db.schema.createIndex('k8s_entries_age').on('k8s_entries').columns(['start_us']).execute();
    await db.schema.createIndex('k8s_entries_user').on('k8s_entries').columns(['username']).execute();
    await db.schema
      .createTable('k8s_object_state')
      .addColumn('object_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('resource_version', 'varchar(64)', (c) => c.notNull())
      .addColumn('body', bigText, (c) => c.notNull())
      .addColumn('updated_us', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('k8s_checkpoints')
      .addColumn('cluster', 'varchar(63)', (c) => c.notNull())
      .addColumn('watch', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource_version', 'varchar(64)', (c) => c.notNull())
      .addColumn('updated_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('k8s_checkpoints_pk', ['cluster', 'watch'])
      .execute();
  },
};
