import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Semantic package search (core/search): one row per package, its embedding vector (float32,
 * little-endian: a BLOB on SQLite, bytea on PostgreSQL; pgvector is not required) with the model
 * and text hash it was made from, and the queue around it: `pending` rows are (re)computed by the
 * embedder after the write that queued them commits, retried at `retry_at` when the endpoint fails,
 * leased to one worker at a time. `seq` is taken anew, in commit order, by every vector write: the
 * stamp in-process indexes catch up by. Every package published so far is queued (the backfill).
 */
export const packageEmbeddingsMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('package_embeddings')
      .addColumn('package_id', 'integer', (c) => c.primaryKey().references('packages.id').onDelete('cascade'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('retry_at', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('model', 'text')
      .addColumn('text_sha256', 'text')
      .addColumn('vector', dialect === 'postgres' ? 'bytea' : 'blob')
      .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('package_embeddings_queue_idx').on('package_embeddings').columns(['status', 'retry_at']).execute();
    await db.schema.createIndex('package_embeddings_seq_idx').on('package_embeddings').columns(['model', 'seq']).execute();
    await sql`INSERT INTO package_embeddings (package_id, status) SELECT id, 'pending' FROM packages WHERE latest_version IS NOT NULL`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('package_embeddings').execute();
  },
});
