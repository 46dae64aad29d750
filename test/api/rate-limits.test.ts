import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const rateHeaders = (h: Headers) => ({
  limit: Number(h.get('x-ratelimit-limit')),
  remaining: Number(h.get('x-ratelimit-remaining')),
  reset: Number(h.get('x-ratelimit-reset')),
});

/** Waits until at least `seconds` are left in the current window of `windowS` seconds, so a test never straddles a reset. */
const awayFromWindowEnd = async (windowS: number, seconds: number): Promise<void> => {
  const left = windowS - ((Date.now() / 1000) % windowS);
  if (left < seconds) await new Promise((r) => setTimeout(r, left * 1000 + 50));
};

describe.each(testStores)('rate limits (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let bobToken: string;

  beforeAll(async () => {
    server = await startTestServer({
      store,
      rateLimits: { anonymous: { limit: 5, windowMs: 60_000 }, user: { limit: 8, windowMs: 60_000 }, publish: { limit: 2, windowMs: 3_600_000 } },
    });
    await awayFromWindowEnd(60, 20);
    admin = new Api(server.url, server.adminToken);
    bobToken = (await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token;
    anon = new Api(server.url);
  });
  afterAll(() => server.close());

  it('counts anonymous requests per IP, says so on every response, and refuses the one over with 429', async () => {
    const seen: Array<ReturnType<typeof rateHeaders>> = [];
    for (const path of ['/api/v1/agents', '/api/v1/search?q=x', '/api/v1/nothing-here', '/openapi.json', '/api/v1/categories']) {
      const r = await anon.req('GET', path);
      expect(r.status).toBeLessThan(429);
      seen.push(rateHeaders(r.headers));
    }
    expect(seen.map((s) => s.limit)).toEqual([5, 5, 5, 5, 5]);
    expect(seen.map((s) => s.remaining)).toEqual([4, 3, 2, 1, 0]);
    for (const s of seen) {
      expect(s.reset).toBeGreaterThanOrEqual(1);
      expect(s.reset).toBeLessThanOrEqual(60);
    }

    const over = await anon.req('GET', '/api/v1/agents');
    expect(over.status).toBe(429);
    // The probes an orchestrator or load balancer calls are never counted nor refused, even over budget.
    for (const probe of ['/healthz', '/livez', '/readyz', '/metrics']) {
      const r = await anon.req('GET', probe);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
    }
    expect(over.body.error).toMatch(/^Rate limit exceeded: requests per IP address without a token are limited to 5 per minute; retry in \d+ s$/);
    expect(rateHeaders(over.headers)).toMatchObject({ limit: 5, remaining: 0 });
    const retry = Number(over.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBe(rateHeaders(over.headers).reset);
    // An invalid token does not buy a fresh budget: it counts against the IP.
    const forged = await anon.with('agentry_' + 'A'.repeat(43)).req('GET', '/api/v1/agents');
    expect(forged.status).toBe(429);
  });

  it('gives each signed-in user a budget of their own, and publishes one more on top', async () => {
    const bob = anon.with(bobToken);
    const first = await bob.req('GET', '/api/v1/whoami');
    expect(first.status).toBe(200);
    expect(rateHeaders(first.headers)).toMatchObject({ limit: 8, remaining: 7 });

    const publish = async (version: string) => bob.publish('/api/v1/agents/@bob/limited', await agentTarball({ name: 'limited', version, scope: 'bob' }));
    const p1 = await publish('1.0.0');
    expect(p1.status).toBe(200);
    expect(rateHeaders(p1.headers)).toMatchObject({ limit: 8, remaining: 6 });
    expect((await publish('1.0.1')).status).toBe(200);
    const p3 = await publish('1.0.2');
    expect(p3.status).toBe(429);
    // The refusal says which budget is spent: publishes per hour.
    expect(rateHeaders(p3.headers)).toMatchObject({ limit: 2, remaining: 0 });
    expect(rateHeaders(p3.headers).reset).toBeGreaterThan(60);
    expect(p3.body.error).toMatch(/^Rate limit exceeded: publishes per user are limited to 2 per hour; retry in \d+ s$/);
    expect(Number(p3.headers.get('retry-after'))).toBeGreaterThan(60);
    const versions = await bob.req('GET', '/api/v1/agents/@bob/limited/versions');
    expect(versions.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.1', '1.0.0']);

    // 5 requests so far; 3 more reads are fine, the 9th is over the user budget.
    for (let i = 0; i < 2; i++) expect((await bob.req('GET', '/api/v1/whoami')).status).toBe(200);
    const last = await bob.req('GET', '/api/v1/whoami');
    expect(rateHeaders(last.headers)).toMatchObject({ limit: 8, remaining: 0 });
    const over = await bob.req('GET', '/api/v1/whoami');
    expect(over.status).toBe(429);
    expect(over.body.error).toMatch(/requests per user are limited to 8 per minute/);

    // OCI clients sign in with HTTP Basic (a token as the password), then with a registry token:
    // both count against the user, not the IP.
    const basic = { authorization: `Basic ${Buffer.from(`bob:${bobToken}`).toString('base64')}` };
    const viaBasic = await fetch(`${server.url}/v2/token?scope=repository:bob/limited:pull`, { headers: basic });
    expect(viaBasic.status).toBe(429);
    expect(rateHeaders(viaBasic.headers)).toMatchObject({ limit: 8, remaining: 0 });

    // The admin is another user with another budget (one request spent creating bob).
    const a = await admin.req('GET', '/api/v1/whoami');
    expect(a.status).toBe(200);
    expect(rateHeaders(a.headers)).toMatchObject({ limit: 8, remaining: 6 });
    const adminBasic = { authorization: `Basic ${Buffer.from(`admin:${server.adminToken}`).toString('base64')}` };
    const issued = await fetch(`${server.url}/v2/token?scope=repository:bob/limited:pull`, { headers: adminBasic });
    expect(issued.status).toBe(200);
    expect(rateHeaders(issued.headers)).toMatchObject({ limit: 8, remaining: 5 });
    const registryToken = ((await issued.json()) as { token: string }).token;
    const withToken = await fetch(`${server.url}/v2/`, { headers: { authorization: `Bearer ${registryToken}` } });
    expect(rateHeaders(withToken.headers)).toMatchObject({ limit: 8, remaining: 4 });
  });
});

describe('rate-limit windows', () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it('opens a new window after the reset, and sends no headers for a limit that is off', async () => {
    server = await startTestServer({ rateLimits: { anonymous: { limit: 2, windowMs: 2000 }, user: null } });
    const anon = new Api(server.url);
    await awayFromWindowEnd(2, 1.5);
    expect((await anon.req('GET', '/api/v1/agents')).status).toBe(200);
    expect((await anon.req('GET', '/api/v1/agents')).status).toBe(200);
    const over = await anon.req('GET', '/api/v1/agents');
    expect(over.status).toBe(429);
    await new Promise((r) => setTimeout(r, Number(over.headers.get('retry-after')) * 1000 + 100));
    const again = await anon.req('GET', '/api/v1/agents');
    expect(again.status).toBe(200);
    expect(rateHeaders(again.headers)).toMatchObject({ limit: 2, remaining: 1 });

    const signedIn = await anon.with(server.adminToken).req('GET', '/api/v1/whoami');
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('rate limits in Redis, misconfigured', () => {
  it('refuses to start when the configured Redis cannot be reached, saying so', async () => {
    await expect(startTestServer({ redis: { url: 'redis://127.0.0.1:9/0', keyPrefix: 'agentry-test:' } })).rejects.toThrow(/^Redis at redis:\/\/127\.0\.0\.1:9\/0 is unreachable/);
    await expect(startTestServer({ redis: { url: 'http://127.0.0.1:6379', keyPrefix: 'agentry-test:' } })).rejects.toThrow('Redis URL must start with redis:// or rediss://');
  });
});
