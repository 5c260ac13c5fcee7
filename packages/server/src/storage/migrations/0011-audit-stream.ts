import type { Kysely } from 'kysely';
import type { DialectMigration } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * Audit streaming: one row per configured sink with the id of the last audit event it acknowledged (`audit_events.id`
 * is the order events are sent in, see ADR 0011), and what the status operation shows of it.
 */
export const auditStream: DialectMigration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('audit_stream_cursors')
      .addColumn('sink', 'varchar(100)', (c) => c.primaryKey())
      .addColumn('last_id', 'bigint', (c) => c.notNull())
      .addColumn('sent', 'bigint', (c) => c.notNull())
      .addColumn('skipped', 'bigint', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('last_success_at', 'bigint')
      .addColumn('last_error', 'varchar(1000)')
      .addColumn('last_error_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('audit_stream_cursors').execute();
  },
};
