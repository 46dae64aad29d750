import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Organisation roles (issue 12): `owner`, `maintainer`, `member`. Before, every member of an
 * org could publish to its scopes; the `member` role now only reads. Members from before keep
 * what they could do: they become maintainers. Owners stay owners.
 */
export const orgRolesMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`UPDATE org_members SET role = 'maintainer' WHERE role = 'member'`.execute(db);
  },
});
