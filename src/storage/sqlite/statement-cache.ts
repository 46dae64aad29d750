import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * better-sqlite3 behind Kysely, with prepared statements kept by SQL text: Kysely prepares
 * every query anew, and preparing costs as much as running a primary-key lookup. The cache is
 * bounded; statements are reusable, so a hit is always safe.
 */
export const withStatementCache = (db: Database.Database, max = 500): SqliteDatabase => {
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (stmt) return stmt;
      stmt = db.prepare(sql) as unknown as SqliteStatement;
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
      return stmt;
    },
    close(): void {
      cache.clear();
      db.close();
    },
  };
};
