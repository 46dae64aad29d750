import { sql, type Kysely, type Migration } from 'kysely';

/**
 * SQLite: an index holding every column of `packages` that an uncached package read needs beside
 * its stored document (the key it is found by, and the kind, scope, visibility and owner the
 * access rule reads), so that read looks up this index and the document's row, not also the
 * package's row. The package rows hold readmes and descriptions (about 13 to a page at 100,000
 * packages, 30 MB of pages); the index's entries are small enough that SQLite's page cache keeps
 * most of them, and a read misses one page (the document's) instead of two or three.
 * PostgreSQL reads documents in batches (one statement for many keys) through its own key index
 * and gets nothing of it: the index is SQLite's only.
 */
export const packageDocumentLookupMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX packages_document_lookup_idx ON packages (key, kind, scope, visibility, owner_account_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX packages_document_lookup_idx`.execute(db);
  },
});
