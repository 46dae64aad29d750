import { sql, type Kysely, type Migration } from 'kysely';

/**
 * SQLite: drops `packages_visibility_idx` (visibility, owner_account_id), an index entry fewer that
 * a first publish writes (about 0.8 of a WAL page) and a worse plan fewer for every reader. Nearly
 * every package is public, so the index matched nearly every row, and SQLite, without statistics,
 * still chose it for each readable-packages filter: it read every public package's row through the
 * index (one lookup each, then a sort) where a scan, the key's index or another filter's index reads
 * fewer pages. Without it the count of packages, the versions' browse, the OCI catalog and trending
 * read 3 to 60 times faster (EXPLAIN QUERY PLAN and timings at 6,000 packages in the commit message);
 * a filter on an owner reads `packages_owner_idx`, as it did. The listing had already kept its
 * visibility test out of the choice of index for this reason.
 * PostgreSQL keeps it: its planner knows from statistics when the index does not help.
 */
export const dropSqliteVisibilityIndexMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`DROP INDEX packages_visibility_idx`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`CREATE INDEX packages_visibility_idx ON packages (visibility, owner_account_id)`.execute(db);
  },
});
