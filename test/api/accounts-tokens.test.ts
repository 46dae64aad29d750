import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('accounts, orgs and tokens (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let bob: Api;
  let carol: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    carol = admin.with((await admin.req('POST', '/api/v1/users', { username: 'Carol', email: 'carol@example.com' })).body.token);
  });
  afterAll(() => server.close());

  it('tells who is calling', async () => {
    const me = await bob.req('GET', '/api/v1/whoami');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: 'bob', kind: 'user', is_admin: false, scopes: ['@bob'], token: { permission: 'publish' } });
    expect((await bob.with(undefined).req('GET', '/api/v1/whoami')).status).toBe(401);
  });

  it('lower-cases user names and refuses taken, reserved and malformed ones', async () => {
    expect((await carol.req('GET', '/api/v1/whoami')).body.username).toBe('carol');
    const taken = await admin.req('POST', '/api/v1/users', { username: 'BOB' });
    expect(taken.status).toBe(409);
    expect((await admin.req('POST', '/api/v1/users', { username: 'admin' })).status).toBe(400);
    expect((await admin.req('POST', '/api/v1/users', { username: 'api' })).status).toBe(400);
    const bad = await admin.req('POST', '/api/v1/users', { username: 'no spaces!' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/Invalid user name/);
  });

  it('only lets admins create users and orgs', async () => {
    expect((await bob.req('POST', '/api/v1/users', { username: 'mallory' })).status).toBe(403);
    expect((await bob.req('POST', '/api/v1/orgs', { name: 'evil' })).status).toBe(403);
  });

  it('lets org members publish to the org scope and owners manage members', async () => {
    const org = await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'bob' });
    expect(org.status).toBe(201);
    expect(org.body.members).toEqual([{ username: 'bob', role: 'owner' }]);

    const tgz = await agentTarball({ name: 'support-bot', version: '1.0.0', scope: 'acme' });
    const denied = await carol.publish('/api/v1/agents/@acme/support-bot', tgz);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('You can only publish under @carol scope');

    expect((await carol.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(403);
    const added = await bob.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' });
    expect(added.status).toBe(200);
    expect(added.body.members).toEqual([{ username: 'bob', role: 'owner' }, { username: 'carol', role: 'member' }]);
    expect((await carol.publish('/api/v1/agents/@acme/support-bot', tgz)).status).toBe(200);

    const me = await carol.req('GET', '/api/v1/whoami');
    expect(me.body.orgs).toEqual([{ name: 'acme', role: 'member' }]);
    expect(me.body.scopes).toEqual(['@acme', '@carol']);

    const lastOwner = await bob.req('DELETE', '/api/v1/orgs/acme/members/bob');
    expect(lastOwner.status).toBe(409);
    expect((await bob.req('DELETE', '/api/v1/orgs/acme/members/carol')).status).toBe(200);
    const gone = await carol.publish('/api/v1/agents/@acme/support-bot', await agentTarball({ name: 'support-bot', version: '1.0.1', scope: 'acme' }));
    expect(gone.status).toBe(403);
  });

  it('creates, lists and revokes tokens; a secret is shown once and stored only as a hash', async () => {
    const created = await bob.req('POST', '/api/v1/tokens', { name: 'ci', permission: 'read', expires_in_days: 30 });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^agentry_[A-Za-z0-9_-]{43}$/);
    expect(created.body.expires_at).toBeTruthy();
    const list = await bob.req('GET', '/api/v1/tokens');
    const listed = list.body.tokens.find((t: { id: number }) => t.id === created.body.id);
    expect(listed).toMatchObject({ name: 'ci', permission: 'read', revoked_at: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect(listed.prefix).toBe(created.body.token.slice(0, listed.prefix.length));

    const reader = bob.with(created.body.token);
    expect((await reader.req('GET', '/api/v1/whoami')).status).toBe(200);
    const cannotPublish = await reader.publish('/api/v1/agents/@bob/x', await agentTarball({ name: 'x', version: '1.0.0', scope: 'bob' }));
    expect(cannotPublish.status).toBe(403);
    expect(cannotPublish.body.error).toMatch(/'read' permission/);

    expect((await carol.req('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(404);
    expect((await bob.req('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(200);
    const revoked = await reader.req('GET', '/api/v1/whoami');
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toBe('This token has been revoked');
  });

  it('accepts x-api-key and refuses a token given by its prefix', async () => {
    const token = bob.token!;
    const viaKey = await fetch(`${server.url}/api/v1/whoami`, { headers: { 'x-api-key': token } });
    expect(viaKey.status).toBe(200);
    const prefix = await bob.with(token.slice(0, 20)).req('GET', '/api/v1/whoami');
    expect(prefix.status).toBe(401);
    const longer = await bob.with(`${token}x`).req('GET', '/api/v1/whoami');
    expect(longer.status).toBe(401);
  });

  it('restricts a token to its scopes and never widens them', async () => {
    const scoped = await admin.req('POST', '/api/v1/tokens', { name: 'only-bob', permission: 'publish', scopes: ['@bob'] });
    expect(scoped.body.scopes).toEqual(['@bob']);
    const t = admin.with(scoped.body.token);
    const r = await t.publish('/api/v1/agents/@carol/thing', await agentTarball({ name: 'thing', version: '1.0.0', scope: 'carol' }));
    expect(r.status).toBe(403);
    expect(r.body.error).toMatch(/restricted to @bob/);
    expect((await t.req('POST', '/api/v1/tokens', { name: 'wider', permission: 'publish' })).status).toBe(403);
    expect((await bob.req('POST', '/api/v1/tokens', { name: 'admin?', permission: 'admin' })).status).toBe(403);
  });

  it('shows public profiles with package counts and downloads', async () => {
    const p = await bob.with(undefined).req('GET', '/api/v1/users/acme');
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ username: 'acme', kind: 'org', agent_count: 1, total_downloads: 0 });
    expect((await bob.req('GET', '/api/v1/users/nobody-here')).status).toBe(404);
  });

  it('records every write in the audit log, visible to admins only', async () => {
    expect((await bob.req('GET', '/api/v1/audit')).status).toBe(403);
    const log = await admin.req('GET', '/api/v1/audit?limit=100');
    expect(log.status).toBe(200);
    const actions = log.body.entries.map((e: { action: string }) => e.action);
    for (const a of ['user.create', 'org.create', 'org.member.set', 'org.member.remove', 'token.create', 'token.revoke', 'package.publish']) {
      expect(actions).toContain(a);
    }
    const publish = log.body.entries.find((e: { action: string }) => e.action === 'package.publish');
    expect(publish).toMatchObject({ actor: 'carol', target: '@acme/support-bot@1.0.0', ip: '127.0.0.1' });
  });
});
