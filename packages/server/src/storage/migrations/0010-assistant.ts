import { sql, type Kysely } from 'kysely';
import type { DialectMigration, MigrationDialect } from './dialect.js';

// Frozen: never edit a released migration; add a new one.

/**
 * The assistant's memory: conversations per user, their messages in the OpenAI chat shape (tool calls and results
 * included), and facts the assistant saved for a user, with the words they are recalled by.
 */
export const assistant: DialectMigration = {
  async up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
    const bigText = sql.raw(dialect === 'mysql' ? 'longtext' : 'text');
    await db.schema
      .createTable('assistant_sessions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('title', 'varchar(200)', (c) => c.notNull())
      .addColumn('message_count', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('assistant_sessions_user')
      .on('assistant_sessions')
      .columns(['user_id', 'updated_at'])
      .execute();
    await db.schema
      .createTable('assistant_messages')
      .addColumn('session_id', 'varchar(36)', (c) =>
        c.notNull().references('assistant_sessions.id').onDelete('cascade'),
      )
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('content', bigText, (c) => c.notNull())
      .addColumn('tool_calls', bigText)
      .addColumn('tool_call_id', 'varchar(128)')
      .addColumn('name', 'varchar(64)')
      .addColumn('is_error', 'smallint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('assistant_messages_pk', ['session_id', 'seq'])
      .execute();
    await db.schema
      .createTable('assistant_facts')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('content', 'varchar(1000)', (c) => c.notNull())
      .addColumn('keywords', 'varchar(1000)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('assistant_facts_user')
      .on('assistant_facts')
      .columns(['user_id', 'created_at'])
      .execute();
  },
};
