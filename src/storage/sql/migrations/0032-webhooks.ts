import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Webhooks (issue 18, part 3): a webhook per row, owned by a user or an org (its secret is in the
 * secret store, not here), and its deliveries, queued here and leased by the dispatcher sending them.
 */
export const webhooksMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    await db.schema
      .createTable('webhooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhooks_owner_idx').on('webhooks').column('owner_account_id').execute();
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('seq', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('response_code', 'integer')
      .addColumn('duration_ms', 'integer')
      .addColumn('response_body', 'text')
      .addColumn('replay_of', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhook_deliveries_webhook_idx').on('webhook_deliveries').columns(['webhook_id', 'seq']).execute();
    await db.schema.createIndex('webhook_deliveries_status_idx').on('webhook_deliveries').columns(['status', 'lease_until']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('webhook_deliveries').execute();
    await db.schema.dropTable('webhooks').execute();
  },
});
