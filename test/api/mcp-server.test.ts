import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Agentry as an MCP server at /mcp (issue 20): the SDK's real Client over Streamable HTTP lists the
 * tools, resources and prompts, calls every tool, and sees only what its token may read; bad input
 * gives MCP errors (a tool result with isError, or a JSON-RPC error), never a 500.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 60_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };

const serverJson = (name: string, description: string) =>
  JSON.stringify({
    name: `alice/${name}`,
    description,
    version: '1.2.0',
    packages: [{ registryType: 'npm', identifier: `@alice/${name}`, version: '1.2.0', transport: { type: 'stdio' }, environmentVariables: [{ name: 'WEATHER_KEY' }] }],
  });
const serverTar = (name: string, description: string) => makeTarball({ 'server.json': serverJson(name, description), 'README.md': `# ${name}\n\n${description}\n` });
const skillTar = (name: string, description: string) =>
  makeTarball({ 'SKILL.md': `---\nname: ${name}\ndescription: ${description}\nmetadata:\n  version: 1.0.0\n---\n# ${name}\n\nSteps for ${name}.\n`, 'README.md': `# ${name} readme\n` });

type Result = { content: Array<{ type: string; text?: string }>; structuredContent?: any; isError?: boolean };

describe.each(testStores)("Agentry's MCP endpoint (%s)", (store) => {
  let server: TestServer;
  let admin: Api;
  let aliceToken = '';
  let bobToken = '';
  let adminReadToken = '';
  const clients: Client[] = [];

  const connect = async (token?: string): Promise<Client> => {
    const client = new Client({ name: 'test', version: '1' });
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }));
    clients.push(client);
    return client;
  };
  const call = async (client: Client, name: string, args: Record<string, unknown>): Promise<Result> => (await client.callTool({ name, arguments: args })) as Result;
  const mcpError = async (work: Promise<unknown>): Promise<McpError> => {
    const e = await work.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(McpError);
    return e as McpError;
  };
  const names = (r: Result): string[] => (r.structuredContent.packages as Array<{ name: string }>).map((p) => p.name).sort();

  beforeAll(async () => {
    server = await startTestServer({ store, workloadTimings: TIMINGS });
    admin = new Api(server.url, server.adminToken);
    aliceToken = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token;
    bobToken = (await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token;
    adminReadToken = (await admin.req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' })).body.token;
    const alice = admin.with(aliceToken);
    const publish = async (path: string, tar: Buffer, access: string) => {
      const r = await alice.publish(path, tar, { access });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    await publish('/api/v1/mcp-servers/@alice/weather-server', await serverTar('weather-server', 'Weather forecasts for any city'), 'public');
    await publish('/api/v1/mcp-servers/@alice/secret-server', await serverTar('secret-server', 'Weather secrets only alice sees'), 'private');
    await publish('/api/v1/skills/@alice/pdf-filler', await skillTar('pdf-filler', 'Fill PDF forms'), 'public');
    await publish('/api/v1/skills/@alice/hidden-skill', await skillTar('hidden-skill', 'A private skill'), 'private');
    await publish('/api/v1/agents/@alice/helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice', readme: '# Helper\n\nHelps.' }), 'public');
    const created = await admin.req('POST', '/api/v1beta/workloads', {
      name: 'everything',
      command: process.execPath,
      cmd_arguments: [EVERYTHING, 'stdio'],
      permission_profile: { read: [NODE_MODULES] },
      visibility: 'internal',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor('everything to run', async () => ((await admin.req('GET', '/api/v1beta/workloads/everything/status')).body.status === 'running' ? true : undefined), 60_000);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
  });

  it('lists its tools, resource templates and prompts, to an anonymous client too', async () => {
    const client = await connect();
    expect(client.getServerVersion()?.name).toBe('agentry');
    const tools = (await client.listTools()).tools;
    expect(tools.map((t) => t.name)).toEqual(['search_packages', 'get_package', 'list_workloads', 'list_workload_tools', 'start_workload', 'stop_workload', 'run_agent']);
    const search = tools.find((t) => t.name === 'search_packages')!;
    expect(search.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
    expect(Object.keys(search.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['query', 'kind', 'category', 'tag', 'scope', 'owner', 'sort', 'page', 'limit', 'mode']));
    expect(tools.find((t) => t.name === 'stop_workload')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toEqual(['agentry://packages/{scope}/{name}/readme', 'agentry://skills/{scope}/{name}/SKILL.md']);
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['pick_mcp_server']);
  });

  it('searches packages of every kind with filters, showing each caller only what it may read', async () => {
    const anonymous = await connect();
    const bob = await connect(bobToken);
    const alice = await connect(aliceToken);
    const all = await call(anonymous, 'search_packages', {});
    expect(all.isError).toBeFalsy();
    expect(names(all)).toEqual(['@alice/helper', '@alice/pdf-filler', '@alice/weather-server']);
    expect(all.structuredContent).toMatchObject({ total: 3, page: 1, limit: 10 });
    expect(JSON.parse(all.content[0].text!)).toEqual(all.structuredContent);
    // The private server is as absent for bob as for an anonymous caller; alice sees it.
    expect(names(await call(bob, 'search_packages', { query: 'weather' }))).toEqual(['@alice/weather-server']);
    expect(names(await call(alice, 'search_packages', { query: 'weather' }))).toEqual(['@alice/secret-server', '@alice/weather-server']);
    expect((await call(bob, 'search_packages', { query: 'secrets' })).structuredContent).toMatchObject({ packages: [], total: 0 });
    // Filters: kind, scope, owner, paging.
    expect(names(await call(alice, 'search_packages', { kind: 'skill' }))).toEqual(['@alice/hidden-skill', '@alice/pdf-filler']);
    expect(names(await call(anonymous, 'search_packages', { kind: 'mcp-server', scope: '@alice' }))).toEqual(['@alice/weather-server']);
    expect(names(await call(anonymous, 'search_packages', { owner: 'alice', kind: 'agent' }))).toEqual(['@alice/helper']);
    expect((await call(anonymous, 'search_packages', { owner: 'nobody-here' })).isError).toBe(true);
    const second = await call(anonymous, 'search_packages', { sort: 'name', limit: 1, page: 2 });
    expect(second.structuredContent).toMatchObject({ packages: [{ name: '@alice/pdf-filler', kind: 'skill' }], total: 3, page: 2, limit: 1 });
  });

  it('shows a package: README, manifest, versions, dist-tags and install snippets for its kind', async () => {
    const bob = await connect(bobToken);
    const r = await call(bob, 'get_package', { package: '@alice/weather-server' });
    expect(r.isError).toBeFalsy();
    const p = r.structuredContent;
    expect(p).toMatchObject({ name: '@alice/weather-server', kind: 'mcp-server', latest_version: '1.2.0', dist_tags: { latest: '1.2.0' }, readme: expect.stringContaining('Weather forecasts') });
    expect(p.versions).toEqual([expect.objectContaining({ version: '1.2.0', deprecated: null })]);
    expect(p.manifest).toMatchObject({ name: 'alice/weather-server' });
    const labels = (p.install as Array<{ label: string; text: string }>).map((s) => s.label);
    expect(labels).toEqual(['Agentry CLI', 'MCP client configuration (mcpServers)', 'ToolHive', 'OCI (oras)', 'OCI (skopeo)']);
    const config = JSON.parse(p.install[1].text);
    expect(config).toEqual({ mcpServers: { 'weather-server': { command: 'npx', args: ['-y', '@alice/weather-server@1.2.0'], env: { WEATHER_KEY: '<WEATHER_KEY>' } } } });
    expect(p.install[0].text).toBe(`agentry pull @alice/weather-server@1.2.0 --registry ${server.url}`);
    expect(p.resources).toEqual(['agentry://packages/alice/weather-server/readme']);
    const skill = (await call(bob, 'get_package', { package: 'alice/pdf-filler', kind: 'skill' })).structuredContent;
    expect(skill.install[0].text).toBe(`agentry skill pull @alice/pdf-filler@1.0.0 --registry ${server.url}`);
    expect(skill.resources).toEqual(['agentry://packages/alice/pdf-filler/readme', 'agentry://skills/alice/pdf-filler/SKILL.md']);
    // Another account's private package is "not found", exactly like one that does not exist.
    const hidden = await call(bob, 'get_package', { package: '@alice/secret-server' });
    const missing = await call(bob, 'get_package', { package: '@alice/no-such-server' });
    expect(hidden.isError).toBe(true);
    expect(hidden.content[0].text).toBe(missing.content[0].text);
    expect(hidden.content[0].text).toMatch(/not found/i);
    expect((await call(bob, 'get_package', { package: '@alice/weather-server', kind: 'agent' })).isError).toBe(true);
    expect((await call(await connect(aliceToken), 'get_package', { package: '@alice/secret-server' })).structuredContent.visibility).toBe('private');
  });

  it('serves READMEs and SKILL.md as resources through the access rule', async () => {
    const anonymous = await connect();
    const alice = await connect(aliceToken);
    const readme = await anonymous.readResource({ uri: 'agentry://packages/alice/weather-server/readme' });
    expect(readme.contents[0]).toMatchObject({ uri: 'agentry://packages/alice/weather-server/readme', mimeType: 'text/markdown', text: expect.stringContaining('# weather-server') });
    const skillMd = await anonymous.readResource({ uri: 'agentry://skills/%40alice/pdf-filler/SKILL.md' });
    expect((skillMd.contents[0] as { text: string }).text).toMatch(/^---\nname: pdf-filler\ndescription: Fill PDF forms\n/);
    // Private: unreadable to others, with the same answer as a resource that does not exist.
    const hidden = await mcpError(anonymous.readResource({ uri: 'agentry://packages/alice/secret-server/readme' }));
    const absent = await mcpError(anonymous.readResource({ uri: 'agentry://packages/alice/nothing-here/readme' }));
    expect(hidden.code).toBe(-32002);
    expect(hidden.message).toBe(absent.message);
    expect((await mcpError(anonymous.readResource({ uri: 'agentry://skills/alice/hidden-skill/SKILL.md' }))).code).toBe(-32002);
    expect((await alice.readResource({ uri: 'agentry://skills/alice/hidden-skill/SKILL.md' })).contents[0]).toMatchObject({ text: expect.stringContaining('A private skill') });
    // A skill's SKILL.md only under skills/, a package that is not a skill has none.
    expect((await mcpError(anonymous.readResource({ uri: 'agentry://skills/alice/weather-server/SKILL.md' }))).code).toBe(-32002);
    // The list: what the caller may read, nothing more.
    const listed = (await anonymous.listResources()).resources.map((r) => r.uri);
    expect(listed).toContain('agentry://packages/alice/weather-server/readme');
    expect(listed).toContain('agentry://skills/alice/pdf-filler/SKILL.md');
    expect(listed.filter((u) => u.includes('secret-server') || u.includes('hidden-skill'))).toEqual([]);
    expect((await alice.listResources()).resources.map((r) => r.uri)).toContain('agentry://skills/alice/hidden-skill/SKILL.md');
  });

  it('offers a prompt that embeds a search of MCP servers for a task', async () => {
    const bob = await connect(bobToken);
    const r = await bob.getPrompt({ name: 'pick_mcp_server', arguments: { task: 'weather' } });
    const text = (r.messages[0].content as { text: string }).text;
    expect(text).toContain('I need an MCP server for this task:\n\nweather');
    expect(text).toContain('1. @alice/weather-server (1.2.0): Weather forecasts for any city');
    expect(text).not.toContain('secret-server');
    // No server matches the words: the most downloaded ones instead, and it says so.
    const none = await bob.getPrompt({ name: 'pick_mcp_server', arguments: { task: 'translate klingon poetry' } });
    expect((none.messages[0].content as { text: string }).text).toMatch(/No MCP server .* matched a search .*\n\n1\. @alice\/weather-server/);
    expect((await mcpError(bob.getPrompt({ name: 'pick_mcp_server', arguments: {} }))).code).toBe(-32602);
    expect((await mcpError(bob.getPrompt({ name: 'pick_mcp_server', arguments: { task: 'x'.repeat(2001) } }))).code).toBe(-32602);
    expect((await mcpError(bob.getPrompt({ name: 'no_such_prompt', arguments: {} }))).code).toBe(-32002);
  });

  it('lists workloads and their tools, and starts and stops them only for those allowed', async () => {
    const adminClient = await connect(server.adminToken);
    const reader = await connect(adminReadToken);
    const alice = await connect(aliceToken);
    const anonymous = await connect();
    const listed = await call(alice, 'list_workloads', {});
    expect(listed.structuredContent.workloads).toEqual([expect.objectContaining({ name: 'everything', status: 'running', owner: 'admin', url: `${server.url}/workloads/everything/mcp` })]);
    // Internal: an anonymous caller sees no workload, and cannot reach its tools.
    expect((await call(anonymous, 'list_workloads', {})).structuredContent.workloads).toEqual([]);
    expect((await call(anonymous, 'list_workload_tools', { workload: 'everything' })).isError).toBe(true);
    const tools = await call(alice, 'list_workload_tools', { workload: 'everything' });
    expect(tools.isError, tools.content[0].text).toBeFalsy();
    expect((tools.structuredContent.tools as Array<{ name: string }>).map((t) => t.name)).toContain('echo');
    expect(tools.structuredContent.tools.find((t: { name: string }) => t.name === 'echo').input_schema).toMatchObject({ type: 'object' });
    // A read-only token (even an administrator's), and an account that does not own it, may not stop it.
    const ro = await call(reader, 'stop_workload', { workload: 'everything' });
    expect(ro.isError).toBe(true);
    expect(ro.content[0].text).toMatch(/Only the owner of workload 'everything' and administrators manage it/);
    expect((await call(alice, 'stop_workload', { workload: 'everything' })).structuredContent.error.code).toBe('forbidden');
    expect((await call(anonymous, 'start_workload', { workload: 'everything' })).structuredContent.error.code).toBe('not_found');
    expect((await admin.req('GET', '/api/v1beta/workloads/everything/status')).body.status).toBe('running');
    // Its owner stops and starts it.
    const stopped = await call(adminClient, 'stop_workload', { workload: 'everything' });
    expect(stopped.isError, stopped.content[0].text).toBeFalsy();
    expect(stopped.structuredContent.workload.name).toBe('everything');
    await waitFor('everything to stop', async () => ((await admin.req('GET', '/api/v1beta/workloads/everything/status')).body.status === 'stopped' ? true : undefined), 30_000);
    expect((await call(alice, 'list_workload_tools', { workload: 'everything' })).content[0].text).toMatch(/not running/);
    expect((await call(alice, 'list_workloads', { all: true })).structuredContent.workloads[0].status).toBe('stopped');
    expect((await call(adminClient, 'start_workload', { workload: 'everything' })).isError).toBeFalsy();
    await waitFor('everything to run again', async () => ((await admin.req('GET', '/api/v1beta/workloads/everything/status')).body.status === 'running' ? true : undefined), 60_000);
    expect((await call(alice, 'list_workload_tools', { workload: 'everything' })).isError).toBeFalsy();
    expect((await call(adminClient, 'stop_workload', { workload: 'no-such-workload' })).structuredContent.error.code).toBe('not_found');
  }, 120_000);

  it('answers bad input with MCP errors, never a 500', async () => {
    const client = await connect(bobToken);
    expect((await mcpError(client.callTool({ name: 'no_such_tool', arguments: {} }))).code).toBe(-32602);
    const bad = async (name: string, args: Record<string, unknown>, pattern: RegExp) => {
      const r = await call(client, name, args);
      expect(r.isError, JSON.stringify(r)).toBe(true);
      expect(r.content[0].text).toMatch(pattern);
      expect(r.structuredContent.error.code).toBe('validation_failed');
    };
    await bad('search_packages', { limit: 0 }, /Validation failed: arguments\.limit/);
    await bad('search_packages', { limit: '5' }, /arguments\.limit/);
    await bad('search_packages', { kind: 'plugin' }, /arguments\.kind/);
    await bad('search_packages', { surprise: true }, /unknown field 'surprise'/);
    await bad('search_packages', { query: 'x'.repeat(201) }, /arguments\.query/);
    await bad('get_package', {}, /missing required field 'package'/);
    await bad('get_package', { package: '../../etc/passwd' }, /arguments\.package/);
    await bad('list_workload_tools', { workload: '' }, /arguments\.workload/);
    expect((await mcpError(client.readResource({ uri: 'agentry://packages/alice/weather-server/versions' }))).code).toBe(-32002);
    expect((await mcpError(client.readResource({ uri: 'agentry://packages/%E0%A4%A/x/readme' }))).code).toBe(-32602);
    expect((await mcpError(client.readResource({ uri: 'agentry://packages/-bad-/x/readme' }))).code).toBe(-32602);
    expect((await mcpError(client.listResources({ cursor: 'abc' }))).code).toBe(-32602);

    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
    const malformed = await post('{"jsonrpc":');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    const notRpc = await post('{"hello":"world"}');
    expect(notRpc.status).toBe(400);
    expect(await notRpc.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    const badToken = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', { authorization: 'Bearer agentry_not-a-real-token' });
    expect(badToken.status).toBe(401);
    expect(badToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await badToken.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32002 }, id: null });
    for (const method of ['GET', 'DELETE']) {
      const r = await fetch(`${server.url}/mcp`, { method, headers: { accept: 'text/event-stream' } });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
      expect(await r.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/stateless/) }, id: null });
    }
  });
});

describe.each(testStores)("Agentry's MCP endpoint on a server that needs a token for reads (%s)", (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store, authRequiredForReads: true });
  });
  afterAll(() => server?.close());

  it('refuses an anonymous client with 401 and serves one with a token', async () => {
    const anonymous = new Client({ name: 'test', version: '1' });
    await expect(anonymous.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)))).rejects.toThrow(/401|token/i);
    const raw = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32002, message: expect.stringMatching(/requires a token/) } });
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${server.adminToken}` } } }));
    const r = (await client.callTool({ name: 'search_packages', arguments: {} })) as Result;
    expect(r.structuredContent).toMatchObject({ packages: [], total: 0 });
    await client.close();
  });
});
