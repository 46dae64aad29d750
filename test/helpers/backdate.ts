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

/**
 * Moves a mirror's last looks at its upstream (its packages, tags, listings, MCP listing) back to long
 * ago in a test server's store: past its TTL, as if the test had waited it out (the server reads those
 * times from the store on every request, so it sees the TTL passed).
 */
export const expireMirrorChecks = async (server: Pick<TestServer, 'store' | 'dataDir' | 'schema'>, mirror: string): Promise<void> => {
  const longAgo = '2000-01-01T00:00:00.000Z';
  const answers = await storeStatements(server, [
    ['UPDATE mirror_packages SET checked_at = ? WHERE mirror = ?', [longAgo, mirror]],
    ['UPDATE mirror_tags SET checked_at = ? WHERE mirror = ?', [longAgo, mirror]],
    ['UPDATE mirror_listings SET checked_at = ? WHERE mirror = ?', [longAgo, mirror]],
    ['UPDATE mirror_mcp_state SET listed_at = ? WHERE mirror = ? AND listed_at IS NOT NULL', [longAgo, mirror]],
  ]);
  // Nothing to expire is a test that no longer checks what it says.
  if (answers.every((a) => a.changes === 0)) throw new Error(`mirror ${mirror} has looked at its upstream for nothing yet`);
};
