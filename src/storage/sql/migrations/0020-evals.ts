import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Evals (issue 14, point 5): an eval run per row, its spec and results as JSON, its status and
 * the lease of the runner driving it.
 */
export const evalsMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    await db.schema
      .createTable('eval_runs')
      .addColumn('seq', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('token_id', 'integer', (c) => c.notNull())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('results', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('ended_at', 'text')
      .execute();
    await db.schema.createIndex('eval_runs_account_idx').on('eval_runs').columns(['account_id', 'seq']).execute();
    await db.schema.createIndex('eval_runs_status_idx').on('eval_runs').columns(['status', 'lease_until']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('eval_runs').execute();
  },
});
