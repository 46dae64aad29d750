import type { Kysely, Migration } from 'kysely';

/**
 * Publishes remembered by their client's `Idempotency-Key` (core/idempotency): one row per account
 * and key, written in the publish's transaction, so a retry after a lost reply finds its publish.
 * The primary key is what stops two concurrent retries from both publishing.
 */
export const idempotencyKeysMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('publish_idempotency_keys')
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('publish_idempotency_keys_pk', ['account_id', 'key'])
      .execute();
    await db.schema.createIndex('publish_idempotency_keys_expires_idx').on('publish_idempotency_keys').column('expires_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('publish_idempotency_keys').execute();
  },
});
