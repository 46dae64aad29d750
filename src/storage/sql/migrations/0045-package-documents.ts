import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Each package's detail document as the native door sends it (its JSON text and entity tag),
 * kept beside the package and rewritten in the transaction of every write that changes what it
 * shows (PackageService.change). An uncached read is then one lookup returning the access fields
 * and the text. Filled lazily, not here: the text is the door's serialisation, which a migration
 * cannot make; a package without a document is read the long way and its document written then
 * (and by the background fill the server starts).
 */
export const packageDocumentsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE package_documents (
      package_id INTEGER PRIMARY KEY REFERENCES packages(id) ON DELETE CASCADE,
      body TEXT NOT NULL,
      etag TEXT NOT NULL
    )`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE package_documents`.execute(db);
  },
});
