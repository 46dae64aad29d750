import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { TestServer } from './server.js';

/**
 * Writes download counts for past days straight into a test server's store, the way the server
 * would have recorded them on those days (trending needs a history a test cannot wait for).
 */
export const recordPastDownloads = async (server: TestServer, key: string, day: string, count: number): Promise<void> => {
  if (server.store === 'sqlite') {
    const db = new Database(join(server.dataDir, 'agentry.db'));
    try {
      db.pragma('busy_timeout = 5000');
      const id = (db.prepare('SELECT id FROM packages WHERE key = ?').get(key) as { id: number }).id;
      db.prepare('INSERT INTO package_downloads (package_id, day, count) VALUES (?, ?, ?) ON CONFLICT (package_id, day) DO UPDATE SET count = count + excluded.count').run(id, day, count);
      db.prepare('UPDATE packages SET download_count = download_count + ? WHERE id = ?').run(count, id);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${server.schema}"`);
    const { rows } = await client.query<{ id: number }>('SELECT id FROM packages WHERE key = $1', [key]);
    await client.query('INSERT INTO package_downloads (package_id, day, count) VALUES ($1, $2, $3) ON CONFLICT (package_id, day) DO UPDATE SET count = package_downloads.count + excluded.count', [
      rows[0].id,
      day,
      count,
    ]);
    await client.query('UPDATE packages SET download_count = download_count + $1 WHERE id = $2', [count, rows[0].id]);
  } finally {
    await client.end();
  }
};

export const daysAgo = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
