import type { Kysely, Migration } from 'kysely';

/**
 * Signed packages (issue 18): a scope's signing policy, the PEM public keys it trusts (a JSON array;
 * null: none) and whether every publish to it must carry a signature made with one of them.
 */
export const scopeSigningMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('scopes').addColumn('signing_keys', 'text').execute();
    await db.schema
      .alterTable('scopes')
      .addColumn('require_signatures', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('scopes').dropColumn('require_signatures').execute();
    await db.schema.alterTable('scopes').dropColumn('signing_keys').execute();
  },
});
