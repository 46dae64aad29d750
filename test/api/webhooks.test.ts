import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-acme-0123456789abcdef';
const USER_SECRET = 'whsec-amy-0123456789abcdef';

/** The receiver of these tests: /flaky answers 500 to its first request, /user-gone 410 to every one; the rest 200. */
const startReceiver = () =>
  startWebhookReceiver(
    (path) => (path.startsWith('/user') ? USER_SECRET : SECRET),
    (path, n): [number, string] => (path === '/flaky' && n === 1 ? [500, 'not yet'] : path === '/user-gone' ? [410, 'gone for good'] : [200, 'ok']),
  );

describe.each(testStores)('webhooks (%s)', (store) => {
  let server: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let admin: Api;
  let amy: Api;
  let bob: Api;
  let gil: Api;
  let anon: Api;
  let hookId: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startTestServer({ store, egressAllow: '127.0.0.1', env: { AGENTRY_WEBHOOK_RETRY_BASE_MS: '200', AGENTRY_WEBHOOK_MAX_ATTEMPTS: '4' } });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    amy = admin.with((await admin.req('POST', '/api/v1/users', { username: 'amy' })).body.token);
    bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    gil = admin.with((await admin.req('POST', '/api/v1/users', { username: 'gil' })).body.token);
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'amy' })).status).toBe(201);
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/gil', { role: 'maintainer' })).status).toBe(200);
  });

  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  const deliveries = async (owner: string, id: string): Promise<any[]> => (await amy.req('GET', `/api/v1/${owner}/webhooks/${id}/deliveries`)).body.deliveries;

  it('refuses bad URLs, unknown events, private addresses and short secrets, and never answers the secret', async () => {
    const add = (body: unknown) => amy.req('POST', '/api/v1/orgs/acme/webhooks', body);
    const base = { url: `${receiver.url}/flaky`, events: ['package.published'], secret: SECRET };
    for (const [body, pattern] of [
      [{ ...base, url: 'not a url' }, /absolute http\(s\) URL/],
      [{ ...base, url: 'ftp://example.com/hook' }, /absolute http\(s\) URL/],
      [{ ...base, url: 'https://user:pw@example.com/hook' }, /credentials/],
      [{ ...base, url: 'http://10.1.2.3/hook' }, /refused: the egress policy refuses private addresses/],
      [{ ...base, url: 'http://169.254.169.254/latest' }, /refused: the egress policy refuses/],
      [{ ...base, url: 'http://[::1]:8080/hook' }, /refused: the egress policy refuses loopback/],
      [{ ...base, events: ['package.published', 'package.exploded'] }, /Unknown event: package\.exploded/],
      [{ ...base, events: [] }, /events/],
      [{ ...base, secret: 'short' }, /at least 16 characters/],
      [{ url: base.url, events: base.events }, /secret/],
    ] as const) {
      const r = await add(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(pattern);
    }
    const created = await add(base);
    expect(created.status).toBe(201);
    hookId = created.body.id;
    expect(created.body).toMatchObject({ owner: 'acme', url: `${receiver.url}/flaky`, events: ['package.published'] });
    const list = await amy.req('GET', '/api/v1/orgs/acme/webhooks');
    expect(list.body.webhooks.map((w: { id: string }) => w.id)).toEqual([hookId]);
    expect(JSON.stringify([created.body, list.body])).not.toContain(SECRET);
    // Subscribe to the rest through a second webhook on the same URL path: every event of the package.
    const rest = await add({ url: `${receiver.url}/acme-rest`, events: ['dist_tag.changed', 'package.deprecated', 'package.unpublished', 'package.deprecated'], secret: SECRET });
    expect(rest.status).toBe(201);
    expect(rest.body.events).toEqual(['dist_tag.changed', 'package.deprecated', 'package.unpublished']);
  });

  it('lets only the org owners, the user and administrators manage webhooks', async () => {
    const body = { url: `${receiver.url}/x`, events: ['package.published'], secret: SECRET };
    expect((await anon.req('GET', '/api/v1/orgs/acme/webhooks')).status).toBe(401);
    expect((await bob.req('GET', '/api/v1/orgs/acme/webhooks')).status).toBe(403);
    expect((await gil.req('GET', '/api/v1/orgs/acme/webhooks')).status).toBe(403);
    expect((await gil.req('POST', '/api/v1/orgs/acme/webhooks', body)).status).toBe(403);
    expect((await bob.req('DELETE', `/api/v1/orgs/acme/webhooks/${hookId}`)).status).toBe(403);
    expect((await bob.req('GET', `/api/v1/orgs/acme/webhooks/${hookId}/deliveries`)).status).toBe(403);
    expect((await amy.req('POST', '/api/v1/users/bob/webhooks', body)).status).toBe(403);
    expect((await amy.req('GET', '/api/v1/users/acme/webhooks')).status).toBe(404);
    expect((await amy.req('GET', '/api/v1/orgs/amy/webhooks')).status).toBe(404);
    expect((await amy.req('GET', '/api/v1/orgs/nosuch/webhooks')).status).toBe(404);
    // Another owner's webhook id is not found under this owner.
    expect((await admin.req('GET', `/api/v1/users/amy/webhooks/${hookId}/deliveries`)).status).toBe(404);
    const bobs = await admin.req('POST', '/api/v1/users/bob/webhooks', { ...body, url: `${receiver.url}/bob` });
    expect(bobs.status).toBe(201);
    expect((await bob.req('GET', '/api/v1/users/bob/webhooks')).body.webhooks).toHaveLength(1);
  });

  it('delivers a signed event, retries after a 500, logs the attempts, and replays', async () => {
    expect((await amy.publish('/api/v1/agents/@acme/bot', await agentTarball({ name: 'bot', version: '1.0.0', scope: 'acme' }))).status).toBe(200);
    const flaky = await waitFor('the retried delivery', async () => {
      const hits = receiver.got.filter((g) => g.path === '/flaky');
      return hits.length >= 2 ? hits : undefined;
    });
    expect(flaky).toHaveLength(2);
    for (const g of flaky) {
      expect(g.signed).toBe(true);
      expect(g.headers['x-agentry-event']).toBe('package.published');
      expect(g.headers['content-type']).toBe('application/json');
    }
    expect(flaky[1]!.headers['x-agentry-delivery']).toBe(flaky[0]!.headers['x-agentry-delivery']);
    expect(flaky[0]!.headers['x-agentry-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    const payload = JSON.parse(flaky[1]!.body);
    expect(payload).toMatchObject({ type: 'package.published', owner: 'acme', data: { package: '@acme/bot', kind: 'agent', version: '1.0.0' } });
    const log = await waitFor('the delivery logged as delivered', async () => {
      const d = await deliveries('orgs/acme', hookId);
      return d[0]?.status === 'delivered' ? d : undefined;
    });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ id: flaky[0]!.headers['x-agentry-delivery'], event: 'package.published', attempts: 2, response_code: 200, response_body: 'ok', replay_of: null });
    expect(log[0].duration_ms).toBeGreaterThanOrEqual(0);

    const replay = await amy.req('POST', `/api/v1/orgs/acme/webhooks/${hookId}/deliveries/${log[0].id}/replay`);
    expect(replay.status).toBe(202);
    // Queued, and possibly sent already by the time it is read back.
    expect(replay.body).toMatchObject({ replay_of: log[0].id, event: 'package.published' });
    expect(replay.body.id).not.toBe(log[0].id);
    const again = await waitFor('the replayed delivery', async () => receiver.got.find((g) => g.headers['x-agentry-delivery'] === replay.body.id));
    expect(again.signed).toBe(true);
    expect(again.body).toBe(flaky[0]!.body);
    expect((await amy.req('POST', `/api/v1/orgs/acme/webhooks/${hookId}/deliveries/00000000-0000-0000-0000-000000000000/replay`)).status).toBe(404);
    expect((await bob.req('POST', `/api/v1/orgs/acme/webhooks/${hookId}/deliveries/${log[0].id}/replay`)).status).toBe(403);
    // Bob's own webhook hears nothing of acme's package.
    expect(receiver.got.filter((g) => g.path === '/bob')).toEqual([]);
  });

  it('sends dist-tag, deprecation and unpublish events once each', async () => {
    expect((await amy.req('PUT', '/api/v1/agents/@acme/bot/dist-tags/beta', { version: '1.0.0' })).status).toBe(200);
    expect((await amy.req('POST', '/api/v1/agents/@acme/bot/versions/1.0.0/deprecate', { message: 'use 2' })).status).toBe(200);
    expect((await amy.req('DELETE', '/api/v1/agents/@acme/bot/1.0.0')).status).toBe(200);
    const hits = await waitFor('three events', async () => {
      const h = receiver.got.filter((g) => g.path === '/acme-rest');
      return h.length >= 3 ? h : undefined;
    });
    const events = hits.map((h) => ({ event: h.headers['x-agentry-event'], data: JSON.parse(h.body).data, signed: h.signed }));
    expect(events).toEqual([
      { event: 'dist_tag.changed', signed: true, data: { package: '@acme/bot', kind: 'agent', tag: 'beta', version: '1.0.0' } },
      { event: 'package.deprecated', signed: true, data: { package: '@acme/bot', kind: 'agent', version: '1.0.0', message: 'use 2' } },
      { event: 'package.unpublished', signed: true, data: { package: '@acme/bot', kind: 'agent', versions: ['1.0.0'] } },
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.got.filter((g) => g.path === '/acme-rest')).toHaveLength(3);
  });

  it('fails a 4xx delivery without retrying, and stops delivering once the webhook is deleted', async () => {
    const hook = await amy.req('POST', '/api/v1/users/amy/webhooks', { url: `${receiver.url}/user-gone`, events: ['package.published'], secret: USER_SECRET });
    expect(hook.status).toBe(201);
    expect((await amy.publish('/api/v1/agents/@amy/tool', await agentTarball({ name: 'tool', version: '1.0.0', scope: 'amy' }))).status).toBe(200);
    const log = await waitFor('the failed delivery', async () => {
      const d = await deliveries('users/amy', hook.body.id);
      return d[0]?.status === 'failed' ? d : undefined;
    });
    expect(log[0]).toMatchObject({ attempts: 1, response_code: 410, response_body: 'gone for good' });
    expect(receiver.got.filter((g) => g.path === '/user-gone').map((g) => g.signed)).toEqual([true]);
    expect((await amy.req('DELETE', `/api/v1/users/amy/webhooks/${hook.body.id}`)).status).toBe(200);
    expect((await amy.req('DELETE', `/api/v1/users/amy/webhooks/${hook.body.id}`)).status).toBe(404);
    expect((await amy.req('GET', `/api/v1/users/amy/webhooks/${hook.body.id}/deliveries`)).status).toBe(404);
    expect((await amy.publish('/api/v1/agents/@amy/tool', await agentTarball({ name: 'tool', version: '1.0.1', scope: 'amy' }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.got.filter((g) => g.path === '/user-gone')).toHaveLength(1);
  });
});

describe.skipIf(!testStores.includes('postgres'))('webhook deliveries shared by two server processes on one database', () => {
  let a: TestServer;
  let b: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    // Two processes on one database share the secret store's root key, as a scaled-out deployment does.
    const env = { AGENTRY_WEBHOOK_RETRY_BASE_MS: '200', AGENTRY_SECRET_KEY: randomBytes(32).toString('hex') };
    a = await startTestServer({ store: 'postgres', egressAllow: '127.0.0.1', env });
    b = await startTestServer({ store: 'postgres', egressAllow: '127.0.0.1', env, postgresSchema: a.schema, adminToken: a.adminToken });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await receiver?.close();
  });

  it('sends each delivery once, whichever process queued it', async () => {
    const viaA = new Api(a.url, a.adminToken);
    const viaB = new Api(b.url, a.adminToken);
    expect((await viaA.req('POST', '/api/v1/orgs', { name: 'duo', owner: 'admin' })).status).toBe(201);
    expect((await viaB.req('POST', '/api/v1/orgs/duo/webhooks', { url: `${receiver.url}/duo`, events: ['package.published'], secret: SECRET })).status).toBe(201);
    const versions = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5'];
    for (const [i, version] of versions.entries()) {
      const api = i % 2 === 0 ? viaA : viaB;
      expect((await api.publish('/api/v1/agents/@duo/pair', await agentTarball({ name: 'pair', version, scope: 'duo' }))).status).toBe(200);
    }
    await waitFor('every delivery', async () => (receiver.got.filter((g) => g.path === '/duo').length >= versions.length ? true : undefined));
    await new Promise((r) => setTimeout(r, 600));
    const hits = receiver.got.filter((g) => g.path === '/duo');
    expect(hits.every((h) => h.signed)).toBe(true);
    const ids = hits.map((h) => h.headers['x-agentry-delivery']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(hits.map((h) => JSON.parse(h.body).data.version).sort()).toEqual(versions);
  });

  it('tells the other process when a webhook is removed: its writes queue nothing for it after', async () => {
    const viaA = new Api(a.url, a.adminToken);
    const viaB = new Api(b.url, a.adminToken);
    const [hook] = (await viaA.req('GET', '/api/v1/orgs/duo/webhooks')).body.webhooks as Array<{ id: string }>;
    expect((await viaA.req('DELETE', `/api/v1/orgs/duo/webhooks/${hook!.id}`)).status).toBe(200);
    // The removal reaches B on commit (a PostgreSQL notification); give it a moment on a loaded machine.
    await new Promise((r) => setTimeout(r, 500));
    const before = receiver.got.filter((g) => g.path === '/duo').length;
    expect((await viaB.publish('/api/v1/agents/@duo/pair', await agentTarball({ name: 'pair', version: '2.0.0', scope: 'duo' }))).status).toBe(200);
    // And a hook added on B is heard by A's writes.
    expect((await viaB.req('POST', '/api/v1/orgs/duo/webhooks', { url: `${receiver.url}/duo-again`, events: ['package.published'], secret: SECRET })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 500));
    expect((await viaA.publish('/api/v1/agents/@duo/pair', await agentTarball({ name: 'pair', version: '2.0.1', scope: 'duo' }))).status).toBe(200);
    const again = await waitFor('the delivery to the new hook', async () => receiver.got.find((g) => g.path === '/duo-again'));
    expect(JSON.parse(again.body).data.version).toBe('2.0.1');
    expect(receiver.got.filter((g) => g.path === '/duo')).toHaveLength(before);
  });
});
