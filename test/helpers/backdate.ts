import { storeStatements } from './on-store.js';
import type { TestServer } from './server.js';

/**
 * Writes download counts for past days straight into a test server's store, the way the server
 * would have recorded them on those days (trending needs a history a test cannot wait for).
 */
export const recordPastDownloads = async (server: TestServer, key: string, day: string, count: number): Promise<void> => {
  await storeStatements(server, [
    [
      'INSERT INTO package_downloads (package_id, day, count) SELECT id, ?, ? FROM packages WHERE key = ? ON CONFLICT (package_id, day) DO UPDATE SET count = package_downloads.count + excluded.count',
      [day, count, key],
    ],
    ['UPDATE packages SET download_count = download_count + ? WHERE key = ?', [count, key]],
  ]);
};

export const daysAgo = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
