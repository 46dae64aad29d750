import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Remote workloads: a real MCP server in this process (the SDK's `McpServer` over Streamable HTTP
 * and over SSE, on loopback, behind a bearer check) proxied by Agentry, made from an explicit URL
 * (administrators) and from a registry entry's server.json `remotes`. The bearer comes from the
 * owner's ToolHive secrets (`header_forward.add_headers_from_secret`): the upstream sees it, no API
 * answer shows it. The egress policy allows 127.0.0.1 only, so a remote on 127.0.0.2 is refused.
 */

const TIMINGS = { initTimeoutMs: 10_000, healthTimeoutMs: 5_000, healthIntervalMs: 1_000, backoffBaseMs: 300, backoffMaxMs: 1_000, maxRestarts: 50 };
const SECRET = `s3cr3t-${randomUUID()}`;

/** One upstream MCP server over Streamable HTTP (`/mcp`) and SSE (`/sse` + `/messages`), checking `authorization: Bearer SECRET`. */
class Upstream {
  seenAuth: string[] = [];
  refused = 0;
  private http: Server | undefined;
  private readonly sse = new Map<string, SSEServerTransport>();
  private readonly streams = new Map<string, StreamableHTTPServerTransport>();
  port = 0;

  constructor(private readonly host: string) {}

  private mcp(): McpServer {
    const s = new McpServer({ name: 'remote-upstream', version: '1.0.0' });
    s.registerTool('greet', { description: 'Says hello', inputSchema: { who: z.string() } }, ({ who }) => ({ content: [{ type: 'text', text: `hello ${who} from upstream` }] }));
    return s;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = req.headers.authorization ?? '';
    this.seenAuth.push(auth);
    if (auth !== `Bearer ${SECRET}`) {
      this.refused++;
      res.writeHead(401).end('unauthorized');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/sse' && req.method === 'GET') {
      const t = new SSEServerTransport('/messages', res);
      this.sse.set(t.sessionId, t);
      t.onclose = () => this.sse.delete(t.sessionId);
      await this.mcp().connect(t);
      return;
    }
    if (url.pathname === '/messages' && req.method === 'POST') {
      const t = this.sse.get(url.searchParams.get('sessionId') ?? '');
      if (!t) res.writeHead(404).end('no session');
      else await t.handlePostMessage(req, res);
      return;
    }
    if (url.pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let t: StreamableHTTPServerTransport | undefined = typeof sid === 'string' ? this.streams.get(sid) : undefined;
    if (!t) {
      if (typeof sid === 'string') {
        res.writeHead(404).end('unknown session');
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id: string): void => void this.streams.set(id, created),
      });
      created.onclose = () => {
        if (created.sessionId) this.streams.delete(created.sessionId);
      };
      await this.mcp().connect(created);
      t = created;
    }
    await t.handleRequest(req, res);
  }

  async start(port = 0): Promise<void> {
    this.http = createServer((req, res) => void this.handle(req, res).catch(() => res.headersSent || res.writeHead(500).end()));
    await new Promise<void>((done) => this.http!.listen(port, this.host, done));
    this.port = (this.http.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const t of [...this.streams.values(), ...this.sse.values()]) await t.close().catch(() => undefined);
    this.streams.clear();
    this.sse.clear();
    this.http?.closeAllConnections();
    await new Promise<void>((done) => (this.http ? this.http.close(() => done()) : done()));
    this.http = undefined;
  }

  url(path: '/mcp' | '/sse'): string {
    return `http://${this.host}:${this.port}${path}`;
  }
}

