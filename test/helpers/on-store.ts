import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { TestStore } from './server.js';

/** Runs `statements` on a stopped server's store (its SQLite file, or its PostgreSQL schema): how a migration test makes an older store. */
export const onStore = async (store: TestStore, dataDir: string, schema: string | undefined, statements: string[]): Promise<void> => {
  if (store === 'sqlite') {
    const db = new Database(join(dataDir, 'agentry.db'));
    try {
      for (const s of statements) db.prepare(s).run();
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
};
