import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Runtime tokens belong to one account (issue 12 point 4): a token may now be marked
 * `all_accounts`, the explicit server-wide runtime token an administrator makes on purpose.
 * Every existing token keeps to its own account (0).
 */
export const runtimeTokenReachMigration = (_dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('tokens')
      .addColumn('all_accounts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
});
