import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';

const REDIS = process.env.AGENTRY_TEST_REDIS_URL;

const get = async (url: string, token?: string) => {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  return { status: res.status, limit: Number(res.headers.get('x-ratelimit-limit')), remaining: Number(res.headers.get('x-ratelimit-remaining')), retryAfter: res.headers.get('retry-after') };
};

/** Two server processes on one Redis share one budget (the Redis leg runs when AGENTRY_TEST_REDIS_URL is set). */
describe.runIf(REDIS).each(testStores)('rate limits shared through Redis by two server processes (%s)', (store) => {
  const prefix = `agentry-test:${randomBytes(6).toString('hex')}:`;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const dirs = [mkdtempSync(join(tmpdir(), 'agentry-rl-a-')), mkdtempSync(join(tmpdir(), 'agentry-rl-b-'))];
  const servers: ChildServer[] = [];
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS!);
    const extra = {
      AGENTRY_REDIS_URL: REDIS!,
      AGENTRY_REDIS_PREFIX: prefix,
      AGENTRY_RATE_LIMIT_ANONYMOUS: '6/min',
      AGENTRY_RATE_LIMIT_USER: '4/min',
      AGENTRY_RATE_LIMIT_PUBLISH: '10/hour',
      // Processes that share one database share its secret root key (each has a data dir of its own here).
      AGENTRY_SECRET_KEY: randomBytes(32).toString('hex'),
    };
    const db = store === 'postgres' ? { databaseUrl: process.env.AGENTRY_TEST_DATABASE_URL, databaseSchema: schema } : {};
    // One after the other: on PostgreSQL both run the same migrations on one schema.
    servers.push(await startChildServer({ dataDir: dirs[0], adminToken, ...db, extra }));
    servers.push(await startChildServer({ dataDir: dirs[1], adminToken, ...db, extra }));
    // Start well inside a minute window, so the budget does not reset half-way.
    const left = 60 - ((Date.now() / 1000) % 60);
    if (left < 15) await new Promise((r) => setTimeout(r, left * 1000 + 100));
    // Two server processes (migrating one PostgreSQL schema) can take a while on a busy machine.
  }, 180_000);
  afterAll(async () => {
    for (const s of servers) await s.kill();
    if (!redis) return;
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('counts anonymous requests to either process against one budget per IP', async () => {
    const [a, b] = servers.map((s) => s.url);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await get(`${i % 2 === 0 ? a : b}/api/v1/agents`));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.map((r) => r.remaining)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(answers.every((r) => r.limit === 6)).toBe(true);
    const overA = await get(`${a}/api/v1/agents`);
    const overB = await get(`${b}/api/v1/categories`);
    expect([overA.status, overB.status]).toEqual([429, 429]);
    expect(Number(overB.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('counts a user against one budget too, apart from the IP', async () => {
    const [a, b] = servers.map((s) => s.url);
    const statuses = [];
    for (const url of [a, b, a, b, a]) statuses.push((await get(`${url}/api/v1/whoami`, adminToken)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  it('keeps its counters under the configured prefix, each expiring with its window', async () => {
    const keys = await redis.keys(`${prefix}rl:*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const k of keys) {
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(61_000);
    }
  });
});
