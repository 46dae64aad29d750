import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Workloads isolated for real under bubblewrap, and supervised for real: the filesystem server
 * cannot read outside its mounts even when told it may read `/`; a server without network cannot
 * connect out; kill -9 of a workload's process restarts it; a server restart brings back the
 * workloads marked to run.
 */

const require = createRequire(import.meta.url);
const FILESYSTEM = realpathSync(require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js'));
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(FILESYSTEM, '../../../..'));
const SDK_SERVER = realpathSync(require.resolve('@modelcontextprotocol/sdk/server/mcp.js'));
const SDK_STDIO = realpathSync(require.resolve('@modelcontextprotocol/sdk/server/stdio.js'));

const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };

/** A small MCP server with one tool, `connect`, that tries a TCP connection and says what happened. */
const NET_SERVER = `
import { connect } from 'node:net';
import http from 'node:http';
import { McpServer } from ${JSON.stringify(SDK_SERVER)};
import { StdioServerTransport } from ${JSON.stringify(SDK_STDIO)};
const server = new McpServer({ name: 'net-probe', version: '1.0.0' });
server.registerTool('connect', { description: 'Try a TCP connection', inputSchema: {} }, async (_args, extra) => {
  const { host, port } = extra._meta ?? {};
  return new Promise((resolve) => {
    const s = connect({ host: process.env.PROBE_HOST, port: Number(process.env.PROBE_PORT), timeout: 3000 });
    const done = (text) => { s.destroy(); resolve({ content: [{ type: 'text', text }] }); };
    s.on('connect', () => done('connected'));
    s.on('timeout', () => done('timeout'));
    s.on('error', (e) => done('error ' + e.code));
  });
});
server.registerTool('fetch', { description: 'GET FETCH_URL through HTTP_PROXY', inputSchema: {} }, async () => new Promise((resolve) => {
  const text = (t) => resolve({ content: [{ type: 'text', text: t }] });
  if (!process.env.HTTP_PROXY) return text('no proxy');
  const p = new URL(process.env.HTTP_PROXY);
  const req = http.request({ host: p.hostname, port: p.port, method: 'GET', path: process.env.FETCH_URL, timeout: 5000 }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => text(res.statusCode + ' ' + body));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => text('error ' + (e.code ?? e.message)));
  req.end();
}));
await server.connect(new StdioServerTransport());
`;

