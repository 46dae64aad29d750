import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

const REQUEST_ID = /^req_[0-9a-f]{24}$/;
const TIMINGS = { initTimeoutMs: 10_000, healthTimeoutMs: 5_000, healthIntervalMs: 1_000, backoffBaseMs: 300, backoffMaxMs: 1_000, maxRestarts: 50 };
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/**
 * A `request-id` on every answer of every door, including the doors whose answers an SDK writes to
 * the socket itself (`/mcp`, the workload proxy), the probes, the OCI base, the console's static files,
 * the A2A door and 404s: each one fresh.
 */
describe.each(testStores)('a request-id on every answer of every door (%s)', { timeout: 120_000 }, (store) => {
  let server: TestServer;
  let admin: Api;
  let upstream: Server;
  let upstreamUrl = '';

  beforeAll(async () => {
    // A stateless MCP server on loopback, for a remote workload the proxy forwards to.
    upstream = createServer((req, res) => {
      const mcp = new McpServer({ name: 'upstream', version: '1.0.0' });
      mcp.registerTool('ping', { description: 'Answers pong' }, () => ({ content: [{ type: 'text', text: 'pong' }] }));
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      void mcp
        .connect(t)
        .then(() => t.handleRequest(req, res))
        .catch(() => res.headersSent || res.writeHead(500).end());
    });
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
    server = await startTestServer({ store, egressAllow: '127.0.0.1', workloadTimings: TIMINGS });
    admin = new Api(server.url, server.adminToken);
  });
  afterAll(async () => {
    await server?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((done) => (upstream ? upstream.close(() => done()) : done()));
  });

  const seen = new Set<string>();
  const expectFreshId = (res: Response, what: string): void => {
    const id = res.headers.get('request-id');
    expect(id, `${what} (${res.status})`).toMatch(REQUEST_ID);
    expect(seen.has(id!), `${what}: the id is fresh`).toBe(false);
    seen.add(id!);
  };

  it('on the probes, the OCI base, the console, the A2A door and 404s', async () => {
    const cases: Array<[string, RequestInit, number]> = [
      ['/livez', {}, 200],
      ['/readyz', {}, 200],
      ['/healthz', {}, 200],
      ['/v2/', {}, 401],
      ['/', {}, 200],
      ['/favicon.svg', {}, 200],
      ['/.well-known/agent-card.json', {}, 200],
      ['/a2a', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'message/send', params: {} }) }, 200],
      ['/a2a/@nobody/nothing/.well-known/agent-card.json', {}, 404],
      ['/no/such/route', {}, 404],
      ['/workloads/nothing/mcp', { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) }, 404],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(server.url + path, init);
      await res.arrayBuffer();
      expect(res.status, path).toBe(status);
      expectFreshId(res, path);
    }
  });

  it('on /mcp, whose answer the MCP SDK writes', async () => {
    const res = await fetch(`${server.url}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name).toBe('agentry');
    expectFreshId(res, 'POST /mcp');
    const note = await fetch(`${server.url}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    expect(note.status).toBe(202);
    expectFreshId(note, 'POST /mcp (notification)');
  });

  it('on the workload proxy, whose answers the MCP SDK writes', async () => {
    const created = await admin.req('POST', '/api/v1beta/workloads', { name: 'rid-remote', url: upstreamUrl, transport: 'streamable-http' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor(
      'rid-remote running',
      async () => {
        const list = (await admin.req('GET', '/api/v1beta/workloads?all=true')).body as { workloads: Array<{ name: string; status: string; status_context: string }> };
        const w = list.workloads.find((x) => x.name === 'rid-remote');
        if (w?.status !== 'running') throw new Error(`${w?.status}: ${w?.status_context}`);
        return true;
      },
      60_000,
    );
    const auth = { authorization: `Bearer ${server.adminToken}` };
    const init = await fetch(`${server.url}/workloads/rid-remote/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...auth }, body: JSON.stringify(INITIALIZE) });
    const text = await init.text();
    expect(init.status, text).toBe(200);
    expect(text).toContain('protocolVersion');
    expectFreshId(init, 'POST /workloads/rid-remote/mcp');
    const sid = init.headers.get('mcp-session-id');
    expect(sid).toBeTruthy();
    const list = await fetch(`${server.url}/workloads/rid-remote/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...auth, 'mcp-session-id': sid!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    });
    expect(list.status, await list.text()).toBe(200);
    expectFreshId(list, 'POST /workloads/rid-remote/mcp (tools/list)');
    const ended = await fetch(`${server.url}/workloads/rid-remote/mcp`, { method: 'DELETE', headers: { ...auth, 'mcp-session-id': sid! } });
    await ended.arrayBuffer();
    expectFreshId(ended, 'DELETE /workloads/rid-remote/mcp');
    expect((await admin.req('DELETE', '/api/v1beta/workloads/rid-remote')).status).toBeLessThan(300);
  });
});
