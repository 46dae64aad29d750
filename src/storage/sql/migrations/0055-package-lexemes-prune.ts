import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The advisory lock that orders `package_lexemes`' adds and its pruning (PostgreSQL), one per
 * `packages` table (its oid in the low 32 bits, so schemas do not wait for each other): every
 * transaction that adds a package's lexemes holds it shared until it ends; a prune batch takes it
 * exclusively, so it deletes only while no writing transaction is in flight (see pruneLexemes).
 */
export const LEXEME_LOCK_CLASS = 0x41474c58;

/** The row of `periodic_jobs` the prune is leased by. */
export const LEXEME_PRUNE_JOB = 'package_lexemes.prune';

/**
 * PostgreSQL only: `package_lexemes` (0048) made prunable. The add trigger takes the shared
 * lock (LEXEME_LOCK_CLASS) before it looks for a package's lexemes: a prune batch holding it
 * exclusively has waited for every transaction whose trigger saw a lexeme listed (and so did not
 * add it), and the triggers that run meanwhile wait and then see what it deleted. A lock in memory,
 * not a row lock per lexeme: a publish writes nothing more (a row lock writes its tuple and WAL).
 *
 * `periodic_jobs`: one row per periodic job of the store, leased (`SqlLeasedJobs`) by the process
 * that runs it for a period, so one process of several does it.
 * (SQLite lists no lexemes; the migration is registered for PostgreSQL only.)
 */
export const packageLexemesPruneMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE OR REPLACE FUNCTION package_lexemes_add() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock_shared((${sql.lit(LEXEME_LOCK_CLASS)}::bigint << 32) | TG_RELID::bigint);
        INSERT INTO package_lexemes (lexeme)
          SELECT l FROM unnest(tsvector_to_array(NEW.search_vector)) AS l
          WHERE NOT EXISTS (SELECT 1 FROM package_lexemes k WHERE k.lexeme = l);
        RETURN NULL;
      END $$`.execute(db);
    await sql`CREATE TABLE periodic_jobs (
      id text PRIMARY KEY, status text NOT NULL, lease_owner text, lease_until text, seq integer NOT NULL DEFAULT 0, updated_at text NOT NULL)`.execute(db);
    await sql`INSERT INTO periodic_jobs (id, status, updated_at) VALUES (${LEXEME_PRUNE_JOB}, 'active', ${new Date().toISOString()})`.execute(db);
  },
});
