import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { startFakeProviders, type FakeProviders } from './fake-providers.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';

/**
 * Issue 12 point 1 (managed side): every managed resource is private to its account. Another
 * account gets the managed door's 404 (`not_found_error`) on every route of every resource, reads
 * and writes alike, and sees none of them in its lists; nothing changes. Reads go through the one
 * read rule (private: the owner and administrators), changes stay with the owner.
 */
const KEY = 'sk-cross-account-key-5b7c9d1e';
const skillMd = (name: string) => `---\nname: ${name}\ndescription: The ${name} skill\n---\n\n# ${name}\n`;

describe.each(testStores)('managed resources across accounts (%s)', (store) => {
  let f: ManagedFixture;
  let prov: FakeProviders;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    prov = await startFakeProviders(KEY);
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    const made = async (path: string, body: unknown) => {
      const r = await f.alice.req('POST', path, body);
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body;
    };
    ids.environment = (await made('/v1/environments', { name: 'alice-env' })).id;
    ids.agent = (await made('/v1/agents', { name: 'alice-agent', model: 'claude-sonnet-4-6', environment_id: ids.environment })).id;
    ids.vault = (await made('/v1/vaults', { name: 'alice-vault', secret: 'sk-vault-secret-0001' })).id;
    ids.credential = (await made(`/v1/vaults/${ids.vault}/credentials`, { auth: { type: 'static_bearer', token: 'ghp_CROSSSECRET0001', mcp_server_url: 'https://mcp.example.com/sse' } })).id;
    ids.store = (await made('/v1/memory_stores', { name: 'alice-memories' })).id;
    ids.memory = (await made(`/v1/memory_stores/${ids.store}/memories`, { path: '/notes/a.md', content: 'alice private note' })).id;
    ids.card = (await made('/v1/model_cards', { model_id: 'alice-model', provider: 'oai-compatible', model: 'local-llama', base_url: `${prov.url}/oai/v1`, api_key: KEY })).id;
    const file = new FormData();
    file.set('file', new Blob(['alice file bytes']), 'alice.txt');
    ids.file = (await made('/v1/files', file)).id;
    const skill = new FormData();
    skill.append('files', new Blob([skillMd('alice-skill')]), 'SKILL.md');
    ids.skill = (await made('/v1/skills', skill)).id;
    ids.apiKey = String((await made('/v1/api_keys', { name: 'alice-key' })).id);
  });
  afterAll(async () => {
    await f?.server.close();
    await prov?.close();
  });

  /** Every route of every managed resource that names one of alice's objects. */
  const routes = (): Array<[string, string, unknown?]> => {
    const skillForm = () => {
      const s = new FormData();
      s.append('files', new Blob([skillMd('alice-skill')]), 'SKILL.md');
      return s;
    };
    return [
      ['GET', `/v1/agents/${ids.agent}`],
      ['GET', `/v1/agents/${ids.agent}/versions`],
      ['GET', `/v1/agents/${ids.agent}/versions/1`],
      ['PATCH', `/v1/agents/${ids.agent}`, { name: 'bobs now' }],
      ['POST', `/v1/agents/${ids.agent}`, { name: 'bobs now' }],
      ['POST', `/v1/agents/${ids.agent}/archive`, {}],
      ['POST', `/v1/agents/${ids.agent}/publish`, {}],
      ['DELETE', `/v1/agents/${ids.agent}`],
      ['GET', `/v1/environments/${ids.environment}`],
      ['POST', `/v1/environments/${ids.environment}/archive`, {}],
      ['DELETE', `/v1/environments/${ids.environment}`],
      ['GET', `/v1/vaults/${ids.vault}`],
      ['POST', `/v1/vaults/${ids.vault}/archive`, {}],
      ['DELETE', `/v1/vaults/${ids.vault}`],
      ['GET', `/v1/vaults/${ids.vault}/credentials`],
      ['POST', `/v1/vaults/${ids.vault}/credentials`, { auth: { type: 'static_bearer', token: 'ghp_BOBSECRET00001', mcp_server_url: 'https://mcp.example.com/sse' } }],
      ['GET', `/v1/vaults/${ids.vault}/credentials/${ids.credential}`],
      ['POST', `/v1/vaults/${ids.vault}/credentials/${ids.credential}`, { display_name: 'bob' }],
      ['POST', `/v1/vaults/${ids.vault}/credentials/${ids.credential}/archive`, {}],
      ['DELETE', `/v1/vaults/${ids.vault}/credentials/${ids.credential}`],
      ['GET', `/v1/memory_stores/${ids.store}`],
      ['POST', `/v1/memory_stores/${ids.store}/archive`, {}],
      ['DELETE', `/v1/memory_stores/${ids.store}`],
      ['POST', `/v1/memory_stores/${ids.store}/search`, { query: 'note' }],
      ['GET', `/v1/memory_stores/${ids.store}/memories`],
      ['GET', `/v1/memory_stores/${ids.store}/entries`],
      ['POST', `/v1/memory_stores/${ids.store}/memories`, { path: '/bob.md', content: 'bob was here' }],
      ['GET', `/v1/memory_stores/${ids.store}/memories/${ids.memory}`],
      ['POST', `/v1/memory_stores/${ids.store}/memories/${ids.memory}`, { content: 'bob was here' }],
      ['DELETE', `/v1/memory_stores/${ids.store}/memories/${ids.memory}`],
      ['GET', `/v1/model_cards/${ids.card}`],
      ['POST', `/v1/model_cards/${ids.card}`, { model: 'other' }],
      ['DELETE', `/v1/model_cards/${ids.card}`],
      ['GET', `/v1/files/${ids.file}`],
      ['GET', `/v1/files/${ids.file}/content`],
      ['DELETE', `/v1/files/${ids.file}`],
      ['GET', `/v1/skills/${ids.skill}`],
      ['GET', `/v1/skills/${ids.skill}/versions`],
      ['GET', `/v1/skills/${ids.skill}/versions/1.0.0`],
      ['GET', `/v1/skills/${ids.skill}/versions/1.0.0/content`],
      ['GET', `/v1/skills/${ids.skill}/files/SKILL.md`],
      ['POST', `/v1/skills/${ids.skill}/versions`, skillForm()],
      ['DELETE', `/v1/skills/${ids.skill}/versions/1.0.0`],
      ['DELETE', `/v1/skills/${ids.skill}`],
      ['DELETE', `/v1/api_keys/${ids.apiKey}`],
    ];
  };

  /** What alice sees of everything, to show nothing changed. */
  const snapshot = async () => {
    const out: string[] = [];
    for (const path of ['/v1/agents', '/v1/environments', '/v1/vaults', '/v1/memory_stores', '/v1/model_cards', '/v1/files', '/v1/skills', '/v1/api_keys']) {
      out.push(JSON.stringify((await f.alice.req('GET', `${path}?limit=100`)).body.data));
    }
    out.push(JSON.stringify((await f.alice.req('GET', `/v1/vaults/${ids.vault}/credentials`)).body.data));
    out.push(JSON.stringify((await f.alice.req('GET', `/v1/memory_stores/${ids.store}/memories`)).body.data));
    out.push(JSON.stringify((await f.alice.req('GET', `/v1/skills/${ids.skill}/versions`)).body.data));
    out.push(JSON.stringify((await f.alice.req('GET', `/v1/agents/${ids.agent}`)).body));
    return out;
  };

  it("answers every route of alice's objects to bob with the managed door's 404, and changes nothing", async () => {
    const before = await snapshot();
    for (const [method, path, body] of routes()) {
      const r = await f.bob.req(method, path, body);
      expectManagedError(r, 404, 'not_found_error');
      expect(JSON.stringify(r.body), `${method} ${path}`).not.toMatch(/alice|ghp_|sk-/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("lists only the caller's own objects", async () => {
    for (const path of ['/v1/agents', '/v1/environments', '/v1/vaults', '/v1/memory_stores', '/v1/model_cards', '/v1/files', '/v1/skills', '/v1/api_keys']) {
      const bobs = await f.bob.req('GET', `${path}?limit=100`);
      expect(bobs.status, path).toBe(200);
      expect(JSON.stringify(bobs.body.data), path).not.toMatch(new RegExp(Object.values(ids).join('|')));
      // The administrator's lists are its own too.
      expect(JSON.stringify((await f.admin.req('GET', `${path}?limit=100`)).body.data), path).not.toMatch(new RegExp(Object.values(ids).join('|')));
    }
  });

  it('lets an administrator read by id (private: owner and administrators), never change', async () => {
    for (const path of [
      `/v1/agents/${ids.agent}`,
      `/v1/vaults/${ids.vault}/credentials/${ids.credential}`,
      `/v1/memory_stores/${ids.store}/memories/${ids.memory}`,
      `/v1/files/${ids.file}/content`,
      `/v1/skills/${ids.skill}/versions`,
    ]) {
      expect((await f.admin.req('GET', path)).status, path).toBe(200);
    }
    const before = await snapshot();
    // (An administrator may revoke any token, API keys included: that is token administration, not a managed read.)
    for (const [method, path, body] of routes().filter(([m, p]) => m !== 'GET' && !p.endsWith('/search') && !p.startsWith('/v1/api_keys'))) {
      expectManagedError(await f.admin.req(method, path, body), 404, 'not_found_error');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a runtime token, even of the same account, every managed read and write', async () => {
    const rt = (await f.admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', account: 'alice' })).body.token as string;
    const runtime = f.alice.with(rt);
    for (const [method, path, body] of routes()) {
      expectManagedError(await runtime.req(method, path, body), 403, 'permission_error');
    }
  });
});
