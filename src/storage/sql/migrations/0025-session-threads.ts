import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Session threads (issue 14, multi-agent): the child threads of a session, and which thread each
 * event belongs to (null: the primary thread), so a thread's events page and stream on an index.
 */
export const sessionThreadsMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    await db.schema
      .createTable('session_threads')
      .addColumn('seq', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('parent_thread_id', 'text')
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('agent_version', 'integer', (c) => c.notNull())
      .addColumn('agent_name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('archived_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('session_threads_session_idx').on('session_threads').columns(['session_id', 'seq']).execute();
    await db.schema.alterTable('session_events').addColumn('thread_id', 'text').execute();
    await db.schema.createIndex('session_events_thread_idx').on('session_events').columns(['session_id', 'thread_id', 'seq']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('session_events_thread_idx').execute();
    await db.schema.alterTable('session_events').dropColumn('thread_id').execute();
    await db.schema.dropTable('session_threads').execute();
  },
});
