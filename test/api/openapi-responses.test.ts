import fastJsonStringify from 'fast-json-stringify';
import type { TSchema } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileJson } from '../../src/api/managed/routes/files.js';
import { memoryJson, storeJson } from '../../src/api/managed/routes/memory-stores.js';
import { cardJson } from '../../src/api/managed/routes/model-cards.js';
import { skillJson, versionJson } from '../../src/api/managed/routes/skills.js';
import { credentialJson, vaultJson } from '../../src/api/managed/routes/vaults.js';
import { ListOf } from '../../src/api/managed/paging.js';
import * as R from '../../src/api/managed/responses.js';
import { agentJson, apiKeyJson, environmentJson } from '../../src/api/managed/views.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

/** Routes that cannot succeed (refused by policy, or not offered; they say why): each documents that answer instead. */
const NEVER_SUCCEEDS = new Map([
  ['PUT /api/v1beta/registry/{name}', '403'],
  ['DELETE /api/v1beta/registry/{name}', '403'],
  ['POST /api/v1beta/registry', '501'],
  ['POST /api/v1beta/skills/sync', '501'],
  ['POST /api/v1beta/skills/upgrade', '501'],
  ['PUT /v0/servers/{serverName}/versions/{version}', '501'],
  ['DELETE /v0/servers/{serverName}/versions/{version}', '501'],
  ['PUT /v0.1/servers/{serverName}/versions/{version}', '501'],
  ['DELETE /v0.1/servers/{serverName}/versions/{version}', '501'],
  ['GET /mcp', '405'],
  ['DELETE /mcp', '405'],
]);

describe.each(testStores)('the OpenAPI document declares what every route answers (%s)', (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store });
  });
  afterAll(() => server.close());

  it('gives every operation a response schema for its success (2xx)', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const missing: string[] = [];
    const seen = new Set<string>();
    let operations = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!['get', 'put', 'post', 'delete', 'patch', 'head'].includes(method)) continue;
        operations++;
        const name = `${method.toUpperCase()} ${path}`;
        seen.add(name);
        // A 204 has no body by definition, and a status declared with a null schema (ToolHive's bodyless
        // 202s) has none by declaration: declaring the status is declaring the answer. A route with no
        // response schema at all gets @fastify/swagger's 'Default Response' and no content.
        const bodyless = (r: { description?: string; content?: unknown }) => r.content === undefined && r.description !== undefined && r.description !== 'Default Response';
        const declared = Object.entries(op.responses ?? {}).filter(([status, r]) => status === '204' || bodyless(r) || Object.values(r.content ?? {}).some((c) => c.schema !== undefined));
        const refusal = NEVER_SUCCEEDS.get(name);
        const wanted = refusal !== undefined ? new RegExp(`^${refusal}$`) : /^2\d\d$/;
        if (!declared.some(([status]) => wanted.test(status))) missing.push(name);
      }
    }
    expect(operations).toBeGreaterThan(200);
    expect(missing, 'operations without a success response schema').toEqual([]);
    expect(
      [...NEVER_SUCCEEDS.keys()].filter((n) => !seen.has(n)),
      'refusing routes that no longer exist',
    ).toEqual([]);
  });

  it('compiles every route schema, though the server compiles each at its first use', async () => {
    // A route that has answered has compiled its schemas; the rest compile here, and a schema
    // Ajv or fast-json-stringify cannot compile fails this test rather than that route's first request.
    const before = server.compileSchemas();
    expect(before).toBeGreaterThan(300);
    expect(server.compileSchemas()).toBe(0);
    // Still validated and serialized as before, after a forced compilation.
    const bad = await fetch(`${server.url}/api/v1/agents?limit=0`);
    expect(bad.status).toBe(400);
    const list = await fetch(`${server.url}/api/v1/agents?limit=1`);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ agents: [], total: 0, page: 1, limit: 1 });
  });
});

