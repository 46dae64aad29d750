import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * ToolHive's workloads API on real MCP servers from npm (the reference everything and filesystem
 * servers, installed as dev dependencies and run with node), sandboxed under bubblewrap, reached by
 * a real MCP client through Agentry's proxy over Streamable HTTP and SSE.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
/** node_modules itself: the servers' dependencies are read from there inside the sandbox. */
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));

const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };

const api = (s: TestServer, token: string) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, body: json as Record<string, unknown> & { workloads?: Array<Record<string, unknown>> } };
};

const everythingSpec = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  command: process.execPath,
  cmd_arguments: [EVERYTHING, 'stdio'],
  permission_profile: { read: [NODE_MODULES], write: [] },
  ...extra,
});

describe.each(testStores)('ToolHive workloads (%s)', (store) => {
  let server: TestServer;
  let admin: ReturnType<typeof api>;
  let aliceToken: string;
  let alice: ReturnType<typeof api>;

  const status = async (name: string) => (await admin('GET', `/api/v1beta/workloads/${name}/status`)).body?.status as string | undefined;
  const waitStatus = (name: string, want: string, timeoutMs = 60_000) => waitFor(`${name} to be ${want}`, async () => ((await status(name)) === want ? want : undefined), timeoutMs);

  const connect = async (name: string, token: string, mode: 'mcp' | 'sse' = 'mcp') => {
    const client = new Client({ name: 'test', version: '1' });
    const url = new URL(`${server.url}/workloads/${name}/${mode}`);
    const headers = { authorization: `Bearer ${token}` };
    const transport =
      mode === 'mcp'
        ? new StreamableHTTPClientTransport(url, { requestInit: { headers } })
        : new SSEClientTransport(url, {
            requestInit: { headers },
            eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...headers, ...Object.fromEntries(new Headers(init?.headers).entries()) } }) },
          });
    await client.connect(transport);
    return client;
  };

  beforeAll(async () => {
    server = await startTestServer({ store, workloadTimings: TIMINGS });
    admin = api(server, server.adminToken);
    aliceToken = (await admin('POST', '/api/v1/users', { username: 'alice' })).body.token as string;
    alice = api(server, aliceToken);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs an explicit command sandboxed, lists it, and proxies it over Streamable HTTP and SSE', async () => {
    const created = await admin(
      'POST',
      '/api/v1beta/workloads',
      everythingSpec('everything', { tools: ['echo', 'get-sum'], tools_override: { 'get-sum': { name: 'add', description: 'Adds' } }, env_vars: { GREETING: 'plain-value-7f3a', EMPTY: '' } }),
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body).toEqual({ name: 'everything', port: Number(new URL(server.url).port) });
    await waitStatus('everything', 'running');

    const list = await admin('GET', '/api/v1beta/workloads');
    const w = list.body.workloads!.find((x) => x.name === 'everything')!;
    expect(w).toMatchObject({
      status: 'running',
      transport_type: 'stdio',
      proxy_mode: 'streamable-http',
      remote: false,
      group: 'default',
      url: `${server.url}/workloads/everything/mcp`,
      tools: ['echo', 'get-sum'],
    });
    expect(typeof w.created_at).toBe('string');
    expect(w.started_at).not.toBe('');

    const client = await connect('everything', server.adminToken);
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(['add', 'echo']);
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'hi there' } });
    expect(JSON.stringify(echo.content)).toContain('hi there');
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    expect(JSON.stringify(sum.content)).toContain('5');
    // A filtered tool and the old name of a renamed one are unknown.
    await expect(client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } })).rejects.toThrow(/Unknown tool/);
    await expect(client.callTool({ name: 'get-env', arguments: {} })).rejects.toThrow(/Unknown tool/);
    await client.close();

    const sse = await connect('everything', server.adminToken, 'sse');
    expect((await sse.listTools()).tools.map((t) => t.name).sort()).toEqual(['add', 'echo']);
    expect(JSON.stringify((await sse.callTool({ name: 'echo', arguments: { message: 'over sse' } })).content)).toContain('over sse');
    await sse.close();

    // The proxy log audits calls: tool, caller, duration, outcome; never arguments.
    const proxyLogs = await admin('GET', '/api/v1beta/workloads/everything/proxy-logs');
    expect(proxyLogs.status).toBe(200);
    expect(proxyLogs.text).toContain('"tool":"echo"');
    expect(proxyLogs.text).toContain('"caller":"admin"');
    expect(proxyLogs.text).toMatch(/"duration_ms":\d+/);
    expect(proxyLogs.text).not.toContain('hi there');
    const logs = await admin('GET', '/api/v1beta/workloads/everything/logs');
    expect(logs.status).toBe(200);
    expect(logs.text).toContain('Starting default (STDIO) server');
  });

  it('keeps private workloads from other accounts, and refuses explicit specs to non-admins', async () => {
    expect((await alice('GET', '/api/v1beta/workloads/everything')).status).toBe(404);
    expect((await alice('GET', '/api/v1beta/workloads')).body.workloads).toEqual([]);
    expect((await alice('POST', '/api/v1beta/workloads/everything/stop')).status).toBe(404);
    const res = await fetch(`${server.url}/workloads/everything/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(res.status).toBe(404);
    const anon = await fetch(`${server.url}/workloads/everything/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([400, 401, 404]).toContain(anon.status);
    expect((await alice('POST', '/api/v1beta/workloads', everythingSpec('mine'))).status).toBe(403);
    // Made internal, alice may use it but not manage it.
    expect((await admin('POST', '/api/v1beta/workloads/everything/edit', { visibility: 'internal', tools: ['echo'], permission_profile: { read: [NODE_MODULES] } })).status).toBe(200);
    // The edit restarts it: its status may still read the old run's 'running' for a moment, so wait until it takes clients.
    const client = await waitFor('everything to take clients again', () => connect('everything', aliceToken));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    await client.close();
    expect((await alice('POST', '/api/v1beta/workloads/everything/stop')).status).toBe(403);
    expect((await alice('GET', '/api/v1beta/workloads/everything/logs')).status).toBe(403);
  });

  it("shows an internal workload's plain env values to those who manage it only: readers get the names, each value redacted", async () => {
    const redacted = { GREETING: '***', EMPTY: '***' };
    const plain = { GREETING: 'plain-value-7f3a', EMPTY: '' };
    // A reader (alice, signed in, not the owner): both the detail and the export.
    const detail = await alice('GET', '/api/v1beta/workloads/everything');
    expect(detail.status, detail.text).toBe(200);
    expect(detail.body.env_vars).toEqual(redacted);
    const exported = await alice('GET', '/api/v1beta/workloads/everything/export');
    expect(exported.status, exported.text).toBe(200);
    expect(exported.body.env_vars).toEqual(redacted);
    expect(detail.text + exported.text).not.toContain('plain-value-7f3a');
    // An administrator's read-only token may read but not manage: redacted too.
    const readToken = (await admin('POST', '/api/v1/tokens', { name: 'env-reader', permission: 'read' })).body.token as string;
    expect((await api(server, readToken)('GET', '/api/v1beta/workloads/everything')).body.env_vars).toEqual(redacted);
    expect((await api(server, readToken)('GET', '/api/v1beta/workloads/everything/export')).body.env_vars).toEqual(redacted);
    // The manager (the administrator who owns it) sees the values, in both.
    expect((await admin('GET', '/api/v1beta/workloads/everything')).body.env_vars).toEqual(plain);
    expect((await admin('GET', '/api/v1beta/workloads/everything/export')).body.env_vars).toEqual(plain);
  });

  it('gets, exports, stops, restarts and deletes', async () => {
    const detail = await admin('GET', '/api/v1beta/workloads/everything');
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ name: 'everything', command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], transport: 'stdio', group: 'default', network_isolation: true });
    const exported = await admin('GET', '/api/v1beta/workloads/everything/export');
    expect(exported.body).toMatchObject({ schema_version: 'v0.1.0', name: 'everything', transport: 'stdio', cmd_args: [EVERYTHING, 'stdio'], isolate_network: true, tools_filter: ['echo'] });

    expect((await admin('POST', '/api/v1beta/workloads/everything/stop')).status).toBe(202);
    await waitStatus('everything', 'stopped');
    expect((await admin('GET', '/api/v1beta/workloads')).body.workloads!.map((w) => w.name)).not.toContain('everything');
    expect((await admin('GET', '/api/v1beta/workloads?all=true')).body.workloads!.map((w) => w.name)).toContain('everything');
    expect((await admin('POST', '/api/v1beta/workloads/everything/restart')).status).toBe(202);
    await waitStatus('everything', 'running');

    expect((await admin('POST', '/api/v1beta/workloads', everythingSpec('everything'))).status).toBe(409);
    expect((await admin('DELETE', '/api/v1beta/workloads/everything')).status).toBe(202);
    expect((await admin('GET', '/api/v1beta/workloads/everything')).status).toBe(404);
    expect((await admin('GET', '/api/v1beta/workloads/everything/logs')).status).toBe(404);
  });

  it('bulk stops, restarts and deletes by names or group', async () => {
    // A workload's group must exist.
    expect((await admin('POST', '/api/v1beta/workloads', everythingSpec('b1', { group: 'bulk' }))).status).toBe(400);
    expect((await admin('POST', '/api/v1beta/groups', { name: 'bulk' })).status).toBe(201);
    for (const n of ['b1', 'b2']) expect((await admin('POST', '/api/v1beta/workloads', everythingSpec(n, { group: 'bulk' }))).status).toBe(201);
    await waitStatus('b1', 'running');
    await waitStatus('b2', 'running');
    expect((await admin('GET', '/api/v1beta/workloads?group=bulk')).body.workloads!.map((w) => w.name)).toEqual(['b1', 'b2']);
    expect((await admin('POST', '/api/v1beta/workloads/stop', { group: 'bulk' })).status).toBe(202);
    await waitStatus('b1', 'stopped');
    await waitStatus('b2', 'stopped');
    expect((await admin('POST', '/api/v1beta/workloads/restart', { names: ['b1'] })).status).toBe(202);
    await waitStatus('b1', 'running');
    expect((await admin('POST', '/api/v1beta/workloads/delete', { names: ['b1'], group: 'bulk' })).status).toBe(400);
    expect((await admin('POST', '/api/v1beta/workloads/delete', {})).status).toBe(400);
    expect((await admin('POST', '/api/v1beta/workloads/delete', { names: ['b1', 'nope'] })).status).toBe(404);
    expect((await admin('POST', '/api/v1beta/workloads/delete', { group: 'bulk' })).status).toBe(202);
    expect((await admin('GET', '/api/v1beta/workloads?all=true&group=bulk')).body.workloads).toEqual([]);
  });

  it('refuses bad input: traversal in names, mounts of / and .., bad env names, no or two sources', async () => {
    for (const name of ['../etc', 'a/b', '..', '.hidden', 'x'.repeat(64), 'a\u0000b']) {
      const r = await admin('POST', '/api/v1beta/workloads', everythingSpec(name));
      expect(r.status, name).toBe(400);
    }
    expect((await admin('GET', '/api/v1beta/workloads/..%2F..%2Fetc')).status).toBe(400);
    for (const read of [['/'], ['/tmp/../etc'], ['relative/path'], ['volume://x']]) {
      const r = await admin('POST', '/api/v1beta/workloads', everythingSpec('badmount', { permission_profile: { read } }));
      expect(r.status, JSON.stringify(read)).toBe(400);
    }
    expect((await admin('POST', '/api/v1beta/workloads', everythingSpec('badenv', { env_vars: { 'A=B': 'x' } }))).status).toBe(400);
    expect((await admin('POST', '/api/v1beta/workloads', { name: 'none' })).status).toBe(400);
    expect((await admin('POST', '/api/v1beta/workloads', { name: 'two', command: 'x', url: 'https://example.com/mcp' })).status).toBe(400);
    expect((await admin('GET', '/api/v1beta/workloads?all=true')).body.workloads!.map((w) => w.name)).toEqual([]);
  });

  it('marks a server that prints garbage, or never answers initialize, unhealthy without hanging', async () => {
    // On a server of its own whose initialize timeout is short: waiting out the 20 s the other tests leave took most of this file's time.
    const quick = await startTestServer({ store, workloadTimings: { ...TIMINGS, initTimeoutMs: 3_000 } });
    try {
      const q = api(quick, quick.adminToken);
      const dir = mkdtempSync(join(tmpdir(), 'agentry-bad-mcp-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'garbage.js'), "setInterval(() => process.stdout.write('this is not json\\n' + 'x'.repeat(100000) + '\\n'), 50);\n");
      writeFileSync(join(dir, 'silent.js'), 'setInterval(() => {}, 1000);\n');
      for (const file of ['garbage.js', 'silent.js']) {
        const name = file.replace('.js', '');
        expect((await q('POST', '/api/v1beta/workloads', { name, command: process.execPath, cmd_arguments: [join(dir, file)], permission_profile: { read: [dir] } })).status).toBe(201);
      }
      for (const name of ['garbage', 'silent']) {
        const w = await waitFor(`${name} to be unhealthy`, async () => (await q('GET', '/api/v1beta/workloads?all=true')).body.workloads!.find((x) => x.name === name && x.status === 'unhealthy'));
        expect(w.status_context).toMatch(/initialize failed/);
      }
      const logs = await waitFor('the garbage in the logs', async () => {
        const r = await q('GET', '/api/v1beta/workloads/garbage/logs');
        return r.text.includes('more characters cut') ? r : undefined;
      });
      expect(logs.text).toContain('[stdout, not MCP] this is not json');
      // A huge line is cut, not kept whole.
      expect(logs.text.split('\n').every((l) => l.length < 20_000)).toBe(true);
      expect((await q('POST', '/api/v1beta/workloads/delete', { names: ['garbage', 'silent'] })).status).toBe(202);
    } finally {
      await quick.close();
    }
  });
});
