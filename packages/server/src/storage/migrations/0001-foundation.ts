import type { Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

function bigIntPk(dialect: MigrationDialect): 'integer' | 'bigserial' | 'bigint' {
  // SQLite needs INTEGER PRIMARY KEY for rowid aliasing; PostgreSQL uses bigserial; MySQL bigint auto_increment.
  if (dialect === 'postgres') return 'bigserial';
  if (dialect === 'mysql') return 'bigint';
  return 'integer';
}

export const foundation: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    await db.schema
      .createTable('users')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'varchar(100)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('api_tokens_user_id').on('api_tokens').column('user_id').execute();

    await db.schema
      .createTable('pools')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(63)', (c) => c.notNull().unique())
      .addColumn('key_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('key_prefix', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('key_rotated_at', 'bigint', (c) => c.notNull())
      .execute();

    const pk = bigIntPk(dialect);
    await db.schema
      .createTable('audit_events')
      .addColumn('id', pk, (c) => {
        const col = c.primaryKey();
        return pk === 'bigint' ? col.autoIncrement() : pk === 'integer' ? col.autoIncrement() : col;
      })
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('actor_id', 'varchar(64)')
      .addColumn('actor_email', 'varchar(254)')
      .addColumn('action', 'varchar(100)', (c) => c.notNull())
      .addColumn('target_type', 'varchar(50)')
      .addColumn('target_id', 'varchar(64)')
      .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
      .addColumn('status', 'integer')
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('request_id', 'varchar(64)')
      .addColumn('details', 'text')
      .execute();
    await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
    await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'id']).execute();
    await db.schema
      .createIndex('audit_events_target')
      .on('audit_events')
      .columns(['target_type', 'target_id', 'id'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    for (const t of ['audit_events', 'pools', 'api_tokens', 'sessions', 'users'])
      await db.schema.dropTable(t).execute();
  },
};
