import { sql, type Kysely, type Migration } from 'kysely';

/** The columns and tokenizer of `package_fts` (migration 0001), with the FTS5 options given. */
const createPackageFts = (options: string) =>
  sql.raw(`CREATE VIRTUAL TABLE package_fts USING fts5(
    scope, name, description, tags, readme,
    content='packages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'${options})`);

/** The lengths, in characters, of the word prefixes FTS5 keeps an index of (see searchPrefixIndexMigration). */
export const PREFIX_LENGTHS = '2 3 4 5 6 7 8';

/**
 * SQLite only: FTS5 prefix indexes on `package_fts` for words of 2 to 8 characters (PREFIX_LENGTHS). Every
 * word of a search is a prefix match (sqliteTextSearch); without an index of its length FTS5 reads
 * every term the word starts, merges their doclists into one in memory, and does it again for
 * bm25's document count of the word, before the first row; with one it reads a single doclist,
 * and can skip through it beside a rarer word. The matches and their bm25 are the same. FTS5
 * cannot change the option of a table, so the table is made again and filled from `packages`
 * (its content table; the triggers of 0001 write to it by name and keep working).
 * (PostgreSQL's GIN index has no such option; the migration is registered for SQLite only.)
 */
export const searchPrefixIndexMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`DROP TABLE package_fts`.execute(db);
    await createPackageFts(`, prefix='${PREFIX_LENGTHS}'`).execute(db);
    await sql`INSERT INTO package_fts(package_fts) VALUES ('rebuild')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE package_fts`.execute(db);
    await createPackageFts('').execute(db);
    await sql`INSERT INTO package_fts(package_fts) VALUES ('rebuild')`.execute(db);
  },
});
