import type { Kysely, Migration } from 'kysely';

/**
 * MCP servers Agentry runs (core/workloads): one row per workload, its configuration as JSON (no
 * secret values: secrets are references), what it should be (`desired`) and what it was last seen
 * to be (`status`), so workloads marked to run come back after a restart.
 */
export const workloadsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('workloads')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('owner_name', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('desired', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_context', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('workloads').execute();
  },
});
