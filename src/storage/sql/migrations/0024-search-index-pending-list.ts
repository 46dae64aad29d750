import { sql, type Kysely, type Migration } from 'kysely';

/**
 * PostgreSQL only: the packages' full-text GIN index without its pending list (`fastupdate`).
 * With it, new rows' entries wait in an unsorted list that every search scans until a vacuum
 * merges it — after a burst of publishes, milliseconds on each selective search. Each publish now
 * writes its few entries into the index directly; the list left by earlier inserts is merged now.
 * (SQLite's FTS5 index has no such list; the migration is registered for PostgreSQL only.)
 */
export const searchIndexPendingListMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`ALTER INDEX packages_search_idx SET (fastupdate = off)`.execute(db);
    await sql`SELECT gin_clean_pending_list('packages_search_idx'::regclass)`.execute(db);
  },
});