describe.each(testStores)('remote workloads (%s)', { timeout: 120_000 }, (store) => {
  let server: TestServer;
  let admin: Api;
  const upstream = new Upstream('127.0.0.1');
  /** Listens on 127.0.0.2, which the egress policy (127.0.0.1 only) refuses: reachable, but not allowed. */
  const forbidden = new Upstream('127.0.0.2');
  /** Status and status_context (the list has both; the status route only the status). */
  const status = async (name: string) => {
    const list = (await admin.req('GET', '/api/v1beta/workloads?all=true')).body as { workloads: Array<{ name: string; status: string; status_context: string }> };
    const w = list.workloads.find((x) => x.name === name);
    expect((await admin.req('GET', `/api/v1beta/workloads/${name}/status`)).body).toEqual({ status: w?.status });
    return { status: w?.status ?? 'missing', status_context: w?.status_context ?? '' };
  };
  const waitStatus = (name: string, want: string) =>
    waitFor(
      `${name} ${want}`,
      async () => {
        const s = await status(name);
        if (s.status !== want) throw new Error(`${s.status}: ${s.status_context}`);
        return true;
      },
      60_000,
    );

  const callThroughProxy = async (name: string): Promise<string> => {
    const c = new Client({ name: 'test', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/workloads/${name}/mcp`), { requestInit: { headers: { authorization: `Bearer ${server.adminToken}` } } }));
    try {
      expect((await c.listTools()).tools.map((t) => t.name)).toEqual(['greet']);
      return JSON.stringify((await c.callTool({ name: 'greet', arguments: { who: name } })).content);
    } finally {
      await c.close();
    }
  };

  /** Every read the API offers about a workload, none of which may carry the secret's value. */
  const noLeak = async (name: string) => {
    for (const path of [
      `/api/v1beta/workloads/${name}`,
      '/api/v1beta/workloads?all=true',
      `/api/v1beta/workloads/${name}/export`,
      `/api/v1beta/workloads/${name}/logs`,
      `/api/v1beta/workloads/${name}/proxy-logs`,
      `/api/v1beta/workloads/${name}/status`,
    ]) {
      const r = await admin.req('GET', path);
      expect(r.status, path).toBe(200);
      expect(JSON.stringify(r.body), path).not.toContain(SECRET);
    }
  };

  beforeAll(async () => {
    // As ToolHive's `add_headers_from_secret`: the header's whole value is the secret's value.
    await upstream.start();
    await forbidden.start();
    server = await startTestServer({ store, egressAllow: '127.0.0.1', workloadTimings: TIMINGS });
    admin = new Api(server.url, server.adminToken);
    expect((await admin.req('POST', '/api/v1beta/secrets/default/keys', { key: 'upstream-token', value: `Bearer ${SECRET}` })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
    await upstream.stop();
    await forbidden.stop();
  });

  it('proxies an explicit remote URL with a header from the secret store, never showing the secret', async () => {
    const created = await admin.req('POST', '/api/v1beta/workloads', {
      name: 'remote-http',
      url: upstream.url('/mcp'),
      transport: 'streamable-http',
      header_forward: { add_headers_from_secret: { Authorization: 'upstream-token' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitStatus('remote-http', 'running');
    expect(await callThroughProxy('remote-http')).toContain('hello remote-http from upstream');
    expect(upstream.seenAuth).toContain(`Bearer ${SECRET}`);
    expect(upstream.refused).toBe(0);
    const detail = (await admin.req('GET', '/api/v1beta/workloads/remote-http')).body;
    expect(detail).toMatchObject({ url: upstream.url('/mcp'), header_forward: { add_headers_from_secret: { Authorization: 'upstream-token' } } });
    expect((await admin.req('GET', '/api/v1beta/workloads/remote-http/export')).body).toMatchObject({ remote_url: upstream.url('/mcp') });
    await noLeak('remote-http');
  });

  it("shows an internal remote workload's plain header values to those who manage it only: readers get the names, each value redacted", async () => {
    const created = await admin.req('POST', '/api/v1beta/workloads', {
      name: 'remote-plain-header',
      url: upstream.url('/mcp'),
      transport: 'streamable-http',
      visibility: 'internal',
      header_forward: { add_plaintext_headers: { 'X-Team': 'plain-header-5d2e' }, add_headers_from_secret: { Authorization: 'upstream-token' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const readerToken = (await admin.req('POST', '/api/v1/users', { username: 'header-reader' })).body.token as string;
    const reader = new Api(server.url, readerToken);
    const shown = { add_plaintext_headers: { 'X-Team': '***' }, add_headers_from_secret: { Authorization: 'upstream-token' } };
    for (const path of ['/api/v1beta/workloads/remote-plain-header', '/api/v1beta/workloads/remote-plain-header/export']) {
      const r = await reader.req('GET', path);
      expect(r.status, path).toBe(200);
      expect(r.body.header_forward, path).toEqual(shown);
      expect(JSON.stringify(r.body), path).not.toContain('plain-header-5d2e');
    }
    const listed = (await reader.req('GET', '/api/v1beta/workloads?all=true')).body as { workloads: unknown[] };
    expect(JSON.stringify(listed)).toContain('remote-plain-header');
    expect(JSON.stringify(listed)).not.toContain('plain-header-5d2e');
    // The administrator who owns it manages it and sees the value.
    const own = await admin.req('GET', '/api/v1beta/workloads/remote-plain-header');
    expect(own.body.header_forward.add_plaintext_headers).toEqual({ 'X-Team': 'plain-header-5d2e' });
    expect((await admin.req('DELETE', '/api/v1beta/workloads/remote-plain-header')).status).toBeLessThan(300);
  });

  it('goes unhealthy or error when the upstream dies, and comes back when it returns', async () => {
    const port = upstream.port;
    await upstream.stop();
    await waitFor('remote-http down', async () => (['error', 'unhealthy'].includes((await status('remote-http')).status) ? true : undefined), 60_000);
    expect((await status('remote-http')).status_context).toMatch(/the upstream could not be reached: 127\.0\.0\.1:\d+ did not answer|connection to the server closed|health check/);
    await upstream.start(port);
    await waitStatus('remote-http', 'running');
    expect(await callThroughProxy('remote-http')).toContain('hello remote-http from upstream');
    await noLeak('remote-http');
  });

  it("runs a registry entry's remotes, with the header it declares from the secret store", async () => {
    const tarball = await makeTarball({
      'server.json': JSON.stringify({
        name: 'admin/hosted',
        description: 'A hosted MCP server',
        version: '1.0.0',
        remotes: [{ type: 'streamable-http', url: upstream.url('/mcp'), headers: [{ name: 'Authorization', description: 'Bearer token', isRequired: true, isSecret: true }] }],
      }),
    });
    expect((await admin.publish('/api/v1/mcp-servers/@admin/hosted', tarball)).status).toBe(200);
    // The entry declares a required header: creating without it is refused.
    const without = await admin.req('POST', '/api/v1beta/workloads', { server: 'admin/hosted', name: 'hosted-missing' });
    expect(without.status).toBe(400);
    expect(String(without.body)).toMatch(/Authorization/);
    const created = await admin.req('POST', '/api/v1beta/workloads', { server: 'admin/hosted', header_forward: { add_headers_from_secret: { Authorization: 'upstream-token' } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.name).toBe('hosted');
    await waitStatus('hosted', 'running');
    expect(await callThroughProxy('hosted')).toContain('hello hosted from upstream');
    expect((await admin.req('GET', '/api/v1beta/workloads/hosted')).body).toMatchObject({ server: 'admin/hosted', url: upstream.url('/mcp') });
    await noLeak('hosted');
  });

  it('proxies a remote over SSE', async () => {
    const created = await admin.req('POST', '/api/v1beta/workloads', {
      name: 'remote-sse',
      url: upstream.url('/sse'),
      transport: 'sse',
      header_forward: { add_headers_from_secret: { Authorization: 'upstream-token' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitStatus('remote-sse', 'running');
    expect(await callThroughProxy('remote-sse')).toContain('hello remote-sse from upstream');
    expect(upstream.refused).toBe(0);
    await noLeak('remote-sse');
  });

  it('puts a remote the egress policy refuses into error, saying why', async () => {
    const created = await admin.req('POST', '/api/v1beta/workloads', {
      name: 'remote-forbidden',
      url: forbidden.url('/mcp'),
      header_forward: { add_headers_from_secret: { Authorization: 'upstream-token' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const s = await waitFor(
      'refused',
      async () => {
        const st = await status('remote-forbidden');
        if (!['error', 'unhealthy'].includes(st.status) || !st.status_context) throw new Error(`${st.status}: ${st.status_context}`);
        return st;
      },
      60_000,
    );
    expect(s.status_context).toMatch(/the egress policy refuses 127\.0\.0\.2:\d+ \(allow it with --egress-allow\)/);
    expect(forbidden.seenAuth).toEqual([]);
    await noLeak('remote-forbidden');
  });

  it('refuses a missing secret and bad remote specs', async () => {
    const missing = await admin.req('POST', '/api/v1beta/workloads', { name: 'no-secret', url: upstream.url('/mcp'), header_forward: { add_headers_from_secret: { Authorization: 'nope' } } });
    expect(missing.status).toBe(201);
    await waitStatus('no-secret', 'error');
    expect((await status('no-secret')).status_context).toMatch(/secret 'nope'/);
    expect((await admin.req('POST', '/api/v1beta/workloads', { name: 'bad-url', url: 'ftp://127.0.0.1/mcp' })).status).toBe(400);
    expect((await admin.req('POST', '/api/v1beta/workloads', { name: 'bad-url', url: 'not a url' })).status).toBe(400);
    expect((await admin.req('POST', '/api/v1beta/workloads', { name: 'bad-hdr', url: upstream.url('/mcp'), header_forward: { add_plaintext_headers: { 'X-A': 'a\r\nb' } } })).status).toBe(400);
  });
});
