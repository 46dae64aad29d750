import { sql, type Kysely, type Migration } from 'kysely';

/**
 * PostgreSQL only: `package_lexemes`, every lexeme of the packages' `search_vector` (with a few
 * that no package holds any more), so a search can turn each prefix word into the exact lexemes it
 * starts (see postgresTextSearch). GIN reads an exact lexeme lazily and skips through a common
 * one beside a rare one, where a prefix collects every row of every lexeme it starts first.
 *
 * Kept by triggers in the writing transaction, so a package is never searchable before its
 * lexemes are listed. Lexemes are only added: a package deleted or rewritten leaves its old ones,
 * which then match nothing (a superset finds the same rows). No unique key and no lock: a lexeme is
 * added when the statement sees it missing, so two publishes adding the same new one at once may
 * both add it (the search reads distinct lexemes), and never wait for or deadlock with each other.
 * (SQLite's FTS5 index is left as it is; the migration is registered for PostgreSQL only.)
 */
export const packageLexemesMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE package_lexemes (lexeme text COLLATE "C" NOT NULL)`.execute(db);
    await sql`INSERT INTO package_lexemes (lexeme) SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM packages`.execute(db);
    await sql`CREATE INDEX package_lexemes_idx ON package_lexemes (lexeme)`.execute(db);
    await sql`CREATE FUNCTION package_lexemes_add() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO package_lexemes (lexeme)
          SELECT l FROM unnest(tsvector_to_array(NEW.search_vector)) AS l
          WHERE NOT EXISTS (SELECT 1 FROM package_lexemes k WHERE k.lexeme = l);
        RETURN NULL;
      END $$`.execute(db);
    await sql`CREATE TRIGGER packages_lexemes_ai AFTER INSERT ON packages FOR EACH ROW EXECUTE FUNCTION package_lexemes_add()`.execute(db);
    await sql`CREATE TRIGGER packages_lexemes_au AFTER UPDATE OF scope, name, description, tags, readme ON packages FOR EACH ROW
      WHEN (OLD.search_vector IS DISTINCT FROM NEW.search_vector) EXECUTE FUNCTION package_lexemes_add()`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TRIGGER packages_lexemes_au ON packages`.execute(db);
    await sql`DROP TRIGGER packages_lexemes_ai ON packages`.execute(db);
    await sql`DROP FUNCTION package_lexemes_add()`.execute(db);
    await sql`DROP TABLE package_lexemes`.execute(db);
  },
});
