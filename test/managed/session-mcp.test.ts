import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { sdkFor, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * MCP servers declared on an agent, run for real: the reference "everything" server from npm served
 * over Streamable HTTP behind a bearer check (the credential comes from the session's vault), and
 * the same server run by Agentry as a workload (stdio, under bubblewrap) reached in-process.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const TOKEN = 'mcp-secret-token-0123456789';

/** The everything server over Streamable HTTP at /mcp, refusing requests without `Bearer TOKEN`. */
const startEverythingHttp = async (): Promise<{ url: string; auth: string[]; close(): Promise<void> }> => {
  const { createServer: createEverything } = (await import(join(EVERYTHING, '../server/index.js'))) as {
    createServer: () => { server: { connect(t: unknown): Promise<void> }; cleanup(id?: string): void };
  };
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const auth: string[] = [];
  const http: Server = createServer(async (req: IncomingMessage, res) => {
    auth.push(String(req.headers.authorization ?? ''));
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"unauthorized"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      if (id) {
        res.writeHead(404).end();
        return;
      }
      const { server } = createEverything();
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void sessions.set(sid, t) });
      await server.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    auth,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => undefined);
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
};

describe.each(testStores)('sessions: MCP servers of the agent (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let mcp: Awaited<ReturnType<typeof startEverythingHttp>>;
  let agent: { agentId: string; environmentId: string };
  let vaultId: string;

  beforeAll(async () => {
    model = await startTestModel();
    mcp = await startEverythingHttp();
    f = await startManagedFixture(store, {
      egressAllow: '127.0.0.1',
      env: { AGENTRY_RUNTIME_RETRY_BASE_MS: '20' },
      workloadTimings: { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 },
    });
    const toolset = {
      type: 'mcp_toolset',
      mcp_server_name: 'everything',
      configs: [
        { name: 'get-sum', permission_policy: { type: 'always_ask' } },
        { name: 'get-env', enabled: false },
      ],
    };
    agent = await setUpAgent(f.alice, model, { tools: [toolset] });
    const patched = await f.alice.req('POST', `/v1/agents/${agent.agentId}`, { version: 1, mcp_servers: [{ type: 'url', name: 'everything', url: mcp.url }] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const vault = await f.sdk.beta.vaults.create({ display_name: 'mcp' });
    await f.sdk.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', token: TOKEN, mcp_server_url: mcp.url } } as any);
    vaultId = vault.id;
  }, 90_000);
  afterAll(async () => {
    await f?.server.close();
    await mcp?.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('offers the server tools as mcp__<server>__<tool>, runs a call with the vault credential, and emits agent.mcp_tool_use / agent.mcp_tool_result', async () => {
    model.script([{ toolCalls: [{ name: 'mcp__everything__echo', input: { message: 'hello mcp' } }] }, { text: 'It echoed.' }]);
    const s = await f.sdk.beta.sessions.create({ agent: agent.agentId, environment_id: agent.environmentId, vault_ids: [vaultId] });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'echo something' }] }] });
    const events = await collectSdk(stream);
    const use = events.find((e) => e.type === 'agent.mcp_tool_use');
    expect(use).toMatchObject({ name: 'echo', mcp_server_name: 'everything', input: { message: 'hello mcp' }, evaluated_permission: 'allow' });
    expect(use.id).toMatch(/^sevt_/);
    const result = events.find((e) => e.type === 'agent.mcp_tool_result');
    expect(result).toMatchObject({ mcp_tool_use_id: use.id, is_error: false, content: [{ type: 'text', text: 'Echo: hello mcp' }] });
    expect(events.at(-1).stop_reason).toEqual({ type: 'end_turn' });

    const requests = model.requests.filter((r) => r.path === '/v1/messages').map((r) => r.body as any);
    const names = requests[0].tools.map((t: any) => t.name);
    expect(names).toEqual(expect.arrayContaining(['mcp__everything__echo', 'mcp__everything__get-sum']));
    // A disabled tool is not offered.
    expect(names).not.toContain('mcp__everything__get-env');
    // The second request carries the call and its result under the offered name.
    const history = JSON.stringify(requests[1].messages);
    expect(history).toContain('"name":"mcp__everything__echo"');
    expect(history).toContain('Echo: hello mcp');
    // The server got the vault's token; nobody else saw it.
    expect(mcp.auth).toContain(`Bearer ${TOKEN}`);
    const log = await f.alice.req('GET', `/v1/sessions/${s.id}/log`);
    expect(JSON.stringify(log.body)).not.toContain(TOKEN);
    expect(JSON.stringify(model.requests)).not.toContain(TOKEN);
  });

  it('asks before an always_ask MCP tool: requires_action, then user.tool_confirmation allow runs it and deny refuses it', async () => {
    model.script([
      { toolCalls: [{ name: 'mcp__everything__get-sum', input: { a: 2, b: 40 } }] },
      { text: 'The sum is 42.' },
      { toolCalls: [{ name: 'mcp__everything__get-sum', input: { a: 1, b: 1 } }] },
      { text: 'Denied.' },
    ]);
    const s = await f.sdk.beta.sessions.create({ agent: agent.agentId, environment_id: agent.environmentId, vault_ids: [vaultId] });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'add' }] }] });
    const first = await collectSdk(stream, true);
    const use = first.find((e) => e.type === 'agent.mcp_tool_use');
    expect(use).toMatchObject({ name: 'get-sum', mcp_server_name: 'everything', evaluated_permission: 'ask' });
    expect(first.at(-1).stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
    expect(first.some((e) => e.type === 'agent.mcp_tool_result')).toBe(false);

    const second = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }] });
    const rest = await collectSdk(second);
    const result = rest.find((e) => e.type === 'agent.mcp_tool_result');
    expect(result).toMatchObject({ mcp_tool_use_id: use.id, is_error: false });
    expect(JSON.stringify(result.content)).toContain('42');

    const third = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'again' }] }] });
    const asked = await collectSdk(third, true);
    const use2 = asked.filter((e) => e.type === 'agent.mcp_tool_use').at(-1);
    const fourth = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: use2.id, result: 'deny', deny_message: 'not now' }] });
    const denied = await collectSdk(fourth);
    expect(denied.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ mcp_tool_use_id: use2.id, is_error: true, content: [{ type: 'text', text: expect.stringContaining('not now') }] });
  });

  it('without the vault the server refuses: session.error mcp_authentication_failed_error and idle retries_exhausted; an unreachable server is mcp_connection_failed_error', async () => {
    model.script([{ text: 'never asked' }]);
    const s = await f.sdk.beta.sessions.create({ agent: agent.agentId, environment_id: agent.environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    const events = await collectSdk(stream);
    expect(events.find((e) => e.type === 'session.error').error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'everything', retry_status: { type: 'exhausted' } });
    expect(events.at(-1).stop_reason).toEqual({ type: 'retries_exhausted' });
    expect(model.requests).toHaveLength(0);
    expect((await f.sdk.beta.sessions.retrieve(s.id)).status).toBe('idle');

    const closed = await setUpAgent(f.alice, model, { tools: [{ type: 'mcp_toolset', mcp_server_name: 'gone' }] });
    await f.alice.req('POST', `/v1/agents/${closed.agentId}`, { version: 1, mcp_servers: [{ type: 'url', name: 'gone', url: 'http://127.0.0.1:1/mcp' }] });
    const s2 = await f.sdk.beta.sessions.create({ agent: closed.agentId, environment_id: closed.environmentId });
    const stream2 = await f.sdk.beta.sessions.events.stream(s2.id);
    await f.sdk.beta.sessions.events.send(s2.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    const events2 = await collectSdk(stream2);
    expect(events2.find((e) => e.type === 'session.error').error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'gone' });
  });

  it("reaches Agentry's own MCP workload by name in-process; another account's private workload is not reachable", async () => {
    const created = await f.admin.req('POST', '/api/v1beta/workloads', {
      name: 'ev',
      command: process.execPath,
      cmd_arguments: [EVERYTHING, 'stdio'],
      permission_profile: { read: [NODE_MODULES], write: [] },
      tools: ['echo'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor('workload ev running', async () => ((await f.admin.req('GET', '/api/v1beta/workloads/ev/status')).body?.status === 'running' ? true : undefined), 60_000);
    const workloadAgent = { type: 'mcp_toolset', mcp_server_name: 'local' };
    const servers = [{ type: 'workload', name: 'local', workload: 'ev' }];
    const mine = await setUpAgent(f.admin, model, { tools: [workloadAgent] });
    const p = await f.admin.req('POST', `/v1/agents/${mine.agentId}`, { version: 1, mcp_servers: servers });
    expect(p.body.mcp_servers, JSON.stringify(p.body)).toEqual(servers);
    model.script([{ toolCalls: [{ name: 'mcp__local__echo', input: { message: 'from a workload' } }] }, { text: 'done' }]);
    const adminSdk = sdkFor(f.server.url, f.server.adminToken);
    const s = await adminSdk.beta.sessions.create({ agent: mine.agentId, environment_id: mine.environmentId });
    const stream = await adminSdk.beta.sessions.events.stream(s.id);
    await adminSdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'echo' }] }] });
    const events = await collectSdk(stream);
    expect(events.find((e) => e.type === 'agent.mcp_tool_use')).toMatchObject({ name: 'echo', mcp_server_name: 'local' });
    expect(events.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ is_error: false, content: [{ type: 'text', text: 'Echo: from a workload' }] });
    // The workload's own tool filter applies: only echo was offered.
    const asked = model.requests.find((r) => r.path === '/v1/messages' && (r.body as any).tools?.length > 0);
    expect((asked!.body as any).tools.map((t: any) => t.name)).toEqual(['mcp__local__echo']);

    // Alice's agent naming the admin's private workload cannot reach it.
    const theirs = await setUpAgent(f.alice, model, { tools: [workloadAgent] });
    await f.alice.req('POST', `/v1/agents/${theirs.agentId}`, { version: 1, mcp_servers: servers });
    const s2 = await f.sdk.beta.sessions.create({ agent: theirs.agentId, environment_id: theirs.environmentId });
    const stream2 = await f.sdk.beta.sessions.events.stream(s2.id);
    await f.sdk.beta.sessions.events.send(s2.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    const refused = await collectSdk(stream2);
    expect(refused.find((e) => e.type === 'session.error').error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'local', message: expect.stringMatching(/not found/) });
  }, 120_000);
});
