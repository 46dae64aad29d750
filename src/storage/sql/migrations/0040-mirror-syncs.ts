import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Sync jobs of mirrors (issue 18, part 1): one row per job, leased by the worker driving it
 * (`SqlLeasedJobs`), with its progress, its checkpoint (where a new run takes up) and its report.
 * A partial unique index keeps one active (queued or running) job per mirror.
 */
export const mirrorSyncsMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    await db.schema
      .createTable('mirror_syncs')
      .addColumn('seq', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('mirror', 'text', (c) => c.notNull().references('mirrors.name').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('filter', 'text')
      .addColumn('phase', 'text', (c) => c.notNull())
      .addColumn('done', 'integer', (c) => c.notNull())
      .addColumn('total', 'integer')
      .addColumn('checkpoint', 'text')
      .addColumn('report', 'text')
      .addColumn('error', 'text')
      .addColumn('resumed_from', 'text')
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('mirror_syncs_mirror_idx').on('mirror_syncs').columns(['mirror', 'seq']).execute();
    await db.schema.createIndex('mirror_syncs_status_idx').on('mirror_syncs').columns(['status', 'lease_until']).execute();
    await db.schema
      .createIndex('mirror_syncs_one_active')
      .on('mirror_syncs')
      .column('mirror')
      .unique()
      .where(sql<boolean>`status in ('queued', 'running')`)
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('mirror_syncs').execute();
  },
});
