import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { storeQuery } from '../helpers/on-store.js';
import { expectError, expectNothingWritten, registryState } from '../helpers/refusals.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Every request the registry must refuse for who is asking: 401 for a missing, invalid, revoked
 * or expired token, 403 for a token or account without the right. Each refusal names the problem,
 * writes nothing and leaves the server serving.
 */

/** Moves a token's expiry into the past by editing the store (the test server runs on the system clock). */
const expireToken = async (server: TestServer, secret: string, at: string): Promise<void> => {
  const hash = createHash('sha256').update(secret, 'utf8').digest('hex');
  expect((await storeQuery(server, 'UPDATE tokens SET expires_at = ? WHERE hash = ?', [at, hash])).changes).toBe(1);
};

describe.each(testStores)('bad input: authentication and permissions (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let carol: Api;
  const terms = ['helpful', 'intruder'];
  const newAgent = (scope: string, name = 'intruder', version = '1.0.0') => agentTarball({ name, version, scope });

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    const user = async (username: string) => {
      const r = await admin.req('POST', '/api/v1/users', { username });
      expect(r.status).toBe(201);
      return admin.with(r.body.token);
    };
    alice = await user('alice');
    bob = await user('bob');
    carol = await user('carol');
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'carol' })).status).toBe(201);
    expect((await alice.publish('/api/v1/agents/@alice/base', await agentTarball({ name: 'base', version: '1.0.0', scope: 'alice' }))).status).toBe(200);
  });
  afterAll(() => server?.close());

  it('refuses a publish without a token with 401', async () => {
    const before = await registryState(server, admin, terms);
    const r = await alice.with(undefined).publish('/api/v1/agents/@alice/intruder', await newAgent('alice'));
    expectError(r, 401, "Authentication required: send a token as 'Authorization: Bearer <token>' or 'x-api-key: <token>'");
    await expectNothingWritten(server, admin, before);
  });

  it('refuses malformed, unknown and truncated tokens with 401, by either header', async () => {
    const before = await registryState(server, admin, terms);
    const tgz = await newAgent('alice');
    const real = alice.token!;
    for (const bad of ['nope', `agentry_${'A'.repeat(43)}`, real.slice(0, 20), `${real}x`, real.toUpperCase()]) {
      expectError(await alice.with(bad).publish('/api/v1/agents/@alice/intruder', tgz), 401, 'Invalid token');
    }
    const form = new FormData();
    form.set('tarball', new Blob([tgz]), 'p.tgz');
    const badHeaders: Array<Record<string, string>> = [{ 'x-api-key': 'garbage' }, { authorization: 'Basic YWxpY2U6c2VjcmV0' }, { authorization: 'Bearer' }];
    for (const headers of badHeaders) {
      const r = await fetch(`${server.url}/api/v1/agents/@alice/intruder`, { method: 'PUT', headers, body: form });
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(await r.json()).toEqual({ error: 'Invalid token' });
    }
    // A bad token is refused even on routes that would serve an anonymous caller's token-aware view.
    expectError(await alice.with('nope').req('GET', '/api/v1/whoami'), 401, 'Invalid token');
    await expectNothingWritten(server, admin, before);
  });

  it('refuses a revoked token with 401', async () => {
    const t = await alice.req('POST', '/api/v1/tokens', { name: 'soon revoked', permission: 'publish' });
    expect(t.status).toBe(201);
    expect((await alice.req('DELETE', `/api/v1/tokens/${t.body.id}`)).status).toBe(200);
    const before = await registryState(server, admin, terms);
    const revoked = alice.with(t.body.token);
    expectError(await revoked.publish('/api/v1/agents/@alice/intruder', await newAgent('alice')), 401, 'This token has been revoked');
    expectError(await revoked.req('POST', '/api/v1/tokens', { name: 'phoenix', permission: 'read' }), 401, 'This token has been revoked');
    expectError(await revoked.req('DELETE', '/api/v1/agents/@alice/base/1.0.0'), 401, 'This token has been revoked');
    await expectNothingWritten(server, admin, before);
  });

  it('refuses an expired token with 401 naming when it expired', async () => {
    const t = await alice.req('POST', '/api/v1/tokens', { name: 'short-lived', permission: 'publish', expires_in_days: 1 });
    expect(t.status).toBe(201);
    const expired = alice.with(t.body.token);
    expect((await expired.req('GET', '/api/v1/whoami')).status).toBe(200);
    await expireToken(server, t.body.token, '2020-01-01T00:00:00.000Z');
    const before = await registryState(server, admin, terms);
    expectError(await expired.publish('/api/v1/agents/@alice/intruder', await newAgent('alice')), 401, 'This token expired at 2020-01-01T00:00:00.000Z');
    expectError(await expired.req('GET', '/api/v1/whoami'), 401, 'This token expired at 2020-01-01T00:00:00.000Z');
    await expectNothingWritten(server, admin, before);
  });

  it('refuses expiries out of range with 400', async () => {
    const before = await alice.req('GET', '/api/v1/tokens');
    for (const days of [0, 3651]) {
      const r = await alice.req('POST', '/api/v1/tokens', { name: 'bad', permission: 'read', expires_in_days: days });
      expect(r.status, String(days)).toBe(400);
      expect(r.body.error).toMatch(/expires_in_days|Validation failed/);
    }
    expect((await alice.req('GET', '/api/v1/tokens')).body).toEqual(before.body);
  });

  it('refuses a read-only token trying to publish with 403', async () => {
    const reader = alice.with((await alice.req('POST', '/api/v1/tokens', { name: 'reader', permission: 'read' })).body.token);
    const before = await registryState(server, admin, terms);
    expectError(await reader.publish('/api/v1/agents/@alice/intruder', await newAgent('alice')), 403, "This token has 'read' permission; this action needs 'publish'");
    expectError(await reader.req('DELETE', '/api/v1/agents/@alice/base/1.0.0'), 403, "This token has 'read' permission; this action needs 'publish'");
    expectError(await reader.req('PUT', '/api/v1/agents/@alice/base/dist-tags/beta', { version: '1.0.0' }), 403, /'read' permission/);
    await expectNothingWritten(server, admin, before);
  });

  it('refuses a token restricted to other scopes with 403', async () => {
    const scoped = alice.with((await alice.req('POST', '/api/v1/tokens', { name: 'only bob', permission: 'publish', scopes: ['@bob'] })).body.token);
    const before = await registryState(server, admin, terms);
    expectError(await scoped.publish('/api/v1/agents/@alice/intruder', await newAgent('alice')), 403, 'This token is restricted to @bob and cannot write to @alice');
    await expectNothingWritten(server, admin, before);
  });

  it("refuses publishing into someone else's scope with 403", async () => {
    const before = await registryState(server, admin, terms);
    const r = await alice.publish('/api/v1/agents/@bob/intruder', await newAgent('bob'));
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: 'You can only publish under @alice scope' });
    // An org's scope, and a scope nobody owns yet.
    expectError(await alice.publish('/api/v1/agents/@acme/intruder', await newAgent('acme')), 403, 'You can only publish under @alice scope');
    expectError(await alice.publish('/api/v1/agents/@nobody/intruder', await newAgent('nobody')), 403, 'You can only publish under @alice scope');
    // With several scopes the message lists them.
    expectError(await carol.publish('/api/v1/agents/@bob/intruder', await newAgent('bob')), 403, 'You can only publish under your scopes (@acme, @carol); @bob is not one of them');
    // A new version of someone else's existing package.
    expectError(await bob.publish('/api/v1/agents/@alice/base', await agentTarball({ name: 'base', version: '1.0.1', scope: 'alice' })), 403, 'You can only publish under @bob scope');
    await expectNothingWritten(server, admin, before);
  });

  it("refuses unpublishing, tagging and deprecating someone else's package with 403", async () => {
    const before = await registryState(server, admin, terms);
    const tagsBefore = (await bob.req('GET', '/api/v1/agents/@alice/base/dist-tags')).body;
    expectError(await bob.req('DELETE', '/api/v1/agents/@alice/base/1.0.0'), 403, 'You can only publish under @bob scope');
    expectError(await bob.req('PUT', '/api/v1/agents/@alice/base/dist-tags/stable', { version: '1.0.0' }), 403, 'You can only publish under @bob scope');
    expectError(await bob.req('DELETE', '/api/v1/agents/@alice/base/dist-tags/latest'), 403, 'You can only publish under @bob scope');
    expectError(await bob.req('POST', '/api/v1/agents/@alice/base/versions/1.0.0/deprecate', { message: 'mine now' }), 403, 'You can only publish under @bob scope');
    expect((await bob.req('GET', '/api/v1/agents/@alice/base/dist-tags')).body).toEqual(tagsBefore);
    await expectNothingWritten(server, admin, before);
  });

  it('never lets a token mint a more powerful one (403)', async () => {
    const reader = alice.with((await alice.req('POST', '/api/v1/tokens', { name: 'reader2', permission: 'read' })).body.token);
    const scoped = alice.with((await alice.req('POST', '/api/v1/tokens', { name: 'scoped', permission: 'publish', scopes: ['@alice'] })).body.token);
    // Using a token touches its last_used_at; the set of tokens must not change.
    const tokenIds = async () => (await alice.req('GET', '/api/v1/tokens')).body.tokens.map((t: { id: number; name: string }) => `${t.id}:${t.name}`);
    const tokensBefore = await tokenIds();
    const auditBefore = (await admin.req('GET', '/api/v1/audit?limit=1')).body.total;
    expectError(await reader.req('POST', '/api/v1/tokens', { name: 'escalate', permission: 'publish' }), 403, /'read' permission; creating or revoking tokens and API keys needs/);
    expectError(await reader.req('POST', '/api/v1/tokens', { name: 'same', permission: 'read' }), 403, /'read' permission; creating or revoking tokens/);
    expectError(await alice.req('POST', '/api/v1/tokens', { name: 'escalate', permission: 'admin' }), 403, "A 'publish' token cannot create a 'admin' token");
    expectError(await scoped.req('POST', '/api/v1/tokens', { name: 'wider', permission: 'publish' }), 403, 'This token is restricted to @alice; it cannot create a token for (all scopes)');
    expectError(await alice.with(undefined).req('POST', '/api/v1/tokens', { name: 'anon', permission: 'read' }), 401, /^Authentication required/);
    expect(await tokenIds()).toEqual(tokensBefore);
    expect((await admin.req('GET', '/api/v1/audit?limit=1')).body.total).toBe(auditBefore);
  });

  it('refuses account and admin operations to non-admins (403) and writes nothing', async () => {
    const before = await registryState(server, admin, terms);
    expectError(await alice.req('POST', '/api/v1/users', { username: 'mallory' }), 403, "This token has 'publish' permission; this action needs 'admin'");
    expectError(await alice.req('POST', '/api/v1/users', { username: 'mallory', admin: true }), 403, /needs 'admin'/);
    expectError(await alice.with(undefined).req('POST', '/api/v1/users', { username: 'mallory' }), 401, /^Authentication required/);
    expectError(await alice.req('POST', '/api/v1/orgs', { name: 'evil-corp' }), 403, /needs 'admin'/);
    expectError(await alice.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 }), 403, /needs 'admin'/);
    expectError(await alice.req('GET', '/api/v1/audit'), 403, /needs 'admin'/);
    expectError(await alice.req('PUT', '/api/v1/orgs/acme/members/alice', { role: 'owner' }), 403, 'Only an owner of @acme or an administrator can manage its members');
    // An admin account holding a token without admin permission is refused too.
    const weakAdmin = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'admin publish', permission: 'publish' })).body.token);
    const mid = await registryState(server, admin, terms);
    expectError(await weakAdmin.req('POST', '/api/v1/users', { username: 'mallory' }), 403, "This token has 'publish' permission; this action needs 'admin'");
    expect((await alice.req('GET', '/api/v1/users/mallory')).status).toBe(404);
    expect((await alice.req('GET', '/api/v1/orgs/evil-corp')).status).toBe(404);
    expect((await alice.req('GET', '/api/v1/orgs/acme')).body.members).toEqual([{ username: 'carol', role: 'owner' }]);
    await expectNothingWritten(server, admin, mid);
    expect(mid.auditTotal).toBe(before.auditTotal + 1); // only the admin's own token.create
  });

  it("does not let a user revoke someone else's token", async () => {
    const bobs = await bob.req('GET', '/api/v1/tokens');
    const id = bobs.body.tokens[0].id;
    expectError(await alice.req('DELETE', `/api/v1/tokens/${id}`), 404, `Token ${id} not found`);
    expect((await bob.req('GET', '/api/v1/whoami')).status).toBe(200);
  });
});
