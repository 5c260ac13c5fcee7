import type { Kysely } from 'kysely';
import type { DialectMigration } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * Single sign-on: which provider account belongs to which user (`sso_identities`), and the sign-ins in flight
 * (`sso_pending`: a browser at the provider, a one-time code for the CLI, a device-code sign-in), keyed by the SHA-256
 * of their secret so every replica can finish what another started.
 */
export const sso: DialectMigration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('sso_identities')
      .addColumn('provider', 'varchar(64)', (c) => c.notNull())
      .addColumn('subject', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_login_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('sso_identities_pk', ['provider', 'subject'])
      .execute();
    await db.schema.createIndex('sso_identities_user').on('sso_identities').column('user_id').execute();
    await db.schema
      .createTable('sso_pending')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('provider', 'varchar(64)', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sso_pending_expires').on('sso_pending').column('expires_at').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('sso_pending').execute();
    await db.schema.dropTable('sso_identities').execute();
  },
};
