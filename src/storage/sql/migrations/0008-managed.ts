import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Managed agents (issue 7): one table of managed objects (agents, environments, skills, vaults,
 * vault credentials, memory stores, files, model cards) owned by an account, their integer
 * revision history, and memory-store memories with full-text search.
 */
export const managedMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    const idType = pg ? 'serial' : 'integer';
    const seq = (c: { primaryKey(): { autoIncrement(): unknown } }) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

    await db.schema
      .createTable('managed_objects')
      .addColumn('seq', idType, (c) => seq(c) as typeof c)
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('parent_id', 'text')
      .addColumn('ref_id', 'text')
      .addColumn('name', 'text')
      .addColumn('digest', 'text')
      .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('archived_at', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('managed_objects_list_idx').on('managed_objects').columns(['kind', 'account_id', 'seq']).execute();
    await db.schema.createIndex('managed_objects_parent_idx').on('managed_objects').columns(['parent_id', 'seq']).execute();
    await db.schema.createIndex('managed_objects_ref_idx').on('managed_objects').columns(['kind', 'ref_id']).execute();
    await db.schema.createIndex('managed_objects_name_idx').on('managed_objects').columns(['kind', 'account_id', 'name']).execute();
    await db.schema.createIndex('managed_objects_digest_idx').on('managed_objects').column('digest').execute();

    await db.schema
      .createTable('managed_revisions')
      .addColumn('object_id', 'text', (c) => c.notNull().references('managed_objects.id').onDelete('cascade'))
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('managed_revisions_pk', ['object_id', 'revision'])
      .execute();

    await db.schema
      .createTable('managed_memories')
      .addColumn('seq', idType, (c) => seq(c) as typeof c)
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('store_id', 'text', (c) => c.notNull().references('managed_objects.id').onDelete('cascade'))
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('size_bytes', 'integer', (c) => c.notNull())
      .addColumn('embedding', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('managed_memories_path_uq', ['store_id', 'path'])
      .execute();
    await db.schema.createIndex('managed_memories_store_idx').on('managed_memories').columns(['store_id', 'seq']).execute();

    if (pg) {
      await sql`ALTER TABLE managed_memories ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('simple', coalesce(path, '')), 'B') ||
          setweight(to_tsvector('simple', left(coalesce(content, ''), 200000)), 'D')
        ) STORED`.execute(db);
      await sql`CREATE INDEX managed_memories_search_idx ON managed_memories USING GIN (search_vector)`.execute(db);
    } else {
      await sql`CREATE VIRTUAL TABLE managed_memory_fts USING fts5(
          path, content, content='managed_memories', content_rowid='seq', tokenize='unicode61 remove_diacritics 2')`.execute(db);
      await sql`CREATE TRIGGER managed_memories_fts_ai AFTER INSERT ON managed_memories BEGIN
          INSERT INTO managed_memory_fts(rowid, path, content) VALUES (new.seq, new.path, new.content);
        END`.execute(db);
      await sql`CREATE TRIGGER managed_memories_fts_ad AFTER DELETE ON managed_memories BEGIN
          INSERT INTO managed_memory_fts(managed_memory_fts, rowid, path, content) VALUES ('delete', old.seq, old.path, old.content);
        END`.execute(db);
      await sql`CREATE TRIGGER managed_memories_fts_au AFTER UPDATE OF path, content ON managed_memories BEGIN
          INSERT INTO managed_memory_fts(managed_memory_fts, rowid, path, content) VALUES ('delete', old.seq, old.path, old.content);
          INSERT INTO managed_memory_fts(rowid, path, content) VALUES (new.seq, new.path, new.content);
        END`.execute(db);
    }
  },
});
