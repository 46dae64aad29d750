import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Visibility (issue 12): every package has one, and every scope a default for its new packages.
 * Rows that exist already stay public, as they were.
 */
export const visibilityMigration = (_dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('packages')
      .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('public'))
      .execute();
    await db.schema
      .alterTable('scopes')
      .addColumn('default_visibility', 'text', (c) => c.notNull().defaultTo('public'))
      .execute();
    await db.schema.createIndex('packages_visibility_idx').on('packages').columns(['visibility', 'owner_account_id']).execute();
  },
});
