import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/** agentx's remaining parts: stars, telemetry counters, sign-in states and provider identities. */
export const agentxMigration = (_dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('package_stars')
      .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('package_stars_pk', ['package_id', 'account_id'])
      .execute();
    await db.schema.createIndex('package_stars_account_idx').on('package_stars').columns(['account_id', 'created_at']).execute();

    await db.schema
      .createTable('telemetry_counts')
      .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('success', 'integer', (c) => c.notNull())
      .addColumn('bucket', 'integer', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('telemetry_counts_pk', ['package_id', 'version', 'day', 'success', 'bucket'])
      .execute();
    await db.schema.createIndex('telemetry_counts_day_idx').on('telemetry_counts').column('day').execute();

    await db.schema
      .createTable('oauth_states')
      .addColumn('state_hash', 'text', (c) => c.primaryKey())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('oauth_identities')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('oauth_identities_pk', ['provider', 'subject'])
      .execute();
  },
});
