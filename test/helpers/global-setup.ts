import pg from 'pg';
import net from 'node:net';

/**
 * The PostgreSQL and Redis legs run when AGENTRY_TEST_DATABASE_URL / AGENTRY_TEST_REDIS_URL
 * are set. A service that is set but unreachable fails the whole run here, instead of skipping.
 */
export default async function setup(): Promise<void> {
  const dbUrl = process.env.AGENTRY_TEST_DATABASE_URL;
  if (dbUrl) {
    const client = new pg.Client({ connectionString: dbUrl, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (e) {
      throw new Error(`AGENTRY_TEST_DATABASE_URL is set but PostgreSQL is unreachable: ${(e as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const redisUrl = process.env.AGENTRY_TEST_REDIS_URL;
  if (redisUrl) {
    const u = new URL(redisUrl);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
      s.setTimeout(5000);
      s.on('connect', () => s.end(() => resolve()));
      s.on('error', (e) => reject(new Error(`AGENTRY_TEST_REDIS_URL is set but Redis is unreachable: ${e.message}`)));
      s.on('timeout', () => reject(new Error('AGENTRY_TEST_REDIS_URL is set but Redis did not answer')));
    });
  }
}
