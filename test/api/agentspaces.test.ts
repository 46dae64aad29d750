import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { exampleAgent } from '../helpers/alquimia.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const SECRET_VALUE = 'sk-agentspace-test-8c1f4e2a9b';

describe.each(testStores)('Alquimia registry API: agentspaces, agents, secrets, parameters (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let aliceRead: Api;
  let runtime: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
    bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token as string);
    aliceRead = admin.with((await alice.req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' })).body.token as string);
    runtime = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'runtime', permission: 'runtime', account: 'alice' })).body.token as string);
  });
  afterAll(async () => server.close());

  describe('agentspaces', () => {
    it('GET /registry/ is 404 before the agentspace exists, and every route needs a token', async () => {
      const r = await alice.req('GET', '/registry/');
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ detail: "Agentspace 'default' not found" });
      for (const [m, p] of [
        ['GET', '/registry/'],
        ['POST', '/registry/query'],
        ['POST', '/registry/agent'],
        ['GET', '/registry/secret'],
        ['POST', '/registry/validate'],
      ] as const) {
        const anon = await new Api(server.url).req(m, p, m === 'GET' ? undefined : {});
        expect(anon.status, `${m} ${p}`).toBe(401);
        expect(anon.body.detail).toMatch(/Authentication required/);
      }
    });

    it("POST /registry/ creates one (000's curl) with 201 and the defaults; the same name+namespace again is 400", async () => {
      const r = await alice.req('POST', '/registry/', { name: 'my-agents', namespace: 'local', tag: 'latest' });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({
        agentspace_id: 'default',
        name: 'my-agents',
        namespace: 'local',
        tag: 'latest',
        visibility: 'private',
        status: 'enabled',
        description: null,
        user_id: null,
        source_repo_id: null,
        on_hold: [],
      });
      const again = await alice.req('POST', '/registry/', { name: 'my-agents', namespace: 'local', description: 'x' });
      expect(again.status).toBe(400);
      expect(again.body.detail).toBe("An agentspace named 'my-agents' already exists in namespace 'local'");
      // 000's full body, with user_id and source_repo_id, in another namespace: a second agentspace with its own id.
      const prod = await alice.req('POST', '/registry/', {
        name: 'my-agents',
        namespace: 'prod',
        tag: 'latest',
        description: 'Production agents',
        visibility: 'private',
        status: 'enabled',
        user_id: null,
        source_repo_id: null,
      });
      expect(prod.status).toBe(201);
      expect(prod.body.agentspace_id).toBe('prod-my-agents');
      expect(prod.body.description).toBe('Production agents');
      expect((await alice.req('GET', '/registry/?agentspace_id=default')).body.name).toBe('my-agents');
      expect((await alice.req('GET', '/registry')).status).toBe(200);
    });

    it('refuses bad bodies with 400 and every problem', async () => {
      const r = await alice.req('POST', '/registry/', { namespace: 'bad space', visibility: 'secret', extra: 1 });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual(expect.arrayContaining(["body: missing required field 'name'", 'body.visibility: must be one of private, internal, public', "body: unknown field 'extra'"]));
      const badNs = await alice.req('POST', '/registry/', { name: 'x', namespace: 'bad space' });
      expect(badNs.status).toBe(400);
      expect(badNs.body.errors[0]).toMatch(/^namespace:/);
    });

    it('keeps owners apart: another account has its own default', async () => {
      expect((await bob.req('GET', '/registry/')).status).toBe(404);
      expect((await bob.req('POST', '/registry/', { name: 'my-agents', namespace: 'local' })).status).toBe(201);
      expect((await bob.req('POST', '/registry/query', {})).body).toHaveLength(1);
    });

    it('PUT /registry/ updates only the fields sent; 404 for an unknown id; read tokens cannot write', async () => {
      const r = await alice.req('PUT', '/registry/', { agentspace_id: 'default', name: 'my-agents-v2', description: 'Updated description' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ agentspace_id: 'default', name: 'my-agents-v2', namespace: 'local', description: 'Updated description', tag: 'latest' });
      expect((await alice.req('PUT', '/registry/', { agentspace_id: 'nope', name: 'x' })).status).toBe(404);
      expect((await alice.req('PUT', '/registry/', { name: 'x' })).status).toBe(400);
      const ro = await aliceRead.req('PUT', '/registry/', { agentspace_id: 'default', name: 'y' });
      expect(ro.status).toBe(403);
      expect((await aliceRead.req('GET', '/registry/')).body.name).toBe('my-agents-v2');
    });

    it('POST /registry/query filters by the fields of 000; an empty body returns all', async () => {
      expect((await alice.req('POST', '/registry/query')).body.map((a: { agentspace_id: string }) => a.agentspace_id)).toEqual(['default', 'prod-my-agents']);
      expect((await alice.req('POST', '/registry/query', {})).body).toHaveLength(2);
      const f = await alice.req('POST', '/registry/query', { name: 'my-agents', namespace: 'prod', status: 'enabled' });
      expect(f.body.map((a: { agentspace_id: string }) => a.agentspace_id)).toEqual(['prod-my-agents']);
      expect((await alice.req('POST', '/registry/query', { visibility: 'public' })).body).toEqual([]);
      expect((await alice.req('POST', '/registry/query', { owner: 'bob' })).status).toBe(400);
    });
  });

  describe('agents', () => {
    it("POST /registry/agent upserts 000's example and answers the validated config", async () => {
      const r = await alice.req('POST', '/registry/agent?agentspace_id=default', exampleAgent());
      expect(r.status).toBe(200);
      expect(r.body).toEqual(exampleAgent());
      const again = await alice.req('POST', '/registry/agent', exampleAgent('my-agent', { nickname: 'Helper 2', tags: ['support', 'en'] }));
      expect(again.status).toBe(200);
      const all = await alice.req('POST', '/registry/agent/query?agentspace_id=default', {});
      expect(all.body).toHaveLength(1);
      expect(all.body[0].nickname).toBe('Helper 2');
    });

    it('answers 400 with every validation error (unknown fields included) and 404 for an unknown agentspace', async () => {
      const bad = {
        assistant_id: 'bad id!',
        nickname: 'x'.repeat(65),
        colour: 'blue',
        response: {
          provider_id: 'alquimia',
          config: { provider_id: 'generative', connector: { provider_id: 'openai', api_key: { $secretRef: '1 bad' } } },
          profile: { evaluation_strategy: { evaluation_strategy_id: 'native', max_steps: 0 }, tools: [{ provider_id: 'mcp', transport: 'carrier-pigeon' }, { provider_id: 'nope' }] },
        },
      };
      const r = await alice.req('POST', '/registry/agent', bad);
      expect(r.status).toBe(400);
      expect(r.body.detail).toBe('Validation error in the agent spec');
      expect(r.body.errors).toEqual([
        'assistant_id: must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
        'nickname: must be at most 64 characters (got 65)',
        'response.config.connector.model: field required',
        "response.config.connector.api_key.$secretRef: must be a secret key (letters, digits, '_', '.', '-', starting with a letter or '_')",
        'response.profile.evaluation_strategy.max_steps: must be at least 1',
        "response.profile.tools[0].transport: must be one of 'http', 'stdio' (got 'carrier-pigeon')",
        "response.profile.tools[1].provider_id: must be one of 'mcp', 'llama-stack', 'a2a' (got \"nope\")",
        'colour: unknown field (extra fields are not permitted)',
      ]);
      expect((await alice.req('POST', '/registry/agent', { assistant_id: 'x' })).body.errors).toEqual(['response: field required']);
      expect((await alice.req('POST', '/registry/agent', [1])).status).toBe(400);
      const missing = await alice.req('POST', '/registry/agent?agentspace_id=nope', exampleAgent());
      expect(missing.status).toBe(404);
      expect(missing.body.detail).toBe("Agentspace 'nope' not found");
      expect((await alice.req('POST', '/registry/agent/query?agentspace_id=default', {})).body).toHaveLength(1);
    });

    it('POST /registry/agent/query filters by top-level fields (a list field matches one of its items)', async () => {
      await alice.req('POST', '/registry/agent', exampleAgent('other', { nickname: 'Other', tags: ['sales'] }));
      const q = (f: unknown) => alice.req('POST', '/registry/agent/query', f);
      expect((await q({ assistant_id: 'my-agent', nickname: 'Helper 2' })).body.map((a: { assistant_id: string }) => a.assistant_id)).toEqual(['my-agent']);
      expect((await q({ tags: 'sales' })).body.map((a: { assistant_id: string }) => a.assistant_id)).toEqual(['other']);
      expect((await q({ nickname: 'Nobody' })).body).toEqual([]);
      expect((await q(undefined)).body).toHaveLength(2);
      expect((await alice.req('POST', '/registry/agent/query?agentspace_id=nope', {})).status).toBe(404);
    });

    it('DELETE /registry/agent needs a non-empty filter (400) and a known agentspace (404)', async () => {
      const empty = await alice.req('DELETE', '/registry/agent', {});
      expect(empty.status).toBe(400);
      expect(empty.body.detail).toMatch(/non-empty filter is required/);
      expect((await alice.req('DELETE', '/registry/agent')).status).toBe(400);
      expect((await alice.req('DELETE', '/registry/agent?agentspace_id=nope', { assistant_id: 'other' })).status).toBe(404);
      const r = await alice.req('DELETE', '/registry/agent', { assistant_id: 'other' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ deleted: ['other'] });
      expect((await alice.req('DELETE', '/registry/agent', { assistant_id: 'other' })).body).toEqual({ deleted: [] });
    });

    it('holds and unholds: 404 unknown agent, 409 already held, 404 when not held', async () => {
      expect((await alice.req('PUT', '/registry/agent/hold/ghost')).status).toBe(404);
      const held = await alice.req('PUT', '/registry/agent/hold/my-agent?agentspace_id=default');
      expect(held.status).toBe(200);
      expect(held.body).toMatchObject({ agentspace_id: 'default', on_hold: ['my-agent'] });
      const twice = await alice.req('PUT', '/registry/agent/hold/my-agent');
      expect(twice.status).toBe(409);
      expect(twice.body.detail).toBe("Agent 'my-agent' is already on hold");
      const un = await alice.req('PUT', '/registry/agent/unhold/my-agent');
      expect(un.status).toBe(200);
      expect(un.body.on_hold).toEqual([]);
      const notHeld = await alice.req('PUT', '/registry/agent/unhold/my-agent');
      expect(notHeld.status).toBe(404);
      expect(notHeld.body.detail).toBe("Agent 'my-agent' is not on hold");
    });
  });

  describe('secrets', () => {
    it('POST /registry/secret stores the value in the backend and answers metadata only', async () => {
      const r = await alice.req('POST', '/registry/secret?agentspace_id=default', { secret: { key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI API key' }, value: SECRET_VALUE });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI API key' });
      expect(JSON.stringify(r.body)).not.toContain(SECRET_VALUE);
      const list = await alice.req('GET', '/registry/secret');
      expect(list.body).toEqual([{ key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI API key' }]);
      // A global secret is seen from every agentspace of its owner, and from no one else's.
      expect((await alice.req('GET', '/registry/secret?agentspace_id=prod-my-agents')).body).toHaveLength(1);
      expect((await bob.req('GET', '/registry/secret')).body).toEqual([]);
    });

    it('checks scope against assistant_id, the key, and the agent', async () => {
      const local = await alice.req('POST', '/registry/secret', { secret: { key: 'TOKEN', scope: 'local' }, value: 'v' });
      expect(local.status).toBe(400);
      expect(local.body.detail).toMatch(/'local' secret belongs to one agent: pass assistant_id/);
      expect((await alice.req('POST', '/registry/secret?assistant_id=my-agent', { secret: { key: 'TOKEN', scope: 'shared' } })).status).toBe(400);
      expect((await alice.req('POST', '/registry/secret?assistant_id=ghost', { secret: { key: 'TOKEN', scope: 'local' } })).status).toBe(404);
      expect((await alice.req('POST', '/registry/secret', { secret: { key: '9bad', scope: 'shared' } })).status).toBe(400);
      expect((await alice.req('POST', '/registry/secret', { secret: { key: 'K', scope: 'everywhere' } })).status).toBe(400);
      expect((await alice.req('POST', '/registry/secret?agentspace_id=nope', { secret: { key: 'K', scope: 'shared' } })).status).toBe(404);
    });

    it('POST /registry/secret/query filters; an empty body returns all', async () => {
      await alice.req('POST', '/registry/secret', { secret: { key: 'SLACK_TOKEN', scope: 'shared', description: 'Slack' }, value: 'xoxb-1' });
      expect((await alice.req('POST', '/registry/secret/query', {})).body).toHaveLength(2);
      expect((await alice.req('POST', '/registry/secret/query')).body).toHaveLength(2);
      expect((await alice.req('POST', '/registry/secret/query', { key: 'OPENAI_API_KEY', scope: 'global' })).body).toEqual([{ key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI API key' }]);
      expect((await alice.req('POST', '/registry/secret/query', { scope: 'local' })).body).toEqual([]);
    });

    it("POST /registry/secret/inspect/{assistant_id} lists the agent's secrets and what does not resolve", async () => {
      const ok = await alice.req('POST', '/registry/secret/inspect/my-agent?agentspace_id=default');
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ secrets: [{ key: 'OPENAI_API_KEY', scope: 'global' }], errors: [] });
      await alice.req(
        'POST',
        '/registry/agent',
        exampleAgent('needs-more', {
          response: {
            ...exampleAgent().response,
            config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'm', api_key: { $secretRef: 'MISSING_KEY' }, base_url: { $secretRef: 'NO_VALUE' } } },
          },
        }),
      );
      await alice.req('POST', '/registry/secret', { secret: { key: 'NO_VALUE', scope: 'shared' } });
      const r = await alice.req('POST', '/registry/secret/inspect/needs-more');
      expect(r.body.secrets).toEqual([
        { key: 'MISSING_KEY', scope: null },
        { key: 'NO_VALUE', scope: 'shared' },
      ]);
      expect(r.body.errors.map((e: { id: string }) => e.id)).toEqual(['MISSING_KEY', 'NO_VALUE']);
      expect(r.body.errors[1].message).toMatch(/has no value in the builtin backend/);
      const unchecked = await alice.req('POST', '/registry/secret/inspect/needs-more?check_resolution=false');
      expect(unchecked.body.errors.map((e: { id: string }) => e.id)).toEqual(['MISSING_KEY']);
      expect((await alice.req('POST', '/registry/secret/inspect/ghost')).status).toBe(404);
      await alice.req('DELETE', '/registry/agent', { assistant_id: 'needs-more' });
    });

    it('DELETE /registry/secret needs a non-empty filter and removes definition and value', async () => {
      expect((await alice.req('DELETE', '/registry/secret', {})).status).toBe(400);
      const r = await alice.req('DELETE', '/registry/secret', { key: 'NO_VALUE' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ deleted: [{ key: 'NO_VALUE', scope: 'shared', description: null }] });
      expect((await alice.req('POST', '/registry/secret/query', { key: 'NO_VALUE' })).body).toEqual([]);
    });
  });

  describe('parameters', () => {
    it('POST /registry/parameter registers a typed ParameterDef and validates its values', async () => {
      const r = await alice.req('POST', '/registry/parameter?agentspace_id=default', { key: 'language', type: 'enum', enum: ['en', 'es'], default: 'en', description: 'Reply language' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ key: 'language', type: 'enum', enum: ['en', 'es'], default: 'en', description: 'Reply language' });
      const bad = await alice.req('POST', '/registry/parameter', { key: 'tone', type: 'enum', default: 'x', extra: true });
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual(['extra: unknown field (extra fields are not permitted)']);
      const bad2 = await alice.req('POST', '/registry/parameter', { key: 'tone', type: 'enum', enum: ['calm'], default: 'loud' });
      expect(bad2.body.errors).toEqual(["default: must be one of 'calm'"]);
      expect((await alice.req('POST', '/registry/parameter', { key: 'n', type: 'number', value: '3' })).body.errors).toEqual(['value: must be a number for a number parameter']);
      expect((await alice.req('POST', '/registry/parameter', { key: 'b', type: 'boolean', enum: ['x'] })).body.errors).toEqual(["enum: only an 'enum' parameter takes a list of values"]);
      expect((await alice.req('POST', '/registry/parameter', { key: 'bad-key', type: 'string' })).status).toBe(400);
      expect((await alice.req('POST', '/registry/parameter', { key: 'x', type: 'date' })).status).toBe(400);
      expect((await alice.req('POST', '/registry/parameter', { key: 'x', type: 'string', assistant_id: 'ghost' })).status).toBe(404);
      expect((await alice.req('POST', '/registry/parameter?agentspace_id=nope', { key: 'x', type: 'string' })).status).toBe(404);
      const scoped = await alice.req('POST', '/registry/parameter', { key: 'language', type: 'enum', enum: ['en', 'es'], value: 'es', assistant_id: 'my-agent' });
      expect(scoped.status).toBe(200);
      expect((await alice.req('POST', '/registry/parameter', { key: 'company', type: 'string', value: 'ACME', required: true })).status).toBe(200);
      expect((await alice.req('POST', '/registry/parameter', { key: 'limits', type: 'json', default: { max: 3 } })).status).toBe(200);
    });

    it('POST /registry/parameter/query filters ({assistant_id, key} as 000 shows); DELETE needs a filter', async () => {
      const q = await alice.req('POST', '/registry/parameter/query', { assistant_id: 'my-agent', key: 'language' });
      expect(q.body).toEqual([{ key: 'language', type: 'enum', enum: ['en', 'es'], value: 'es', assistant_id: 'my-agent' }]);
      expect((await alice.req('POST', '/registry/parameter/query', {})).body).toHaveLength(4);
      expect((await alice.req('DELETE', '/registry/parameter', {})).status).toBe(400);
      expect((await alice.req('DELETE', '/registry/parameter', { key: 'limits' })).body.deleted).toEqual([{ key: 'limits', type: 'json', default: { max: 3 } }]);
      expect((await alice.req('POST', '/registry/parameter/query', {})).body).toHaveLength(3);
    });
  });

  describe('resolve', () => {
    it('is for runtime tokens only', async () => {
      for (const who of [alice, admin, aliceRead]) {
        const r = await who.req('GET', '/registry/agent/resolve/my-agent');
        expect(r.status).toBe(403);
        expect(r.body.detail).toMatch(/needs a 'runtime' token/);
      }
    });

    it('replaces every $secretRef (local → shared → global) and renders {{ params.key }}', async () => {
      const spec = exampleAgent('my-agent', {
        response: {
          ...exampleAgent().response,
          profile: {
            system_prompt: 'You work for {{ params.company }}. Answer in {{params.language}}. Context: {{ rag_context }}',
            evaluation_strategy: { evaluation_strategy_id: 'one-shoot' },
            tools: [{ provider_id: 'mcp', url: 'https://mcp.example.com', headers: { Authorization: { $secretRef: 'SLACK_TOKEN' } } }],
          },
        },
      });
      expect((await alice.req('POST', '/registry/agent', spec)).status).toBe(200);
      const r = await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice');
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.body.response.config.connector.api_key).toBe(SECRET_VALUE);
      expect(r.body.response.profile.tools[0].headers.Authorization).toBe('xoxb-1');
      expect(r.body.response.profile.system_prompt).toBe('You work for ACME. Answer in es. Context: {{ rag_context }}');
      // A shared secret wins over a global one of the same key, a local one over both.
      await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'shared' }, value: 'shared-value' });
      expect((await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice')).body.response.config.connector.api_key).toBe('shared-value');
      await alice.req('POST', '/registry/secret?assistant_id=my-agent', { secret: { key: 'OPENAI_API_KEY', scope: 'local' }, value: 'local-value' });
      expect((await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice')).body.response.config.connector.api_key).toBe('local-value');
      // Audited with the keys it handed out, never the values.
      const audit = await admin.req('GET', '/api/v1/audit?action=agentspace.agent.resolve');
      expect(audit.body.entries[0]).toMatchObject({ target: 'agentspace:alice/default/my-agent', details: { secrets: ['OPENAI_API_KEY', 'SLACK_TOKEN'] } });
      expect(JSON.stringify(audit.body)).not.toMatch(/local-value|shared-value|xoxb-1|sk-agentspace/);
    });

    it('refuses a held agent, an unknown one, and names unresolvable secrets and parameters without values', async () => {
      await alice.req('PUT', '/registry/agent/hold/my-agent');
      const held = await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=alice');
      expect(held.status).toBe(409);
      expect(held.body.detail).toMatch(/on hold/);
      await alice.req('PUT', '/registry/agent/unhold/my-agent');
      expect((await runtime.req('GET', '/registry/agent/resolve/ghost?owner=alice')).status).toBe(404);
      expect((await runtime.req('GET', '/registry/agent/resolve/my-agent?owner=nobody')).status).toBe(404);
      // The runtime token belongs to alice: without ?owner= it resolves her agentspaces.
      expect((await runtime.req('GET', '/registry/agent/resolve/my-agent')).status).toBe(200);
      await alice.req('POST', '/registry/agent', exampleAgent('p', { response: { ...exampleAgent().response, profile: { system_prompt: '{{ params.nope }}' } } }));
      const p = await runtime.req('GET', '/registry/agent/resolve/p?owner=alice');
      expect(p.status).toBe(400);
      expect(p.body.errors).toEqual(["{{ params.nope }}: no parameter 'nope' is defined for this agent"]);
      await alice.req(
        'POST',
        '/registry/agent',
        exampleAgent('s', { response: { ...exampleAgent().response, config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'm', api_key: { $secretRef: 'UNDEFINED' } } } } }),
      );
      const s = await runtime.req('GET', '/registry/agent/resolve/s?owner=alice');
      expect(s.status).toBe(400);
      expect(s.body.errors).toEqual(["secret 'UNDEFINED': not defined (looked in local, shared and global)"]);
      await alice.req('DELETE', '/registry/agent', { assistant_id: 'p' });
      await alice.req('DELETE', '/registry/agent', { assistant_id: 's' });
    });
  });

  describe('validate and migrate', () => {
    const legacy = () =>
      exampleAgent('legacy', {
        response: {
          provider_id: 'alquimia',
          config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'gpt-4o', api_key: '$OPENAI_API_KEY' } },
          profile: { system_prompt: 'Hi', max_iterations: 7, max_iteration_volume: 3, tools: [{ provider_id: 'mcp', url: 'https://x', env: { TOKEN: '$SLACK_TOKEN' } }] },
        },
      });

    it('stores a config that needs migration as unvalidated, which blocks adding secrets (400)', async () => {
      const r = await alice.req('POST', '/registry/agent', legacy());
      expect(r.status).toBe(200);
      expect(r.body.response.profile.max_iterations).toBe(7);
      const blocked = await alice.req('POST', '/registry/secret', { secret: { key: 'ANY', scope: 'shared' }, value: 'v' });
      expect(blocked.status).toBe(400);
      expect(blocked.body.detail).toBe('Agentspace has unvalidated agents: run POST /registry/validate first');
      expect(blocked.body.errors).toEqual(["agent 'legacy' is not validated"]);
      expect((await runtime.req('GET', '/registry/agent/resolve/legacy?owner=alice')).status).toBe(409);
    });

    it('dry_run=true reports the migrations and changes nothing', async () => {
      await alice.req('POST', '/registry/secret?assistant_id=my-agent', { secret: { key: 'UNUSED_LOCAL', scope: 'local' } }).catch(() => undefined);
      const r = await alice.req('POST', '/registry/validate?agentspace_id=default&dry_run=true');
      expect(r.status).toBe(200);
      expect(r.body.validated).toBe(2);
      expect(r.body.errors).toEqual([]);
      expect(r.body.deleted_secrets).toEqual([]);
      expect(r.body.migrated).toEqual([
        {
          assistant_id: 'legacy',
          migration: '0001-secret-ref-shorthand',
          changes: ['response.config.connector.api_key: "$OPENAI_API_KEY" → {"$secretRef": "OPENAI_API_KEY"}', 'response.profile.tools[0].env.TOKEN: "$SLACK_TOKEN" → {"$secretRef": "SLACK_TOKEN"}'],
        },
        {
          assistant_id: 'legacy',
          migration: '0002-iteration-limits',
          changes: [
            'response.profile.evaluation_strategy: added {"evaluation_strategy_id": "native"} to hold the iteration limits',
            'response.profile.max_iterations → response.profile.evaluation_strategy.max_steps',
            'response.profile.max_iteration_volume → response.profile.evaluation_strategy.max_concurrent_tools',
          ],
        },
      ]);
      const stored = (await alice.req('POST', '/registry/agent/query', { assistant_id: 'legacy' })).body[0];
      expect(stored.response.config.connector.api_key).toBe('$OPENAI_API_KEY');
    });

    it('migrates, validates and deletes the secrets no agent references', async () => {
      await alice.req('DELETE', '/registry/agent', { assistant_id: 'legacy' });
      await alice.req('POST', '/registry/secret', { secret: { key: 'UNUSED', scope: 'shared', description: 'nobody uses me' }, value: 'u' });
      await alice.req('POST', '/registry/agent', legacy());
      const r = await alice.req('POST', '/registry/validate?agentspace_id=default');
      expect(r.status).toBe(200);
      expect(r.body.validated).toBe(2);
      expect(r.body.errors).toEqual([]);
      expect(r.body.deleted_secrets).toEqual([{ key: 'UNUSED', scope: 'shared', description: 'nobody uses me' }]);
      expect(r.body.migrated.map((m: { migration: string }) => m.migration)).toEqual(['0001-secret-ref-shorthand', '0002-iteration-limits']);
      const stored = (await alice.req('POST', '/registry/agent/query', { assistant_id: 'legacy' })).body[0];
      expect(stored.response.config.connector.api_key).toEqual({ $secretRef: 'OPENAI_API_KEY' });
      expect(stored.response.profile).toEqual({
        system_prompt: 'Hi',
        tools: [{ provider_id: 'mcp', url: 'https://x', env: { TOKEN: { $secretRef: 'SLACK_TOKEN' } } }],
        evaluation_strategy: { evaluation_strategy_id: 'native', max_steps: 7, max_concurrent_tools: 3 },
      });
      expect((await runtime.req('GET', '/registry/agent/resolve/legacy?owner=alice')).body.response.profile.tools[0].env.TOKEN).toBe('xoxb-1');
      // Idempotent: a second run migrates nothing.
      const again = await alice.req('POST', '/registry/validate');
      expect(again.body).toEqual({ validated: 2, errors: [], deleted_secrets: [], migrated: [] });
      expect((await alice.req('POST', '/registry/validate?agentspace_id=nope')).status).toBe(404);
      expect((await aliceRead.req('POST', '/registry/validate')).status).toBe(403);
      expect((await aliceRead.req('POST', '/registry/validate?dry_run=true')).status).toBe(200);
    });
  });

  describe('deleting an agentspace', () => {
    it('DELETE /registry/?agentspace_id= removes it with its agents, secrets and parameters; 404 after', async () => {
      expect((await alice.req('DELETE', '/registry/?agentspace_id=nope')).status).toBe(404);
      await alice.req('POST', '/registry/agent?agentspace_id=prod-my-agents', exampleAgent('p1'));
      const r = await alice.req('DELETE', '/registry/?agentspace_id=prod-my-agents');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ agentspace_id: 'prod-my-agents', deleted: true });
      expect((await alice.req('GET', '/registry/?agentspace_id=prod-my-agents')).status).toBe(404);
      expect((await alice.req('DELETE', '/registry/?agentspace_id=prod-my-agents')).status).toBe(404);
      // Recreated, it starts empty.
      await alice.req('POST', '/registry/', { name: 'again', namespace: 'prod', agentspace_id: 'prod-my-agents' });
      expect((await alice.req('POST', '/registry/agent/query?agentspace_id=prod-my-agents', {})).body).toEqual([]);
      expect((await alice.req('POST', '/registry/parameter/query?agentspace_id=prod-my-agents', {})).body).toEqual([]);
    });
  });

  describe('routing beside ToolHive', () => {
    it("leaves /registry/{name}/v0.1/… to ToolHive, even when the name is one of Alquimia's words", async () => {
      const reference = await alice.req('GET', '/registry/some-registry/v0.1/servers');
      expect(reference.body.detail).toBeUndefined();
      for (const name of ['agent', 'secret', 'parameter', 'tags', 'publish', 'pull', 'repositories', 'validate', 'query', 'default']) {
        const r = await alice.req('GET', `/registry/${name}/v0.1/servers`);
        expect(r.status, name).toBe(reference.status);
        expect(r.body.detail, name).toBeUndefined();
      }
      expect((await alice.req('GET', '/registry/')).body.agentspace_id).toBe('default');
      expect((await alice.req('POST', '/registry/agent/query', {})).status).toBe(200);
    });
  });
});
