import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely } from 'kysely';
import { migrateToLatest } from '../sql/migrate.js';
import type { Database } from '../sql/schema.js';
import { RefuseNulPlugin } from '../sql/refuse-nul.js';
import { SqlStorage } from '../sql/sql-storage.js';
import { withStatementCache } from './statement-cache.js';
import { groupCommitDialect, WalSync } from './group-commit.js';
import { SQLITE_TERMS_TABLE_SQL, sqliteTextSearch } from './text-search.js';
import type { RowReader } from '../sql/dialect.js';

/**
 * Each connection's page cache, in KiB (better-sqlite3 builds SQLite with 16 MiB each, which the
 * server's resident memory carries once the pages were read; the operating system caches the file
 * anyway, and a page SQLite misses is a read from that cache). The reader serves the hot path
 * (package documents, tokens, accounts by key): 12 MiB keeps the B-trees' inner pages and the
 * pages of about a thousand packages read again and again. The writer serves writes, searches
 * and lists and keeps the full 16 MiB: at 4 MiB a search at 100k packages cost 1.3x the server
 * CPU (the FTS5 index pages it reads no longer stayed cached).
 */
const READER_CACHE_KIB = 12 * 1024;
const WRITER_CACHE_KIB = 16 * 1024;

/**
 * The embedded store: one SQLite file in WAL mode, every write synced to disk before it resolves
 * (group commit, see WalSync), so a crash never loses an acknowledged publish and never leaves
 * half of one.
 */
export const openSqliteStorage = async (file: string): Promise<SqlStorage> => {
  mkdirSync(dirname(file), { recursive: true });
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  // NORMAL: a commit does not fsync the WAL itself; the group commit does before any write resolves.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // Statement journals (a statement's own undo inside a transaction: an insert with a conflict
  // clause, triggers or foreign keys) in memory rather than a temporary file created, written and
  // unlinked for each such statement. Never read after a crash (the WAL alone makes commits
  // atomic and durable), so this changes no durability; measured on a publish's transaction:
  // about 200 µs of CPU less, most of it system time.
  database.pragma('temp_store = MEMORY');
  // Checkpoint once the WAL holds 4,000 pages (16 MB) rather than SQLite's 1,000: a publish's
  // transaction writes about 40 pages, many of them the same index pages as the publish before, and
  // a checkpoint copies each page once however often it was written since the last one. Fewer,
  // larger checkpoints copy less (measured: about 10% less CPU per publish's transaction). When to
  // checkpoint changes no durability: a commit is durable once its WAL frames are synced.
  database.pragma('wal_autocheckpoint = 4000');
  database.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
  const wal = new WalSync(`${file}-wal`);
  const db = new Kysely<Database>({ dialect: groupCommitDialect(database, withStatementCache(database), wal), plugins: [new RefuseNulPlugin()] });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  // The search index's terms, on the connection searches run on (see sqliteTextSearch).
  database.exec(SQLITE_TERMS_TABLE_SQL);
  // A second, read-only connection for the hot read path: in WAL mode it reads the last committed
  // state, concurrently with the writer and never inside another request's open transaction.
  const reader = new SQLite(file, { readonly: true });
  reader.pragma('busy_timeout = 5000');
  reader.pragma(`cache_size = -${READER_CACHE_KIB}`);
  const statements = new Map<string, SQLite.Statement>();
  const readRow: RowReader = (text, params) => {
    let stmt = statements.get(text);
    if (!stmt) {
      stmt = reader.prepare(text).raw(true);
      statements.set(text, stmt);
    }
    return stmt.get(...params) as unknown[] | undefined;
  };
  return new SqlStorage(db, 'sqlite', sqliteTextSearch, undefined, undefined, readRow, async () => {
    reader.close();
    await wal.close();
  });
};
