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
    // The organisation that owns what mirrors bring in: no one may take its name first.
    const mirrors = await admin.req('POST', '/api/v1/users', { username: 'agentry-mirrors' });
    expect(mirrors.status).toBe(400);
    expect(mirrors.body.error).toMatch(/reserved/);
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'Agentry-Mirrors' })).status).toBe(400);
    const bad = await admin.req('POST', '/api/v1/users', { username: 'no spaces!' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/Invalid user name/);
  });

  it('only lets admins create users and orgs', async () => {
    expect((await bob.req('POST', '/api/v1/users', { username: 'mallory' })).status).toBe(403);
    expect((await bob.req('POST', '/api/v1/orgs', { name: 'evil' })).status).toBe(403);
  });

  it('gives org roles: owners manage, maintainers publish, members only read', async () => {
    const org = await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'bob' });
    expect(org.status).toBe(201);
    expect(org.body.members).toEqual([{ username: 'bob', role: 'owner' }]);

    const tgz = await agentTarball({ name: 'support-bot', version: '1.0.0', scope: 'acme' });
    const denied = await carol.publish('/api/v1/agents/@acme/support-bot', tgz);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('You can only publish under @carol scope');

    expect((await carol.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(403);
    expect((await bob.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'developer' })).status).toBe(400);
    const added = await bob.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' });
    expect(added.status).toBe(200);
    expect(added.body.members).toEqual([
      { username: 'bob', role: 'owner' },
      { username: 'carol', role: 'member' },
    ]);
    // A member reads, but neither publishes nor manages.
    const asMember = await carol.publish('/api/v1/agents/@acme/support-bot', tgz);
    expect(asMember.status).toBe(403);
    expect(asMember.body.error).toMatch(/member of @acme with read access only/);
    expect((await carol.req('GET', '/api/v1/whoami')).body).toMatchObject({ orgs: [{ name: 'acme', role: 'member' }], scopes: ['@carol'] });
    expect((await carol.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'owner' })).status).toBe(403);

    expect((await bob.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'maintainer' })).status).toBe(200);
    expect((await carol.publish('/api/v1/agents/@acme/support-bot', tgz)).status).toBe(200);
    expect((await carol.req('PUT', '/api/v1/agents/@acme/support-bot/dist-tags/beta', { version: '1.0.0' })).status).toBe(200);
    expect((await carol.req('POST', '/api/v1/agents/@acme/support-bot/versions/1.0.0/deprecate', { message: 'old' })).status).toBe(200);
    // A maintainer does not manage members.
    const notOwner = await carol.req('DELETE', '/api/v1/orgs/acme/members/bob');
    expect(notOwner.status).toBe(403);
    expect(notOwner.body.error).toBe('Only an owner of @acme or an administrator can manage its members');

    const me = await carol.req('GET', '/api/v1/whoami');
    expect(me.body.orgs).toEqual([{ name: 'acme', role: 'maintainer' }]);
    expect(me.body.scopes).toEqual(['@acme', '@carol']);

    // An org always keeps one owner: neither removed nor demoted.
    const lastOwner = await bob.req('DELETE', '/api/v1/orgs/acme/members/bob');
    expect(lastOwner.status).toBe(409);
    const demoted = await bob.req('PUT', '/api/v1/orgs/acme/members/bob', { role: 'maintainer' });
    expect(demoted.status).toBe(409);
    expect(demoted.body.error).toMatch(/last owner of @acme/);
    expect((await bob.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'owner' })).status).toBe(200);
    expect((await bob.req('PUT', '/api/v1/orgs/acme/members/bob', { role: 'maintainer' })).status).toBe(200);
    expect((await carol.req('PUT', '/api/v1/orgs/acme/members/bob', { role: 'owner' })).status).toBe(200);
    expect((await bob.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'maintainer' })).status).toBe(200);

    // A read-only token of an owner manages nothing.
    const bobRead = bob.with((await bob.req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' })).body.token);
    expect((await bobRead.req('DELETE', '/api/v1/orgs/acme/members/carol')).status).toBe(403);

    expect((await bob.req('DELETE', '/api/v1/orgs/acme/members/carol')).status).toBe(200);
    const gone = await carol.publish('/api/v1/agents/@acme/support-bot', await agentTarball({ name: 'support-bot', version: '1.0.1', scope: 'acme' }));
    expect(gone.status).toBe(403);
  });

  it('never lets a read-only token manage tokens or API keys', async () => {
    const other = await bob.req('POST', '/api/v1/tokens', { name: 'other', permission: 'publish' });
    const ro = await bob.req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' });
    const reader = bob.with(ro.body.token);
    const create = await reader.req('POST', '/api/v1/tokens', { name: 'more', permission: 'read' });
    expect(create.status).toBe(403);
    expect(create.body.error).toMatch(/'read' permission; creating or revoking tokens/);
    expect((await reader.req('DELETE', `/api/v1/tokens/${other.body.id}`)).status).toBe(403);
    expect((await reader.req('POST', '/v1/api_keys', { name: 'k' })).status).toBe(403);
    const key = await bob.req('POST', '/v1/api_keys', { name: 'k' });
    expect(key.status).toBe(200);
    expect((await reader.req('DELETE', `/v1/api_keys/${key.body.id}`)).status).toBe(403);
    const listed = await reader.req('GET', '/api/v1/tokens');
    expect(listed.status).toBe(200);
    expect(listed.body.tokens.find((t: { id: number }) => t.id === other.body.id).revoked_at).toBeNull();
    // A publish token does not revoke a stronger one, an admin token does; any token signs itself out.
    const adminRead = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'pub', permission: 'publish' })).body.token);
    const adminTwo = await admin.req('POST', '/api/v1/tokens', { name: 'adm', permission: 'admin' });
    expect((await adminRead.req('DELETE', `/api/v1/tokens/${adminTwo.body.id}`)).status).toBe(403);
    expect((await admin.req('DELETE', `/api/v1/tokens/${adminTwo.body.id}`)).status).toBe(200);
    expect((await reader.req('DELETE', `/api/v1/tokens/${ro.body.id}`)).status).toBe(200);
    expect((await reader.req('GET', '/api/v1/whoami')).status).toBe(401);
  });

  it('parses token ids strictly: 1.0, 01, 1e0, +1, 0x1 never reach token 1', async () => {
    const victim = await bob.req('POST', '/api/v1/tokens', { name: 'victim', permission: 'read' });
    const id: number = victim.body.id;
    for (const bad of [`${id}.0`, `0${id}`, `${id}e0`, `+${id}`, `%20${id}`, `${id}%20`, `0x${id.toString(16)}`, `${id}.`, '0', '-1', `${id}0000000000000000`, '99999999999999999999']) {
      const r = await bob.req('DELETE', `/api/v1/tokens/${bad}`);
      expect([400, 404], `DELETE /api/v1/tokens/${bad}`).toContain(r.status);
    }
    const big = await bob.req('DELETE', '/api/v1/tokens/9999999999999999');
    expect(big.status).toBe(404);
    const still = (await bob.req('GET', '/api/v1/tokens')).body.tokens.find((t: { id: number }) => t.id === id);
    expect(still.revoked_at).toBeNull();
    for (const bad of [`key_${id}.0`, `key_0${id}`, `key_${id}e0`, `key_+${id}`]) {
      expect([400, 404], bad).toContain((await bob.req('DELETE', `/v1/api_keys/${bad}`)).status);
    }
    expect((await bob.req('GET', '/api/v1/tokens')).body.tokens.find((t: { id: number }) => t.id === id).revoked_at).toBeNull();
    // Managed agents' revision numbers in a path follow the same rule, and stay within what a store holds.
    const agent = await bob.req('POST', '/v1/agents', { name: 'strict', model: 'claude-sonnet-4-6' });
    expect((await bob.req('GET', `/v1/agents/${agent.body.id}/versions/1`)).status).toBe(200);
    for (const bad of ['1.0', '01', '1e0', '+1', '0x1', '%201', '999999999999999']) {
      expect([400, 404], `/versions/${bad}`).toContain((await bob.req('GET', `/v1/agents/${agent.body.id}/versions/${bad}`)).status);
    }
    expect((await bob.req('POST', `/v1/agents/${agent.body.id}/publish`, { agent_version: 99_999_999_999 })).status).toBe(400);
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

  it("shows each account the audit log of what it did itself, and nobody else's", async () => {
    const own = await carol.req('GET', '/api/v1/whoami/audit?limit=100');
    expect(own.status).toBe(200);
    expect(own.body.entries.length).toBeGreaterThan(0);
    expect(own.body.total).toBe(own.body.entries.length);
    expect(new Set(own.body.entries.map((e: { actor: string }) => e.actor))).toEqual(new Set(['carol']));
    expect(own.body.entries.map((e: { action: string }) => e.action)).toContain('package.publish');
    // The admin's own log holds the users it created, none of carol's publishes.
    const admins = await admin.req('GET', '/api/v1/whoami/audit?action=package.publish');
    expect(admins.body.entries.filter((e: { actor: string }) => e.actor !== 'admin')).toEqual([]);
    const paged = await carol.req('GET', '/api/v1/whoami/audit?limit=1&page=2');
    expect([paged.body.entries.length, paged.body.page, paged.body.total]).toEqual([1, 2, own.body.total]);
    expect(paged.body.entries[0].id).toBe(own.body.entries[1].id);
    expect((await new Api(server.url).req('GET', '/api/v1/whoami/audit')).status).toBe(401);
    expect((await carol.req('GET', '/api/v1/whoami/audit?limit=0')).status).toBe(400);
    expect((await carol.req('GET', '/api/v1/whoami/audit?actor=admin')).body.entries.every((e: { actor: string }) => e.actor === 'carol')).toBe(true);
  });

  it('makes the organisations the server needs for itself by one rule: no members, audited as made by nobody', async () => {
    // The recipe scope's org exists from the first start; the mirrors' owner comes with the first mirror.
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'upstream-oci', url: 'https://registry.example.com' })).status).toBe(201);
    for (const name of ['recipes', 'agentry-mirrors']) {
      const org = await admin.req('GET', `/api/v1/orgs/${name}`);
      expect(org.status).toBe(200);
      expect(org.body.members).toEqual([]);
    }
    const created = await admin.req('GET', '/api/v1/audit?action=org.create&limit=100');
    const system = created.body.entries.filter((e: { actor: string | null }) => e.actor === null).map((e: { target: string }) => e.target);
    expect(system.sort()).toEqual(['@agentry-mirrors', '@recipes']);
  });
});
