import { sql, type Kysely, type Migration } from 'kysely';

/**
 * SQLite: an index of packages by id holding what a relevance search reads of each of its
 * candidates (their ranking's tie-break, download_count, and the columns of the default filters:
 * visibility, kind, latest_version, owner_account_id), so the ranked search (PackageRepo's
 * rankedSearch, through sqliteTextSearch) looks each match up in it and not in the package rows.
 * At 100,000 packages the rows fill about 7,700 pages, more than the connection's page cache holds:
 * a search of 500 to 1,000 matches read most of its candidates' pages from the operating system,
 * and the lookups were about a third of the statement's CPU. This index is about 800 pages. The
 * candidates' BM25 (FTS5's document sizes) and the page's rows are read as before. A filter on
 * another column (a category, tags, a scope) reads that package's row as well, as it did.
 * The index is written on a publish, on a change of visibility, owner or latest version, and on a
 * download (download_count), beside the listings' indexes that hold download_count already.
 * PostgreSQL reads its candidates through its own plan (GIN and the heap): nothing of it there.
 */
export const packageSearchCandidatesMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX packages_search_candidates_idx ON packages (id, download_count, visibility, kind, latest_version, owner_account_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX packages_search_candidates_idx`.execute(db);
  },
});