describe.each(testStores)('workload isolation and supervision (%s)', (store) => {
  let server: TestServer;
  let dataDir: string;
  let work: string;
  let listener: Server;
  let port: number;
  let web: HttpServer;
  let webPort: number;
  /** On PostgreSQL, one schema for both lives of the server (dropped at the end). */
  const schema = store === 'postgres' ? `t_wl${Date.now().toString(36)}` : undefined;

  const req = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      json: (() => {
        try {
          return JSON.parse(text) as Record<string, unknown>;
        } catch {
          return {};
        }
      })(),
    };
  };
  const workload = async (name: string) => ((await req('GET', '/api/v1beta/workloads?all=true')).json.workloads as Array<Record<string, unknown>>).find((w) => w.name === name);
  const waitStatus = (name: string, want: string) => waitFor(`${name} ${want}`, async () => ((await workload(name))?.status === want ? true : undefined));
  const client = async (name: string) => {
    const c = new Client({ name: 'test', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/workloads/${name}/mcp`), { requestInit: { headers: { authorization: `Bearer ${server.adminToken}` } } }));
    return c;
  };
  const text = (r: unknown) => JSON.stringify((r as { content: unknown }).content);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'agentry-wl-data-'));
    server = await startTestServer({ store, dataDir, workloadTimings: TIMINGS, postgresSchema: schema, egressAllow: '127.0.0.1' });
    work = realpathSync(mkdtempSync(join(tmpdir(), 'agentry-wl-work-')));
    mkdirSync(join(work, 'shared'));
    writeFileSync(join(work, 'shared', 'hello.txt'), 'hello from the mount');
    writeFileSync(join(work, 'secret.txt'), 'top secret, outside the mount');
    writeFileSync(join(work, 'net.mjs'), NET_SERVER);
    listener = createServer((s) => {
      s.on('error', () => undefined);
      s.end('hi');
    }).listen(0, '127.0.0.1');
    await new Promise((r) => listener.once('listening', r));
    port = (listener.address() as { port: number }).port;
    web = createHttpServer((_req, res) => res.end('hello through the proxy')).listen(0, '127.0.0.1');
    await new Promise((r) => web.once('listening', r));
    webPort = (web.address() as { port: number }).port;
  });
  afterAll(async () => {
    await server?.close();
    listener?.close();
    web?.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('lets the filesystem server read and write its mounts and nothing else, even when it is told it may read /', async () => {
    const created = await req('POST', '/api/v1beta/workloads', {
      name: 'fs',
      command: process.execPath,
      cmd_arguments: [FILESYSTEM, '/'],
      permission_profile: { read: [NODE_MODULES], write: [`${join(work, 'shared')}:/data`] },
    });
    expect(created.status, created.text).toBe(201);
    await waitStatus('fs', 'running');
    const c = await client('fs');
    expect(text(await c.callTool({ name: 'read_text_file', arguments: { path: '/data/hello.txt' } }))).toContain('hello from the mount');
    await c.callTool({ name: 'write_file', arguments: { path: '/data/new.txt', content: 'written inside' } });
    expect(realpathSync(join(work, 'shared', 'new.txt'))).toBeTruthy();
    // The repository's package.json sits just outside the node_modules mount.
    for (const path of [join(work, 'secret.txt'), '/etc/passwd', join(dataDir, 'agentry.db'), '/data/../secret.txt', join(NODE_MODULES, '..', 'package.json')]) {
      const r = await c.callTool({ name: 'read_text_file', arguments: { path } });
      expect(r.isError, path).toBe(true);
      expect(text(r)).not.toContain('top secret');
      expect(text(r)).not.toContain('root:');
    }
    const listing = text(await c.callTool({ name: 'list_directory', arguments: { path: '/' } }));
    expect(listing).not.toMatch(/home|root/);
    // Read-only mounts stay read-only.
    const ro = await c.callTool({ name: 'write_file', arguments: { path: join(NODE_MODULES, 'x.txt'), content: 'no' } });
    expect(ro.isError).toBe(true);
    await c.close();
  });

  it('gives a workload without a network profile no way out; the host network only when isolation is off', async () => {
    const spec = (name: string, extra: Record<string, unknown>) => ({
      name,
      command: process.execPath,
      cmd_arguments: [join(work, 'net.mjs')],
      env_vars: { PROBE_HOST: '127.0.0.1', PROBE_PORT: String(port) },
      permission_profile: { read: [NODE_MODULES, work] },
      ...extra,
    });
    expect((await req('POST', '/api/v1beta/workloads', spec('nonet', {}))).status).toBe(201);
    expect((await req('POST', '/api/v1beta/workloads', spec('hostnet', { network_isolation: false }))).status).toBe(201);
    await waitStatus('nonet', 'running');
    await waitStatus('hostnet', 'running');
    const isolated = await client('nonet');
    expect(text(await isolated.callTool({ name: 'connect', arguments: {} }))).toMatch(/error ECONNREFUSED|error ENETUNREACH|timeout/);
    await isolated.close();
    const open = await client('hostnet');
    expect(text(await open.callTool({ name: 'connect', arguments: {} }))).toContain('connected');
    await open.close();
  });

  it('lets an allow-listed host through the egress proxy, and nothing else', async () => {
    const spec = (name: string, outbound: Record<string, unknown>) => ({
      name,
      command: process.execPath,
      cmd_arguments: [join(work, 'net.mjs')],
      env_vars: { PROBE_HOST: '127.0.0.1', PROBE_PORT: String(port), FETCH_URL: `http://127.0.0.1:${webPort}/` },
      permission_profile: { read: [NODE_MODULES, work], network: { outbound } },
    });
    expect((await req('POST', '/api/v1beta/workloads', spec('allowed', { allow_host: ['127.0.0.1'], allow_port: [webPort] }))).status).toBe(201);
    expect((await req('POST', '/api/v1beta/workloads', spec('elsewhere', { allow_host: ['example.com'], allow_port: [443] }))).status).toBe(201);
    await waitStatus('allowed', 'running');
    await waitStatus('elsewhere', 'running');
    const allowed = await client('allowed');
    expect(text(await allowed.callTool({ name: 'fetch', arguments: {} }))).toContain('200 hello through the proxy');
    // Only through the proxy: a direct connection still has nowhere to go.
    expect(text(await allowed.callTool({ name: 'connect', arguments: {} }))).toMatch(/error ECONNREFUSED|error ENETUNREACH|timeout/);
    await allowed.close();
    const elsewhere = await client('elsewhere');
    expect(text(await elsewhere.callTool({ name: 'fetch', arguments: {} }))).toMatch(/"text":"403 Agentry egress proxy: port \d+ is not allowed \(allowed ports: 443\)/);
    await elsewhere.close();
    expect((await req('GET', '/api/v1beta/workloads/allowed/export')).json.permission_profile).toMatchObject({ network: { outbound: { allow_host: ['127.0.0.1'], allow_port: [webPort] } } });
    expect((await req('POST', '/api/v1beta/workloads', spec('badhost', { allow_host: ['not a host'] }))).status).toBe(400);
  });

  it('restarts a workload whose process is killed with SIGKILL', async () => {
    expect((await req('POST', '/api/v1beta/workloads', { name: 'victim', command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], permission_profile: { read: [NODE_MODULES] } })).status).toBe(
      201,
    );
    await waitStatus('victim', 'running');
    const pidOf = async () => {
      const logs = (await req('GET', '/api/v1beta/workloads/victim/logs')).text;
      const pids = [...logs.matchAll(/running \(pid (\d+)\)/g)].map((m) => Number(m[1]));
      return pids;
    };
    const [pid] = await pidOf();
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    await waitFor('a new process', async () => ((await pidOf()).length >= 2 ? true : undefined));
    await waitStatus('victim', 'running');
    const proxyLogs = (await req('GET', '/api/v1beta/workloads/victim/proxy-logs')).text;
    expect(proxyLogs).toMatch(/"status":"error","context":"the process (was killed by SIGKILL|exited)/);
    const c = await client('victim');
    expect(text(await c.callTool({ name: 'echo', arguments: { message: 'back again' } }))).toContain('back again');
    await c.close();
  });

  it('brings back the workloads marked to run after a server restart, and keeps stopped ones stopped', async () => {
    expect((await req('POST', '/api/v1beta/workloads/hostnet/stop')).status).toBe(202);
    await waitStatus('hostnet', 'stopped');
    const url = server.url;
    await server.close();
    server = await startTestServer({ store, dataDir, adminToken: server.adminToken, workloadTimings: TIMINGS, postgresSchema: schema, egressAllow: '127.0.0.1' });
    void url;
    for (const name of ['fs', 'nonet', 'victim']) await waitStatus(name, 'running');
    expect((await workload('hostnet'))?.status).toBe('stopped');
    const c = await client('victim');
    expect(text(await c.callTool({ name: 'echo', arguments: { message: 'after restart' } }))).toContain('after restart');
    await c.close();
  });
});
