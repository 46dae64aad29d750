import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { startFakeProviders, type FakeProviders } from '../managed/fake-providers.js';
import { expectManagedError } from '../managed/managed-harness.js';

/**
 * Issue 12 point 4: a runtime token belongs to one account or organisation and resolves only its
 * agentspaces, secrets and model-card keys; another account's look exactly like missing ones. An
 * administrator may make a server-wide one on purpose (`all_accounts`), and the audit log says so.
 */
const KEY = 'sk-runtime-test-key-7d2e9f3a';
const SECRETS = { alice: 'sk-alice-value-4f1b8c2d', bob: 'sk-bob-value-9e3a7c1d' };

describe.each(testStores)('runtime tokens (%s)', (store) => {
  let server: TestServer;
  let prov: FakeProviders;
  let admin: Api;
  let users: Record<'alice' | 'bob', Api>;
  const cards: Record<string, string> = {};

  const runtimeFor = async (body: Record<string, unknown>): Promise<Api> => {
    const r = await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return admin.with(r.body.token as string);
  };

  beforeAll(async () => {
    prov = await startFakeProviders(KEY);
    server = await startTestServer({ store, egressAllow: '127.0.0.1' });
    admin = new Api(server.url, server.adminToken);
    const made = await Promise.all(['alice', 'bob'].map((u) => admin.req('POST', '/api/v1/users', { username: u })));
    users = { alice: admin.with(made[0].body.token), bob: admin.with(made[1].body.token) };
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme' })).status).toBe(201);
    for (const name of ['alice', 'bob'] as const) {
      const u = users[name];
      expect((await u.req('POST', '/registry/', { name: `${name}-space`, namespace: 'prod' })).status).toBe(201);
      expect((await u.req('POST', '/registry/agent', exampleAgent('helper'))).status).toBe(200);
      expect((await u.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'global' }, value: SECRETS[name] })).status).toBe(200);
      const card = await u.req('POST', '/v1/model_cards', { model_id: 'main', provider: 'oai-compatible', model: 'local-llama', base_url: `${prov.url}/oai/v1`, api_key: KEY });
      expect(card.status, JSON.stringify(card.body)).toBe(200);
      cards[name] = card.body.id;
    }
  });
  afterAll(async () => {
    await server?.close();
    await prov?.close();
  });

  it('is made by an administrator for one account (default: their own), or for all accounts on purpose', async () => {
    const own = await admin.req('POST', '/api/v1/tokens', { name: 'rt-own', permission: 'runtime' });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({ permission: 'runtime', account: 'admin', all_accounts: false });
    const forAlice = await admin.req('POST', '/api/v1/tokens', { name: 'rt-alice', permission: 'runtime', account: 'alice' });
    expect(forAlice.body).toMatchObject({ permission: 'runtime', account: 'alice', all_accounts: false });
    // It belongs to alice: she sees it among her tokens.
    const aliceTokens = (await users.alice.req('GET', '/api/v1/tokens')).body.tokens;
    expect(aliceTokens.find((t: any) => t.id === forAlice.body.id)).toMatchObject({ permission: 'runtime', all_accounts: false });
    expect((await admin.req('POST', '/api/v1/tokens', { name: 'rt-org', permission: 'runtime', account: '@acme' })).body).toMatchObject({ account: 'acme' });
    const wide = await admin.req('POST', '/api/v1/tokens', { name: 'rt-all', permission: 'runtime', all_accounts: true });
    expect(wide.status).toBe(201);
    expect(wide.body).toMatchObject({ permission: 'runtime', all_accounts: true });
    const audit = await admin.req('GET', `/api/v1/audit?action=token.create&target=token:${wide.body.id}`);
    expect(audit.body.entries).toHaveLength(1);
    expect(audit.body.entries[0].details).toMatchObject({ permission: 'runtime', all_accounts: true });

    // Refusals, and nothing made by them.
    const before = (await admin.req('GET', '/api/v1/tokens')).body.tokens.length;
    const refused = [
      [users.alice, { permission: 'runtime' }, 403],
      [users.alice, { permission: 'runtime', account: 'alice' }, 403],
      [users.alice, { permission: 'runtime', all_accounts: true }, 403],
      [admin, { permission: 'runtime', account: 'nobody' }, 404],
      [admin, { permission: 'runtime', account: 'alice', all_accounts: true }, 400],
      [admin, { permission: 'publish', all_accounts: true }, 400],
      [admin, { permission: 'read', account: 'alice' }, 400],
      [admin, { permission: 'runtime', all_accounts: 'yes' }, 400],
      [admin, { permission: 'runtime', account: '' }, 400],
    ] as const;
    for (const [who, body, status] of refused) {
      const r = await who.req('POST', '/api/v1/tokens', { name: 'x', ...body });
      expect(r.status, JSON.stringify(body)).toBe(status);
    }
    expect((await admin.req('GET', '/api/v1/tokens')).body.tokens.length).toBe(before);
    // An admin's read token cannot make one either.
    const adminRead = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' })).body.token);
    expect((await adminRead.req('POST', '/api/v1/tokens', { name: 'x', permission: 'runtime', all_accounts: true })).status).toBe(403);
  });

  it("resolves only its own account's agentspaces: another account's is a 404 like a missing one", async () => {
    const alice = await runtimeFor({ account: 'alice' });
    const mine = await alice.req('GET', '/registry/agent/resolve/helper?owner=alice');
    expect(mine.status).toBe(200);
    expect(mine.body.response.config.connector.api_key).toBe(SECRETS.alice);
    expect((await alice.req('GET', '/registry/agent/resolve/helper')).body.response.config.connector.api_key).toBe(SECRETS.alice);

    const other = await alice.req('GET', '/registry/agent/resolve/helper?owner=bob');
    const nobody = await alice.req('GET', '/registry/agent/resolve/helper?owner=nobody');
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain(SECRETS.bob);
    expect(other.body.detail.replace('bob', 'X')).toBe(nobody.body.detail.replace('nobody', 'X'));

    // A token of the admin's own account reaches no user's agentspace.
    const adminsOwn = await runtimeFor({});
    expect((await adminsOwn.req('GET', '/registry/agent/resolve/helper?owner=alice')).status).toBe(404);
    // An org's runtime token reaches none of its members' objects.
    const org = await runtimeFor({ account: 'acme' });
    expect((await org.req('GET', '/registry/agent/resolve/helper?owner=alice')).status).toBe(404);
  });

  it("reads only its own account's model-card keys, in the managed door's 404 shape otherwise", async () => {
    const bob = await runtimeFor({ account: 'bob' });
    const mine = await bob.req('GET', `/v1/model_cards/${cards.bob}/key`);
    expect(mine.status).toBe(200);
    expect(mine.body.api_key).toBe(KEY);
    const other = await bob.req('GET', `/v1/model_cards/${cards.alice}/key`);
    expectManagedError(other, 404, 'not_found_error');
    expect(JSON.stringify(other.body)).not.toContain(KEY);
    const missing = await bob.req('GET', '/v1/model_cards/mcard_doesnotexist/key');
    expectManagedError(missing, 404, 'not_found_error');
    expect(other.body.error.message.replace(cards.alice, 'X')).toBe(missing.body.error.message.replace('mcard_doesnotexist', 'X'));
  });

  it('reads every account with an all-accounts token, and audits each read with the owner', async () => {
    const wide = await runtimeFor({ all_accounts: true });
    for (const name of ['alice', 'bob'] as const) {
      const r = await wide.req('GET', `/registry/agent/resolve/helper?owner=${name}`);
      expect(r.status).toBe(200);
      expect(r.body.response.config.connector.api_key).toBe(SECRETS[name]);
      expect((await wide.req('GET', `/v1/model_cards/${cards[name]}/key`)).body.api_key).toBe(KEY);
    }
    const resolves = (await admin.req('GET', '/api/v1/audit?action=agentspace.agent.resolve&limit=100')).body.entries;
    const owners = resolves.filter((e: any) => e.details.all_accounts === true).map((e: any) => e.details.owner);
    expect(owners).toEqual(expect.arrayContaining(['alice', 'bob']));
    const keyReads = (await admin.req('GET', '/api/v1/audit?action=managed.model_card.key_read&limit=100')).body.entries;
    expect(keyReads.filter((e: any) => e.details.all_accounts === true).map((e: any) => e.details.owner)).toEqual(expect.arrayContaining(['alice', 'bob']));
    // Never the values themselves.
    expect(JSON.stringify(resolves) + JSON.stringify(keyReads)).not.toMatch(new RegExp(`${SECRETS.alice}|${SECRETS.bob}|${KEY}`));
  });

  it('stays outside the read < publish < admin ladder', async () => {
    const alice = await runtimeFor({ account: 'alice' });
    expect((await alice.req('POST', '/api/v1/tokens', { name: 'x', permission: 'read' })).status).toBe(403);
    expect((await alice.req('GET', '/v1/files')).status).toBe(403);
    expect((await alice.req('POST', '/registry/', { name: 'nope', namespace: 'x' })).status).toBe(403);
    // Runtime tokens are the administrators' to manage: alice's publish token may not revoke one made for
    // her (it has a permission hers does not include); an administrator may. Revoked: refused outright.
    const id = (await users.alice.req('GET', '/api/v1/tokens')).body.tokens.filter((t: any) => t.permission === 'runtime').pop().id;
    expect((await users.alice.req('DELETE', `/api/v1/tokens/${id}`)).status).toBe(403);
    expect((await admin.req('DELETE', `/api/v1/tokens/${id}`)).status).toBe(200);
    expect((await alice.req('GET', '/registry/agent/resolve/helper?owner=alice')).status).toBe(401);
  });
});
