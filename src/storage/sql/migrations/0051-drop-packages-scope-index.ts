import { sql, type Kysely, type Migration } from 'kysely';

/**
 * SQLite: drops `packages_scope_idx` (scope). A package's key is its scope, a slash and its name,
 * lower-cased, so the packages of a scope are a range of keys: the listing filtered by scope reads
 * that range of the key's index (package-repo `query`) and no query needs the scope index. Every
 * first publish wrote a leaf page of it (about one WAL page in 28). PostgreSQL keeps it: there a
 * range of text compares by the column's collation, which need not keep a scope's keys together.
 */
export const dropPackagesScopeIndexMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`DROP INDEX packages_scope_idx`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`CREATE INDEX packages_scope_idx ON packages (scope)`.execute(db);
  },
});
