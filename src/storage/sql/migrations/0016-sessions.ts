import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Sessions (issue 14): a session per row (status, the runtime worker's lease, the last event
 * sequence) and its events in order, numbered 1, 2, 3, … within the session.
 */
export const sessionsMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    await db.schema
      .createTable('sessions')
      .addColumn('seq', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('agent_version', 'integer', (c) => c.notNull())
      .addColumn('environment_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('title', 'text')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('event_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('archived_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_account_idx').on('sessions').columns(['account_id', 'seq']).execute();
    await db.schema.createIndex('sessions_status_idx').on('sessions').columns(['status', 'lease_until']).execute();
    await db.schema
      .createTable('session_events')
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('session_events_pk', ['session_id', 'seq'])
      .execute();
    await db.schema.createIndex('session_events_id_idx').on('session_events').columns(['session_id', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('session_events').execute();
    await db.schema.dropTable('sessions').execute();
  },
});
