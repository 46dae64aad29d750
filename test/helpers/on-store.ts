import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { TestServer, TestStore } from './server.js';

/** What one statement answered: the rows it read (none for a write) and how many rows it changed. */
export interface StoreAnswer {
  rows: Record<string, unknown>[];
  changes: number;
}

type Run = (sql: string, params?: unknown[]) => Promise<StoreAnswer>;

/**
 * Opens a server's store (its SQLite file, or its PostgreSQL schema) behind the server's back, hands
 * `work` a runner of statements written with `?` placeholders (numbered `$1…` for PostgreSQL here),
 * and closes it again: how a test reaches what no route exposes (an expiry in the past, an older
 * store's shape).
 */
const withStore = async <T>(store: TestStore, dataDir: string, schema: string | undefined, work: (run: Run) => Promise<T>): Promise<T> => {
  if (store === 'sqlite') {
    const db = new Database(join(dataDir, 'agentry.db'));
    try {
      db.pragma('busy_timeout = 5000');
      return await work(async (sql, params = []) => {
        const stmt = db.prepare(sql);
        if (stmt.reader) return { rows: stmt.all(...params) as Record<string, unknown>[], changes: 0 };
        return { rows: [], changes: stmt.run(...params).changes };
      });
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    return await work(async (sql, params = []) => {
      let n = 0;
      // Only a statement with parameters has placeholders to number (a bare one may hold a `?` operator).
      const r = await client.query(params.length > 0 ? sql.replace(/\?/g, () => `$${++n}`) : sql, params);
      return { rows: r.rows as Record<string, unknown>[], changes: r.rowCount ?? 0 };
    });
  } finally {
    await client.end();
  }
};

/** Runs `statements` on a stopped server's store (its SQLite file, or its PostgreSQL schema): how a migration test makes an older store. */
export const onStore = (store: TestStore, dataDir: string, schema: string | undefined, statements: string[]): Promise<void> =>
  withStore(store, dataDir, schema, async (run) => {
    for (const s of statements) await run(s);
  });

/** Runs one statement (`?` placeholders on both stores) on a test server's own store. */
export const storeQuery = (server: Pick<TestServer, 'store' | 'dataDir' | 'schema'>, sql: string, params: unknown[] = []): Promise<StoreAnswer> =>
  withStore(server.store, server.dataDir, server.schema, (run) => run(sql, params));

/** Runs several statements on a test server's own store over one connection. */
export const storeStatements = (server: Pick<TestServer, 'store' | 'dataDir' | 'schema'>, statements: Array<[sql: string, params?: unknown[]]>): Promise<StoreAnswer[]> =>
  withStore(server.store, server.dataDir, server.schema, async (run) => {
    const out: StoreAnswer[] = [];
    for (const [sql, params] of statements) out.push(await run(sql, params));
    return out;
  });
