import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';

describe.each(testStores)('managed agents and environments (%s)', (store) => {
  let f: ManagedFixture;
  beforeAll(async () => {
    f = await startManagedFixture(store);
  });
  afterAll(() => f?.server.close());

  describe('through the official SDK', () => {
    it('creates, retrieves, updates (bumping the version), lists versions and archives an agent', async () => {
      const created = await f.sdk.beta.agents.create({
        name: 'Researcher',
        model: 'claude-sonnet-4-6',
        system: 'You research things.',
        tools: [{ type: 'agent_toolset_20260401' }],
        metadata: { team: 'search' },
      });
      expect(created).toMatchObject({
        type: 'agent',
        name: 'Researcher',
        version: 1,
        model: { id: 'claude-sonnet-4-6' },
        system: 'You research things.',
        description: null,
        metadata: { team: 'search' },
        archived_at: null,
        mcp_servers: [],
        skills: [],
      });
      expect(created.id).toMatch(/^agent_/);
      expect(created.tools[0]).toMatchObject({ type: 'agent_toolset_20260401', configs: [], default_config: { enabled: true, permission_policy: { type: 'always_allow' } } });
      expect(created._request_id).toMatch(/^req_/);

      const got = await f.sdk.beta.agents.retrieve(created.id);
      expect(got).toMatchObject({ id: created.id, version: 1 });

      const updated = await f.sdk.beta.agents.update(created.id, { version: 1, system: 'You research carefully.', metadata: { team: null, tier: 'gold' } });
      expect(updated).toMatchObject({ version: 2, system: 'You research carefully.', metadata: { tier: 'gold' } });

      const noop = await f.sdk.beta.agents.update(created.id, { version: 2, system: 'You research carefully.' });
      expect(noop.version).toBe(2);

      const stale = await f.sdk.beta.agents.update(created.id, { version: 1, name: 'Other' }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(Anthropic.ConflictError);
      expect((stale as InstanceType<typeof Anthropic.ConflictError>).type).toBe('conflict_error');

      const v1 = await f.sdk.beta.agents.retrieve(created.id, { version: 1 });
      expect(v1).toMatchObject({ version: 1, system: 'You research things.', metadata: { team: 'search' } });

      const versions = [];
      for await (const v of f.sdk.beta.agents.versions.list(created.id, { limit: 1 })) versions.push(v.version);
      expect(versions).toEqual([2, 1]);

      const archived = await f.sdk.beta.agents.archive(created.id);
      expect(archived.archived_at).not.toBeNull();
      const listed = [];
      for await (const a of f.sdk.beta.agents.list()) listed.push(a.id);
      expect(listed).not.toContain(created.id);
      const all = [];
      for await (const a of f.sdk.beta.agents.list({ include_archived: true })) all.push(a.id);
      expect(all).toContain(created.id);
    });

    it('auto-paginates agents across several pages without repeats', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await f.sdk.beta.agents.create({ name: `pager-${i}`, model: 'claude-haiku-4-5' })).id);
      const seen: string[] = [];
      for await (const a of f.sdk.beta.agents.list({ limit: 2 })) seen.push(a.id);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
      const first = await f.sdk.beta.agents.list({ limit: 2 });
      expect(first.data).toHaveLength(2);
      expect(first.hasNextPage()).toBe(true);
    });

    it('manages environments: create, retrieve, update, list, archive, delete', async () => {
      const env = await f.sdk.beta.environments.create({
        name: 'python',
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['pypi.org'] }, packages: { pip: ['requests'] } },
      });
      expect(env).toMatchObject({
        type: 'environment',
        name: 'python',
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['pypi.org'], allow_mcp_servers: false }, packages: { pip: ['requests'], npm: [] } },
      });
      const updated = await f.sdk.beta.environments.update(env.id, { description: 'Python 3 with requests' });
      expect(updated.description).toBe('Python 3 with requests');
      expect((await f.sdk.beta.environments.retrieve(env.id)).description).toBe('Python 3 with requests');
      for (let i = 0; i < 4; i++) await f.sdk.beta.environments.create({ name: `env-${i}` });
      const names: string[] = [];
      for await (const e of f.sdk.beta.environments.list({ limit: 2 })) names.push(e.name);
      expect(names.slice(0, 5)).toEqual(['env-3', 'env-2', 'env-1', 'env-0', 'python']);
      const archived = await f.sdk.beta.environments.archive(env.id);
      expect(archived.archived_at).not.toBeNull();
      const deleted = await f.sdk.beta.environments.delete(env.id);
      expect(deleted).toMatchObject({ id: env.id, type: 'environment_deleted' });
      await expect(f.sdk.beta.environments.retrieve(env.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    });

    it('maps errors to the SDK classes', async () => {
      await expect(f.sdk.beta.agents.retrieve('agent_nope')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
      await expect(f.sdk.beta.agents.create({ name: 'x' } as never)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
      const anon = new Anthropic({ apiKey: 'agentry_' + 'x'.repeat(43), baseURL: f.server.url, maxRetries: 0 });
      await expect(anon.beta.agents.list().then((p) => p.data)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    });
  });

  describe("through 002's raw HTTP routes", () => {
    it('answers every agent route, with version history and archive by DELETE', async () => {
      const c = await f.alice.req('POST', '/v1/agents', { name: 'raw', model: 'claude-opus-4-6', description: 'first' });
      expect(c.status).toBe(200);
      expect(c.headers.get('request-id')).toMatch(/^req_/);
      const id = c.body.id;
      const p = await f.alice.req('PATCH', `/v1/agents/${id}`, { description: 'second' });
      expect(p.status).toBe(200);
      expect(p.body.version).toBe(2);
      const stale = await f.alice.req('PATCH', `/v1/agents/${id}`, { description: 'third', version: 1 });
      expectManagedError(stale, 409, 'conflict_error', /at version 2, not 1/);
      expect(stale.headers.get('x-should-retry')).toBe('false');
      expect((await f.alice.req('GET', `/v1/agents/${id}`)).body.description).toBe('second');

      const versions = await f.alice.req('GET', `/v1/agents/${id}/versions?limit=1`);
      expect(versions.status).toBe(200);
      expect(versions.body.data.map((v: any) => v.version)).toEqual([2]);
      expect(versions.body.has_more).toBe(true);
      const next = await f.alice.req('GET', `/v1/agents/${id}/versions?limit=1&cursor=${versions.body.next_page}`);
      expect(next.body).toMatchObject({ data: [{ version: 1, description: 'first' }], next_page: null, has_more: false });

      expect((await f.alice.req('GET', `/v1/agents/${id}/versions/1`)).body).toMatchObject({ version: 1, description: 'first' });
      expect((await f.alice.req('GET', `/v1/agents/${id}?version=2`)).body.version).toBe(2);
      expectManagedError(await f.alice.req('GET', `/v1/agents/${id}/versions/9`), 404, 'not_found_error');
      expectManagedError(await f.alice.req('GET', `/v1/agents/${id}/versions/zero`), 400, 'invalid_request_error');

      const del = await f.alice.req('DELETE', `/v1/agents/${id}`);
      expect(del.status).toBe(200);
      expect(del.body.archived_at).toEqual(expect.any(String));
      expectManagedError(await f.alice.req('PATCH', `/v1/agents/${id}`, { description: 'x' }), 400, 'invalid_request_error', /archived/);
      const archivedOnly = await f.alice.req('GET', '/v1/agents?archived=true&limit=100');
      expect(archivedOnly.body.data.map((a: any) => a.id)).toContain(id);
      expect(archivedOnly.body.data.every((a: any) => a.archived_at !== null)).toBe(true);
      const live = await f.alice.req('GET', '/v1/agents?archived=false&limit=100');
      expect(live.body.data.map((a: any) => a.id)).not.toContain(id);
    });

    it('refuses to delete an environment an agent uses (409), allows it once the agent is archived', async () => {
      const env = await f.alice.req('POST', '/v1/environments', { name: 'node' });
      expect(env.status).toBe(200);
      const agent = await f.alice.req('POST', '/v1/agents', { name: 'user-of-env', model: 'claude-haiku-4-5', environment_id: env.body.id });
      expect(agent.status).toBe(200);
      expectManagedError(await f.alice.req('DELETE', `/v1/environments/${env.body.id}`), 409, 'conflict_error', /used by agent/);
      const patched = await f.alice.req('PATCH', `/v1/environments/${env.body.id}`, { name: 'node-20' });
      expect(patched.body.name).toBe('node-20');
      expect((await f.alice.req('GET', `/v1/environments/${env.body.id}`)).body.name).toBe('node-20');
      expect((await f.alice.req('GET', '/v1/environments?limit=100')).body.data.map((e: any) => e.id)).toContain(env.body.id);
      expect((await f.alice.req('DELETE', `/v1/agents/${agent.body.id}`)).status).toBe(200);
      const del = await f.alice.req('DELETE', `/v1/environments/${env.body.id}`);
      expect(del.status).toBe(200);
      expectManagedError(await f.alice.req('GET', `/v1/environments/${env.body.id}`), 404, 'not_found_error');
      expectManagedError(await f.alice.req('POST', '/v1/agents', { name: 'x', model: 'm', environment_id: env.body.id }), 400, 'invalid_request_error', /not found/);
    });

    it('asks for a token on every route: 401 without either header, x-api-key and Bearer both accepted', async () => {
      const anon = f.alice.with(undefined);
      for (const [method, path] of [
        ['GET', '/v1/agents'],
        ['POST', '/v1/agents'],
        ['GET', '/v1/agents/agent_x'],
        ['GET', '/v1/agents/agent_x/versions'],
        ['GET', '/v1/agents/agent_x/versions/1'],
        ['PATCH', '/v1/agents/agent_x'],
        ['DELETE', '/v1/agents/agent_x'],
        ['GET', '/v1/environments'],
        ['POST', '/v1/environments'],
        ['GET', '/v1/environments/env_x'],
        ['PATCH', '/v1/environments/env_x'],
        ['DELETE', '/v1/environments/env_x'],
        ['GET', '/v1/api_keys'],
        ['POST', '/v1/api_keys'],
        ['DELETE', '/v1/api_keys/key_1'],
        ['GET', '/v1/skills'],
        ['POST', '/v1/skills'],
        ['GET', '/v1/skills/skill_x'],
        ['GET', '/v1/skills/skill_x/files/SKILL.md'],
        ['DELETE', '/v1/skills/skill_x'],
        ['POST', '/v1/files'],
        ['GET', '/v1/files/file_x'],
        ['DELETE', '/v1/files/file_x'],
        ['GET', '/v1/memory_stores/ms_x/entries'],
        ['GET', '/v1/vaults/vlt_x'],
        ['GET', '/v1/model_cards/mc_x/key'],
      ]) {
        const body = method === 'POST' || method === 'PATCH' ? { name: 'n', model: 'm' } : undefined;
        expectManagedError(await anon.req(method, path, body), 401, 'authentication_error');
      }
      const viaKey = await anon.req('GET', '/v1/agents', undefined, { 'x-api-key': f.aliceToken, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'managed-agents-2026-04-01' });
      expect(viaKey.status).toBe(200);
      expectManagedError(await anon.req('GET', '/v1/agents', undefined, { 'x-api-key': 'agentry_wrong' }), 401, 'authentication_error');
    });

    it("keeps tenants apart: bob cannot see or change alice's agents", async () => {
      const a = await f.alice.req('POST', '/v1/agents', { name: 'private', model: 'm' });
      expectManagedError(await f.bob.req('GET', `/v1/agents/${a.body.id}`), 404, 'not_found_error');
      expectManagedError(await f.bob.req('PATCH', `/v1/agents/${a.body.id}`, { name: 'mine' }), 404, 'not_found_error');
      expect((await f.bob.req('GET', '/v1/agents?limit=100')).body.data.map((x: any) => x.id)).not.toContain(a.body.id);
    });

    it('refuses bad input with 400 and writes nothing', async () => {
      const before = (await f.alice.req('GET', '/v1/agents?limit=100&include_archived=true')).body.data.length;
      expectManagedError(await f.alice.req('POST', '/v1/agents', { model: 'm' }), 400, 'invalid_request_error', /name/);
      expectManagedError(await f.alice.req('POST', '/v1/agents', { name: 'n', model: 'm', tools: [{ type: 'nope' }] }), 400, 'invalid_request_error', /tools\[0\]\.type/);
      expectManagedError(await f.alice.req('POST', '/v1/agents', { name: 'n', model: 'm', mcp_servers: [{ name: 'a', url: 'ftp://x' }] }), 400, 'invalid_request_error');
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      expectManagedError(await f.alice.req('POST', '/v1/agents', { name: 'n', model: 'm', metadata: tooMany }), 400, 'invalid_request_error', /metadata/);
      expectManagedError(await f.alice.req('POST', '/v1/agents', '{not json', { 'content-type': 'application/json' }), 400, 'invalid_request_error');
      expectManagedError(await f.alice.req('GET', '/v1/agents?page=garbage'), 400, 'invalid_request_error', /page token/);
      expectManagedError(await f.alice.req('GET', '/v1/agents?limit=0'), 400, 'invalid_request_error');
      expectManagedError(await f.alice.req('GET', '/v1/agents/agent_x/nothing-here'), 404, 'not_found_error');
      expect((await f.alice.req('GET', '/v1/agents?limit=100&include_archived=true')).body.data.length).toBe(before);
    });

    it('creates, lists and revokes API keys; a revoked key stops working at once', async () => {
      const created = await f.alice.req('POST', '/v1/api_keys', { name: 'ci' });
      expect(created.status).toBe(200);
      expect(created.body.key).toMatch(/^agentry_/);
      const list = await f.alice.req('GET', '/v1/api_keys');
      expect(list.status).toBe(200);
      expect(list.body.data.find((k: any) => k.id === created.body.id)).toMatchObject({ name: 'ci' });
      expect(JSON.stringify(list.body)).not.toContain(created.body.key);
      const ci = f.alice.with(created.body.key);
      expect((await ci.req('GET', '/v1/agents')).status).toBe(200);
      expect((await f.alice.req('DELETE', `/v1/api_keys/${created.body.id}`)).status).toBe(200);
      expectManagedError(await ci.req('GET', '/v1/agents'), 401, 'authentication_error');
      expect((await f.alice.req('GET', '/v1/api_keys')).body.data.map((k: any) => k.id)).not.toContain(created.body.id);
      expectManagedError(await f.bob.req('DELETE', `/v1/api_keys/${created.body.id}`), 404, 'not_found_error');
      expectManagedError(await f.alice.req('DELETE', '/v1/api_keys/nope'), 404, 'not_found_error');
      expectManagedError(await f.alice.req('POST', '/v1/api_keys', {}), 400, 'invalid_request_error');
    });
  });
});

describe('router refusals under /v1/<managed resource>', () => {
  it('answer in the managed error shape with a request-id', async () => {
    const f = await startManagedFixture('sqlite');
    try {
      const r = await f.alice.req('GET', '/v1/agents/%E0%A4%A');
      expectManagedError(r, 400, 'invalid_request_error', /malformed/);
    } finally {
      await f?.server.close();
    }
  });
});
