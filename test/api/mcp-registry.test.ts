import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { invalidServers, validServers } from './mcp/fixtures.js';
import { OFFICIAL, enc, publish, userWithNamespace } from './mcp/helpers.js';

describe.each(testStores)('MCP Registry API: publish and read (%s)', (store) => {
  let server: TestServer;
  let alice: Api;
  let anon: Api;
  const ns = 'io.github.alice';

  beforeAll(async () => {
    server = await startTestServer({ store });
    alice = await userWithNamespace(server, 'alice', ns);
    anon = new Api(server.url);
  });
  afterAll(() => server.close());

  it('publishes every example shape and serves it back as published, with registry metadata', async () => {
    for (const body of validServers(ns)) {
      const r = await publish(alice, body);
      expect(r.status, `${body.name}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.server).toEqual(body);
      const meta = r.body._meta[OFFICIAL];
      expect(meta).toMatchObject({ status: 'active', isLatest: true });
      expect(Date.parse(meta.publishedAt)).not.toBeNaN();
      expect(meta.updatedAt).toBe(meta.publishedAt);
      // Always present, as in the official registry: the publish time until the status first changes.
      expect(meta.statusChangedAt).toBe(meta.publishedAt);

      const one = await anon.req('GET', `/v0.1/servers/${enc(body.name as string)}/versions/${enc(body.version as string)}`);
      expect(one.status).toBe(200);
      expect(one.body.server).toEqual(body);
      const latest = await anon.req('GET', `/v0.1/servers/${enc(body.name as string)}/versions/latest`);
      expect(latest.body.server.version).toBe(body.version);
      // The same routes under /v0.
      expect((await anon.req('GET', `/v0/servers/${enc(body.name as string)}/versions/latest`)).body).toEqual(latest.body);
    }
    const list = await anon.req('GET', '/v0.1/servers?limit=100');
    expect(list.status).toBe(200);
    expect(list.body.metadata.count).toBe(validServers(ns).length);
    expect(list.body.metadata.nextCursor).toBeUndefined();
    expect(list.body.servers.map((s: { server: { name: string } }) => s.server.name).sort()).toEqual(
      validServers(ns)
        .map((s) => s.name)
        .sort(),
    );
  });

  it('refuses each invalid server.json with 422 problem+json naming the problem, and stores nothing', async () => {
    for (const c of invalidServers(ns)) {
      const r = await publish(alice, c.body);
      expect(r.status, `${c.why}: ${JSON.stringify(r.body)}`).toBe(422);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ title: 'Unprocessable Entity', status: 422 });
      expect(r.body.detail, c.why).toMatch(c.expect);
    }
    expect((await anon.req('GET', `/v0.1/servers/${enc(`${ns}/bad`)}/versions`)).status).toBe(404);
  });

  it('reports every problem of one server.json at once', async () => {
    const r = await publish(alice, { name: 'nope', description: 'd'.repeat(101), version: 'latest' });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { message: string }) => e.message)).toEqual([
      "server.json: field 'name' value 'nope' must be '<namespace>/<name>', e.g. 'io.github.alice/weather'",
      "server.json: field 'description' is longer than 100 characters",
      "server.json: version 'latest' is reserved; publish an exact version",
    ]);
  });

  it('answers auth, namespace, duplicate and transport errors with the right status', async () => {
    const body = { name: `${ns}/guarded`, description: 'Guarded', version: '1.0.0' };
    const noToken = await publish(anon, body);
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ title: 'Unauthorized', status: 401 });
    expect((await publish(alice.with('agentry_' + 'x'.repeat(43)), body)).status).toBe(401);

    const outside = await publish(alice, { ...body, name: 'com.example/guarded' });
    expect(outside.status).toBe(403);
    expect(outside.body.detail).toContain('@alice');
    expect(outside.body.detail).toContain('@io.github.alice');
    expect(outside.body.detail).toContain('com.example');

    expect((await publish(alice, body)).status).toBe(200);
    const again = await publish(alice, body);
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already exists/);

    const malformed = await alice.req('POST', '/v0.1/publish', '{"name": ', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.title).toBe('Bad Request');
    const text = await alice.req('POST', '/v0.1/publish', 'name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('refuses a limit out of 1-100 with 422, as the official registry, and other bad query parameters with 400', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=-5', 'limit=100000']) {
      const r = await anon.req('GET', `/v0.1/servers?${q}`);
      expect(r.status, q).toBe(422);
      expect(r.body).toMatchObject({ title: 'Unprocessable Entity', status: 422 });
      expect(r.body.detail, q).toContain('limit');
    }
    expect((await anon.req('GET', '/v0.1/servers?limit=100')).status).toBe(200);
    for (const q of ['limit=ten', 'updated_since=yesterday', 'updated_since=2025-13-01T00:00:00Z', 'cursor=not-a-cursor', 'include_deleted=maybe']) {
      const r = await anon.req('GET', `/v0.1/servers?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.status).toBe(400);
    }
    expect((await anon.req('GET', '/v0.1/servers/no-slash/versions')).status).toBe(404);
    expect((await anon.req('GET', `/v0.1/servers/${enc(`${ns}/missing`)}/versions/latest`)).status).toBe(404);
    expect((await anon.req('GET', `/v0.1/servers/${enc(`${ns}/tiny`)}/versions/9.9.9`)).status).toBe(404);
    for (const method of ['PUT', 'DELETE']) {
      const r = await alice.req(method, `/v0.1/servers/${enc(`${ns}/tiny`)}/versions/1.0.0`, method === 'PUT' ? { name: `${ns}/tiny` } : undefined);
      expect(r.status, method).toBe(501);
      expect(r.headers.get('content-type')).toMatch(/problem\+json/);
      expect(r.body).toMatchObject({ title: 'Not Implemented', status: 501 });
      expect(r.body.detail).toContain('/status');
    }
    const unknown = await anon.req('GET', '/v0.1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ title: 'Not Found', status: 404 });
  });

  it('answers ping and health on /v0 and /v0.1', async () => {
    for (const prefix of ['/v0', '/v0.1']) {
      expect((await anon.req('GET', `${prefix}/ping`)).body).toEqual({ pong: true });
      const health = await anon.req('GET', `${prefix}/health`);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', store: store });
    }
  });

  it('takes a server.json in a tarball through the native API under the same rules', async () => {
    const { makeTarball } = await import('../helpers/packages.js');
    const bad = await alice.publish(`/api/v1/mcp-servers/@${ns}/tarred`, await makeTarball({ 'server.json': JSON.stringify({ name: `${ns}/tarred`, description: 'x', version: '^1.0.0' }) }));
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual(["server.json: version '^1.0.0' is a range; publish one exact version"]);
    const good = await alice.publish(
      `/api/v1/mcp-servers/@${ns}/tarred`,
      await makeTarball({ 'server.json': JSON.stringify({ name: `${ns}/tarred`, description: 'From a tarball', version: '2025.06.01' }) }),
    );
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    const viaMcp = await anon.req('GET', `/v0.1/servers/${enc(`${ns}/tarred`)}/versions/latest`);
    expect(viaMcp.body.server.version).toBe('2025.06.01');
    // And a bare publish is pullable through the native API like any package.
    const dl = await anon.req('GET', `/api/v1/mcp-servers/@${ns}/tiny/download/0.1.0`);
    expect(dl.status).toBe(200);
  });
});

describe('MCP Registry API: cross-origin reads', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('answers CORS preflights and marks answers readable from any origin', async () => {
    const pre = await fetch(`${server.url}/v0.1/servers`, { method: 'OPTIONS', headers: { origin: 'https://ide.example.org', 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    const list = await fetch(`${server.url}/v0.1/servers`, { headers: { origin: 'https://ide.example.org' } });
    expect(list.headers.get('access-control-allow-origin')).toBe('*');
    const missing = await fetch(`${server.url}/v0.1/servers/${encodeURIComponent('a.b/c')}/versions/latest`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('MCP Registry API: a read-only server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ readOnly: true });
  });
  afterAll(() => server.close());

  it('refuses publishes and status changes with 403 problem+json, and still reads', async () => {
    const admin = new Api(server.url, server.adminToken);
    const pub = await publish(admin, { name: 'io.github.admin/x', description: 'x', version: '1.0.0' });
    expect(pub.status).toBe(403);
    expect(pub.body).toMatchObject({ title: 'Forbidden', status: 403, detail: expect.stringMatching(/read-only/) });
    const status = await admin.req('PATCH', `/v0.1/servers/${enc('io.github.admin/x')}/status`, { status: 'deleted' });
    expect(status.status).toBe(403);
    expect((await admin.req('GET', '/v0.1/servers')).status).toBe(200);
  });
});
