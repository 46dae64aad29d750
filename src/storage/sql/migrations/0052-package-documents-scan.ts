import { sql, type Kysely, type Migration } from 'kysely';

/**
 * SQLite: an index of `package_documents` holding only the package ids, for the start-up scan for
 * packages without a document (PackageRepo.keysWithoutDocument). `package_id` is the table's
 * INTEGER PRIMARY KEY, so SQLite looks each package up in the table itself, whose pages hold the
 * document bodies: with nothing missing the scan read all of them (about 33,000 pages, 135 MB at
 * 100,000 packages) where this index is about 280. The planner still prefers the table's own key,
 * so the scan names the index (INDEXED BY).
 * PostgreSQL reads `package_documents_pkey` (the ids alone) already and gets nothing of it: the
 * index is SQLite's only.
 */
export const packageDocumentsScanMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX package_documents_scan_idx ON package_documents (package_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX package_documents_scan_idx`.execute(db);
  },
});
