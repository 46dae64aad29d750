import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Two index entries fewer that a first publish writes (each a leaf page in SQLite's WAL).
 *
 * SQLite drops `packages_scope_idx` (scope). A package's key is its scope, a slash and its name,
 * lower-cased, so the packages of a scope are a range of keys: the listing filtered by scope reads
 * that range of the key's index (package-repo `query`) and no query needs the scope index.
 * PostgreSQL keeps it: there a range of text compares by the column's collation, which need not
 * keep a scope's keys together.
 *
 * Both stores: `package_embeddings_seq_idx` (model, seq) holds only rows that have a model. Every
 * query that reads it names a model (or `model IS NOT NULL`); a package queued for its first vector
 * has none yet, so its row no longer enters the index, only once its vector is written.
 */
export const publishIndexesMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    if (dialect === 'sqlite') await sql`DROP INDEX packages_scope_idx`.execute(db);
    await sql`DROP INDEX package_embeddings_seq_idx`.execute(db);
    await sql`CREATE INDEX package_embeddings_seq_idx ON package_embeddings (model, seq) WHERE model IS NOT NULL`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX package_embeddings_seq_idx`.execute(db);
    await sql`CREATE INDEX package_embeddings_seq_idx ON package_embeddings (model, seq)`.execute(db);
    if (dialect === 'sqlite') await sql`CREATE INDEX packages_scope_idx ON packages (scope)`.execute(db);
  },
});