/** Serializes as Fastify does with the route's response schema: a property the schema lacks would be dropped. */
const serialized = (schema: TSchema, value: unknown): unknown => JSON.parse(fastJsonStringify(schema as object)(value));
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe("the managed door's response schemas keep every field its views send", () => {
  const t = '2026-01-02T03:04:05.000Z';
  const agent = agentJson({
    id: 'agent_1',
    version: 3,
    config: {
      name: 'Helper',
      description: null,
      model: { id: 'claude-x', effort: { type: 'high' }, speed: 'fast', inference_geo: 'eu' },
      system: 'Be brief',
      tools: [{ type: 'custom', name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, description: '' }],
      mcp_servers: [{ name: 'docs', type: 'url', url: 'https://mcp.example.com' }],
      skills: [{ type: 'custom', skill_id: 'skill_1', version: 'latest' }],
      metadata: { team: 'support' },
      multiagent: { type: 'coordinator', agents: ['a', 'b'] },
      execution_identity: { type: 'service_account' },
      environment_id: 'env_1',
    },
    createdAt: t,
    updatedAt: t,
    archivedAt: null,
  });
  const memory = { seq: 1, id: 'mem_1', storeId: 'ms_1', path: '/notes/a.md', content: 'hello', sha256: 'a'.repeat(64), sizeBytes: 5, embedding: null, createdAt: t, updatedAt: t };
  const card = {
    id: 'mc_1',
    modelId: 'fast',
    provider: 'oai-compatible' as const,
    listPrice: { currency: 'USD' as const, input_per_mtok: '300', output_per_mtok: '1500', cache_read_per_mtok: '30', cache_write_per_mtok: '375' },
    model: 'gpt-x',
    baseUrl: 'https://llm.example.com/v1',
    customHeaderNames: ['x-org'],
    keyLast4: 'abcd',
    probedAt: t,
    createdAt: t,
    updatedAt: t,
  };
  const session = {
    type: 'session',
    id: 'sesn_1',
    status: 'idle',
    title: null,
    agent: { type: 'agent', id: 'agent_1', version: 3, name: 'Helper', model: { id: 'claude-x' }, tools: [] },
    environment_id: 'env_1',
    metadata: { team: 'support' },
    vault_ids: ['v_1'],
    resources: [{ type: 'file', file_id: 'file_1' }],
    outcome_evaluations: [],
    budget: { type: 'limit', max_list_cost: { amount: '100', currency: 'USD' } },
    usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0, active_seconds: 1.5 },
    stats: { active_seconds: 1.5, duration_seconds: 9.2 },
    created_at: t,
    updated_at: t,
    archived_at: null,
  };
  const toolUse = { id: 'sevt_1', type: 'agent.tool_use', name: 'bash', input: { command: 'ls' }, evaluated_permission: 'allow', processed_at: t };
  const cases: Array<[string, TSchema, unknown]> = [
    ['agent', R.Agent, agent],
    ['agent list', ListOf(R.Agent), { data: [agent], next_page: 'tok', has_more: true }],
    [
      'environment',
      R.Environment,
      environmentJson({
        id: 'env_1',
        name: 'E',
        description: 'd',
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['x'] } },
        metadata: {},
        scope: 'account',
        createdAt: t,
        updatedAt: t,
        archivedAt: t,
      }),
    ],
    [
      'environment without scope',
      R.Environment,
      environmentJson({ id: 'env_2', name: 'E', description: null, config: { type: 'self_hosted' }, metadata: { a: 'b' }, scope: null, createdAt: t, updatedAt: t, archivedAt: null }),
    ],
    ['api key', R.CreatedApiKey, { ...apiKeyJson({ id: 'key_1', name: 'ci', prefix: 'agentry_ab', permission: 'write', createdAt: t, lastUsedAt: null, expiresAt: t }), key: 'agentry_secret' }],
    ['file', R.File, fileJson({ id: 'file_1', filename: 'a.txt', mimeType: 'text/plain', sizeBytes: 3, digest: 'sha256:x', sessionId: 'sess_1', createdAt: t, expiresAt: null })],
    [
      'file metadata or bytes',
      R.FileOrBytes,
      fileJson({ id: 'file_2', filename: 'b.bin', mimeType: 'application/octet-stream', sizeBytes: 0, digest: 'sha256:y', sessionId: null, createdAt: t, expiresAt: t }),
    ],
    ['skill', R.Skill, skillJson({ id: 'skill_1', displayTitle: 'S', description: 'd', name: 's', source: 'custom', latestVersion: '1', createdAt: t, updatedAt: t })],
    ['skill version', R.SkillVersion, versionJson({ skillId: 'skill_1', version: '1', name: 's', description: 'd', createdAt: t })],
    ['memory store', R.MemoryStore, storeJson({ id: 'ms_1', name: 'm', description: '', metadata: {}, createdAt: t, updatedAt: t, archivedAt: null })],
    ['memory (full)', R.Memory, memoryJson(memory)],
    ['memory (basic)', R.Memory, memoryJson(memory, 'basic')],
    ['memory search', R.MemorySearch, { data: [{ ...memoryJson(memory), score: 0.5 }], ranking: 'full_text' }],
    ['vault', R.Vault, vaultJson({ id: 'v_1', displayName: 'V', metadata: {}, hasSecret: true, secretUpdatedAt: t, createdAt: t, updatedAt: t, archivedAt: null })],
    [
      'credential',
      R.Credential,
      credentialJson({
        id: 'c_1',
        vaultId: 'v_1',
        displayName: null,
        metadata: { k: 'v' },
        auth: { type: 'mcp_oauth', mcp_server_url: 'https://x', scopes: ['a'] },
        createdAt: t,
        updatedAt: t,
        archivedAt: null,
      }),
    ],
    ['model card', R.ModelCard, cardJson(card)],
    ['model card key', R.ModelCardKey, { ...cardJson(card), api_key: 'sk-1', custom_headers: { 'x-org': 'o' } }],
    ['deleted', R.Deleted('agent_deleted'), { id: 'agent_1', type: 'agent_deleted' }],
    ['session', R.Session, session],
    ['session list', R.SessionList, { data: [session], next_page: null, prev_page: null, has_more: false }],
    ['session event', R.SessionEvent, toolUse],
    ['session events sent', R.SessionEventsSent, { data: [{ id: 'sevt_2', type: 'user.message', content: [{ type: 'text', text: 'hi' }], processed_at: null }] }],
    ['session event page', R.SessionEventPage, { data: [toolUse], next_page: 'tok', has_more: true }],
    ['published agent', R.AgentPackage, { type: 'agent_package', package: '@alice/helper', version: '3.0.0', digest: 'sha256:z', agent_id: 'agent_1', agent_version: 3 }],
  ];

  it.each(cases)('%s', (_name, schema, value) => {
    expect(serialized(schema, value)).toEqual(plain(value));
  });
});
