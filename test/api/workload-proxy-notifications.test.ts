import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The workload proxy passes MCP notifications both ways, on real servers run sandboxed (the
 * reference everything server, and a small SDK server in test/fixtures/mcp), with the SDK's real
 * Client over Streamable HTTP and SSE: server → client progress, log messages and tools/list_changed;
 * client → server cancellation. And secrets from the secret store reach the server's environment
 * without ever coming back in an API answer or a log.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const FIXTURES = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '../fixtures/mcp'));
/** The worktree's own node_modules (the fixture imports the SDK from there). */
const OWN_MODULES = realpathSync(join(FIXTURES, '../../../node_modules'));
const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 60_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };
const SECRET = 'sk-live-7f3a9c1e-never-shown-anywhere';

type Mode = 'mcp' | 'sse';

describe.each(testStores)('workload proxy notifications and secrets (%s)', (store) => {
  let server: TestServer;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const waitRunning = (name: string) =>
    waitFor(`${name} to run`, async () => (JSON.parse((await api('GET', `/api/v1beta/workloads/${name}/status`)).text).status === 'running' ? true : undefined), 60_000);

  const connect = async (name: string, mode: Mode) => {
    const client = new Client({ name: 'test', version: '1' });
    const url = new URL(`${server.url}/workloads/${name}/${mode}`);
    const headers = { authorization: `Bearer ${server.adminToken}` };
    await client.connect(
      mode === 'mcp'
        ? new StreamableHTTPClientTransport(url, { requestInit: { headers } })
        : new SSEClientTransport(url, {
            requestInit: { headers },
            eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...headers, ...Object.fromEntries(new Headers(init?.headers).entries()) } }) },
          }),
    );
    return client;
  };

  beforeAll(async () => {
    server = await startTestServer({ store, workloadTimings: TIMINGS });
    // The admin's secret, in its ToolHive secret store.
    expect((await api('POST', '/api/v1beta/secrets/default/keys', { key: 'fixture_token', value: SECRET })).status).toBe(201);
    const everything = await api('POST', '/api/v1beta/workloads', {
      name: 'everything',
      command: process.execPath,
      cmd_arguments: [EVERYTHING, 'stdio'],
      permission_profile: { read: [NODE_MODULES] },
    });
    expect(everything.status, everything.text).toBe(201);
    const fixture = await api('POST', '/api/v1beta/workloads', {
      name: 'notify',
      command: process.execPath,
      cmd_arguments: [join(FIXTURES, 'notify-server.mjs')],
      permission_profile: { read: [...new Set([FIXTURES, OWN_MODULES, NODE_MODULES])] },
      env_vars: { PLAIN: 'plain-value' },
      secrets: [{ name: 'fixture_token', target: 'FIXTURE_TOKEN' }],
    });
    expect(fixture.status, fixture.text).toBe(201);
    await waitRunning('everything');
    await waitRunning('notify');
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  describe.each<Mode>(['mcp', 'sse'])('over %s', (mode) => {
    it("passes the server's progress back to the request that asked for it", async () => {
      const client = await connect('everything', mode);
      const progress: Array<{ progress: number; total?: number }> = [];
      const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } }, undefined, {
        onprogress: (p) => progress.push({ progress: p.progress, total: p.total }),
      });
      expect(JSON.stringify(result.content)).toContain('Long running operation completed');
      if (mode === 'mcp') {
        expect(progress).toEqual([1, 2, 3, 4].map((i) => ({ progress: i, total: 4 })));
      } else {
        // Over SSE the SDK's Client handles a notification a microtask after a response that came in
        // the same read, by which time it has dropped the request's progress handler: the last
        // progress can be lost by the client itself (the proxy sends it first; see launcher.ts).
        expect(progress.slice(0, 3)).toEqual([1, 2, 3].map((i) => ({ progress: i, total: 4 })));
      }
      await client.close();
    });

    it("passes the server's log messages to the session", async () => {
      const client = await connect('everything', mode);
      const messages: unknown[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        messages.push(n.params.data);
      });
      const started = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
      expect(JSON.stringify(started.content)).toContain('Started simulated');
      await waitFor('a log message', async () => (messages.length > 0 ? true : undefined), 20_000);
      expect(String(messages[0])).toMatch(/message/i);
      await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
      await client.close();
    });

    it("passes tools/list_changed, and the client's cancellation to the server", async () => {
      const client = await connect('notify', mode);
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      const added = await client.callTool({ name: 'add-tool', arguments: {} });
      const toolName = (added.content as Array<{ text: string }>)[0].text;
      await waitFor('tools/list_changed', async () => (changed > 0 ? true : undefined), 20_000);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain(toolName);

      const abort = new AbortController();
      const waiting = client.callTool({ name: 'wait', arguments: {} }, undefined, { signal: abort.signal });
      // Let the request reach the server before cancelling it.
      await new Promise((r) => setTimeout(r, 500));
      abort.abort('test cancels');
      await expect(waiting).rejects.toThrow();
      await waitFor(
        'the server to see the cancellation',
        async () => ((await client.callTool({ name: 'was-cancelled', arguments: {} })).content as Array<{ text: string }>)[0].text === 'true' || undefined,
        20_000,
      );
      await client.close();
    });
  });

  it('keeps a list change made before the client opens its GET stream, and sends it when the stream opens', async () => {
    // Raw Streamable HTTP, so the GET stream opens only when the test says: the SDK's client opens it
    // right after initialize without waiting, and a list change from its first call raced it.
    const url = `${server.url}/workloads/notify/mcp`;
    const headers = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const post = (body: unknown, sid?: string) => fetch(url, { method: 'POST', headers: { ...headers, ...(sid ? { 'mcp-session-id': sid } : {}) }, body: JSON.stringify(body) });
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect(init.status).toBe(200);
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sid)).status).toBe(202);
    const added = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add-tool', arguments: {} } }, sid);
    expect(added.status).toBe(200);
    expect(await added.text()).toContain('added-');

    const abort = new AbortController();
    const stream = await fetch(url, { headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, signal: abort.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let seen = '';
    const timeout = setTimeout(() => abort.abort(), 20_000);
    try {
      while (!seen.includes('notifications/tools/list_changed')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
    } catch {
      // aborted: the assertion below says what was seen
    } finally {
      clearTimeout(timeout);
      abort.abort();
    }
    expect(seen).toContain('notifications/tools/list_changed');
    await fetch(url, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': sid } });
  });

  it("injects a secret into the server's environment, and no answer or log carries it", async () => {
    const client = await connect('notify', 'mcp');
    const seen = await client.callTool({ name: 'env', arguments: { name: 'FIXTURE_TOKEN' } });
    expect((seen.content as Array<{ text: string }>)[0].text).toBe(SECRET);
    expect(((await client.callTool({ name: 'env', arguments: { name: 'PLAIN' } })).content as Array<{ text: string }>)[0].text).toBe('plain-value');
    await client.close();

    const answers = await Promise.all(
      [
        '/api/v1beta/workloads?all=true',
        '/api/v1beta/workloads/notify',
        '/api/v1beta/workloads/notify/status',
        '/api/v1beta/workloads/notify/export',
        '/api/v1beta/workloads/notify/logs',
        '/api/v1beta/workloads/notify/proxy-logs',
        '/api/v1beta/secrets/default/keys',
        '/api/v1beta/workloads/upgrade-check',
        '/api/v1/audit',
      ].map(async (path) => ({ path, ...(await api('GET', path)) })),
    );
    for (const a of answers) expect(a.text, a.path).not.toContain(SECRET);
    // The reference is shown, the value never.
    expect(answers[3].text).toContain('fixture_token,target=FIXTURE_TOKEN');

    // A workload whose secret is missing fails with a message naming the key, not a value.
    const missing = await api('POST', '/api/v1beta/workloads', {
      name: 'missing-secret',
      command: process.execPath,
      cmd_arguments: [join(FIXTURES, 'notify-server.mjs')],
      permission_profile: { read: [...new Set([FIXTURES, OWN_MODULES, NODE_MODULES])] },
      secrets: [{ name: 'no_such_key', target: 'X' }],
    });
    expect(missing.status, missing.text).toBe(201);
    const status = await waitFor(
      'missing-secret to fail',
      async () => {
        const s = JSON.parse((await api('GET', '/api/v1beta/workloads/missing-secret/status')).text) as { status: string };
        return s.status === 'error' ? s : undefined;
      },
      30_000,
    );
    expect(status.status).toBe('error');
    const listed = await api('GET', '/api/v1beta/workloads?all=true');
    expect(listed.text).toContain("secret 'no_such_key'");
    expect(listed.text).not.toContain(SECRET);
  });
});
