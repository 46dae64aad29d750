import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * A server logging at trace level, driven through multipart, JSON and OCI requests with every way
 * of sending a credential: no token, Basic credential or cookie shows in any log line, and a
 * request to a feature that is not configured (OAuth sign-in) writes no error line with a stack.
 */
describe.each(testStores)('log lines hold no credential, at any level (%s)', (store) => {
  let server: TestServer;
  let lines: string[] = [];
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    server = await startTestServer({ store, log: { level: 'trace', stream } });
    secrets.admin = server.adminToken;
  });
  afterAll(async () => server?.close());

  it('runs multipart, JSON and OCI requests with tokens in every header', async () => {
    const admin = new Api(server.url, server.adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'logger' });
    expect(created.status).toBe(201);
    secrets.user = created.body.token;
    const user = admin.with(secrets.user);

    // Multipart with Bearer (the audit's case) and with x-api-key, a token in a form field too.
    const tgz = await agentTarball({ name: 'logged', version: '1.0.0', scope: 'logger' });
    expect((await user.publish('/api/v1/agents/@logger/logged', tgz, { token: secrets.user })).status).toBe(200);
    const form = new FormData();
    form.set('tarball', new Blob([await agentTarball({ name: 'logged', version: '1.0.1', scope: 'logger' })]), 'p.tgz');
    expect((await fetch(`${server.url}/api/v1/agents/@logger/logged`, { method: 'PUT', headers: { 'x-api-key': secrets.user }, body: form })).status).toBe(200);
    const file = new FormData();
    file.set('file', new Blob(['hello']), 'hello.txt');
    const upload = await fetch(`${server.url}/v1/files`, { method: 'POST', headers: { 'x-api-key': secrets.user, 'anthropic-beta': 'files-api-2025-04-14' }, body: file });
    expect(upload.status).toBeLessThan(500);

    // JSON: a token created (its secret is in the answer only), headers of every kind.
    const minted = await user.req('POST', '/api/v1/tokens', { name: 'ci', permission: 'read' }, { cookie: `session=${secrets.user}`, 'proxy-authorization': `Bearer ${secrets.user}` });
    expect(minted.status).toBe(201);
    secrets.minted = minted.body.token;
    expect((await admin.with(secrets.minted).req('GET', '/api/v1/whoami')).status).toBe(200);
    expect((await admin.with('agentry_' + 'x'.repeat(43)).req('GET', '/api/v1/whoami')).status).toBe(401);

    // OCI: Basic credentials for the token endpoint and on a registry route, then its Bearer token.
    const tokenRes = await fetch(`${server.url}/v2/token?service=x&scope=repository:logger/logged:pull`, { headers: { authorization: basic('logger', secrets.user) } });
    expect(tokenRes.status).toBe(200);
    secrets.oci = ((await tokenRes.json()) as { token: string }).token;
    secrets.basic = basic('logger', secrets.user).slice('Basic '.length);
    expect((await fetch(`${server.url}/v2/logger/logged/tags/list`, { headers: { authorization: basic('logger', secrets.user) } })).status).toBeLessThan(500);
    expect((await fetch(`${server.url}/v2/logger/logged/tags/list`, { headers: { authorization: `Bearer ${secrets.oci}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/v2/logger/nope/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${secrets.oci}` } })).status).toBeLessThan(500);

    // Refusals log too: a bad multipart body with a valid token, malformed JSON quoting the token.
    expect(
      (
        await fetch(`${server.url}/api/v1/agents/@logger/logged`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${secrets.user}`, 'content-type': 'multipart/form-data; boundary=zz' },
          body: '--zz\r\nbroken',
        })
      ).status,
    ).toBe(400);
    expect(
      (await fetch(`${server.url}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${secrets.user}`, 'content-type': 'application/json' }, body: `{"name":"${secrets.user}",` }))
        .status,
    ).toBe(400);
  });

  it('answers sign-in with no provider configured without an error line or a stack', async () => {
    const before = lines.length;
    for (const [method, path] of [
      ['POST', '/api/v1/auth/github'],
      ['GET', '/api/v1/auth/callback?code=x&state=y'],
    ]) {
      const r = await fetch(`${server.url}${path}`, { method, headers: method === 'POST' ? { 'content-type': 'application/json' } : {}, body: method === 'POST' ? '{}' : undefined });
      expect(r.status).toBe(501);
      expect(r.headers.get('request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    }
    await new Promise((r) => setTimeout(r, 100));
    const added = lines.slice(before).map((l) => JSON.parse(l) as { level: number; err?: unknown; msg?: string });
    expect(added.length).toBeGreaterThan(0);
    expect(added.filter((l) => l.level >= 50)).toEqual([]);
    expect(added.filter((l) => l.err !== undefined || JSON.stringify(l).includes('"stack"'))).toEqual([]);
  });

  it('finds no credential in any line, and logs at trace', async () => {
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.some((l) => l.includes('"level":10'))).toBe(true);
    expect(lines.some((l) => l.includes('busboy'))).toBe(true);
    expect(Object.keys(secrets).sort()).toEqual(['admin', 'basic', 'minted', 'oci', 'user']);
    for (const [name, secret] of Object.entries(secrets)) {
      // The whole secret and its random part alone (a line may cut the prefix off).
      const random = secret.replace(/^agentry_/, '').slice(0, 24);
      const leaking = lines.filter((l) => l.includes(secret) || l.includes(random));
      expect(leaking, `${name} appears in ${leaking.length} log line(s): ${leaking[0]?.slice(0, 300)}`).toEqual([]);
    }
    expect(lines.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
  });
});
