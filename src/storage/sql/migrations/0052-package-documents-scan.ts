import { sql, type Kysely, type Migration } from 'kysely';

/**
 * SQLite: two indexes holding only ids, for the start-up scan for packages without a document
 * (PackageRepo.keysWithoutDocument, oldest first). Both tables' ids are their INTEGER PRIMARY KEY,
 * so SQLite walked the package rows (readmes) in id order and looked each id up in the document
 * rows (bodies): with nothing missing it read both tables whole (about 41,000 pages, 165 MB at
 * 100,000 packages). Through these it reads about 560 pages, in id order (no sort, and it stops at
 * the batch's last key). The planner still prefers the tables' own keys, so the scan names the
 * indexes (INDEXED BY). Ids never change: a write to a package or document touches neither.
 * PostgreSQL reads both primary keys (the ids alone, index-only) already: the indexes are SQLite's only.
 */
export const packageDocumentsScanMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX packages_id_scan_idx ON packages (id)`.execute(db);
    await sql`CREATE INDEX package_documents_scan_idx ON package_documents (package_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX package_documents_scan_idx`.execute(db);
    await sql`DROP INDEX packages_id_scan_idx`.execute(db);
  },
});
