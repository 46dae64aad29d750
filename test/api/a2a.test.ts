import { randomUUID } from 'node:crypto';
import type { AgentCard, Message, MessageSendParams, Task } from '@a2a-js/sdk';
import { Client, ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, TaskNotFoundError } from '@a2a-js/sdk/client';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { testStores } from '../helpers/server.js';
import { startManagedFixture, type ManagedFixture } from '../managed/managed-harness.js';
import { setUpAgent, waitIdle } from '../managed/session-harness.js';

/**
 * Issue 20, serving A2A: every agent a caller may run has an A2A card and a JSON-RPC endpoint backed
 * by a session. The official `@a2a-js/sdk` client fetches the cards and runs message/send,
 * message/stream, tasks/get and tasks/cancel against agents whose model is the dev model.
 */

/** A fetch that sends `token` as the bearer token (what the cards' security scheme asks for). */
const bearerFetch =
  (token: string | undefined): typeof fetch =>
  (input, init) => {
    const headers = new Headers(init?.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };

const clientFor = (token: string | undefined, url: string): Promise<Client> => {
  const fetchImpl = bearerFetch(token);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl })], cardResolver: new DefaultAgentCardResolver({ fetchImpl }) }),
  );
  return factory.createFromUrl(`${url}/.well-known/agent-card.json`, '');
};

const userMessage = (text: string, more: Partial<Message> = {}): MessageSendParams => ({
  message: { kind: 'message', role: 'user', messageId: randomUUID(), parts: [{ kind: 'text', text }], ...more },
});

const textOf = (m: Message | undefined): string => (m?.parts ?? []).map((p) => (p.kind === 'text' ? p.text : '')).join('');

/** Posts a raw JSON-RPC body (or raw text) to an endpoint. */
const rpc = async (url: string, token: string | undefined, body: unknown, raw = false): Promise<{ status: number; body: any; headers: Headers }> => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
};

describe.each(testStores)('A2A: agent cards and JSON-RPC endpoints (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let managedAgentId: string;
  let base: string;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    base = f.server.url;
    managedAgentId = (await setUpAgent(f.alice, model)).agentId;
    await setUpAgent(f.bob, model);
    const extra = ['config:', '  model: dev-ant', 'permissions:', '  execute_commands: false', 'examples:', '  - prompt: Write a haiku about tea'].join('\n');
    const haiku = await makeTarball({ 'agent.yaml': agentYaml({ name: 'haiku', version: '1.0.0', scope: 'alice', description: 'Answers in haiku', extra }), 'README.md': '# haiku\n' });
    expect((await f.alice.publish('/api/v1/agents/@alice/haiku', haiku)).status).toBe(200);
    const secret = await makeTarball({ 'agent.yaml': agentYaml({ name: 'secret', version: '0.1.0', scope: 'alice', description: 'Keeps secrets', extra: 'config:\n  model: dev-ant' }) });
    expect((await f.alice.publish('/api/v1/agents/@alice/secret', secret)).status).toBe(200);
    expect((await f.alice.req('PUT', '/api/v1/access/@alice/secret', { visibility: 'private' })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it("runs an agent turn through /mcp's run_agent tool (the same turn routine and run rule as A2A)", async () => {
    const mcp = async (token: string | undefined) => {
      const client = new McpClient({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} } }));
      return client;
    };
    type Result = { structuredContent?: any; isError?: boolean; content: Array<{ text?: string }> };
    const run = async (client: McpClient, args: Record<string, unknown>) => (await client.callTool({ name: 'run_agent', arguments: args })) as Result;
    model.script([{ text: 'Steam curls from the cup' }, { text: 'Leaves settle below' }]);
    const alice = await mcp(f.aliceToken);
    try {
      const first = await run(alice, { agent: '@alice/haiku', message: 'tea?' });
      expect(first.isError, first.content[0]?.text).toBeFalsy();
      expect(first.structuredContent).toMatchObject({ agent: '@alice/haiku', text: 'Steam curls from the cup', stop_reason: 'end_turn', session_id: expect.stringMatching(/^sesn_/) });
      const second = await run(alice, { agent: '@alice/haiku', message: 'more?', session_id: first.structuredContent.session_id });
      expect(second.structuredContent).toMatchObject({ text: 'Leaves settle below', session_id: first.structuredContent.session_id });
      expect(JSON.stringify((model.requests.filter((r) => r.path === '/v1/messages').at(-1)!.body as any).messages)).toContain('tea?');
      // A managed agent by its A2A path; a path that names nothing.
      model.script([{ text: 'Managed hello' }]);
      expect((await run(alice, { agent: `agents/${managedAgentId}`, message: 'hi' })).structuredContent).toMatchObject({ text: 'Managed hello' });
      const nonsense = await run(alice, { agent: 'no/such/form/here', message: 'hi' });
      expect(nonsense.isError).toBe(true);
      expect(nonsense.content[0].text).toMatch(/names no agent/);
    } finally {
      await alice.close();
    }
    // Bob may not run alice's private agent, and cannot tell it from a missing one; anonymous callers run nothing.
    const bob = await mcp(f.bobToken);
    const anonymous = await mcp(undefined);
    try {
      const refused = await run(bob, { agent: '@alice/secret', message: 'tell me' });
      expect(refused.isError).toBe(true);
      expect(refused.content[0].text).toMatch(/not found/i);
      expect((await run(anonymous, { agent: '@alice/haiku', message: 'hi' })).isError).toBe(true);
    } finally {
      await bob.close();
      await anonymous.close();
    }
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(3);
  });

  it("serves an agent package's card, built from its manifest, to the official client", async () => {
    const card: AgentCard = await new DefaultAgentCardResolver().resolve(`${base}/a2a/@alice/haiku/.well-known/agent-card.json`, '');
    expect(card).toMatchObject({ protocolVersion: '0.3.0', name: '@alice/haiku', description: 'Answers in haiku', version: '1.0.0', url: `${base}/a2a/@alice/haiku`, preferredTransport: 'JSONRPC' });
    expect(card.capabilities.streaming).toBe(true);
    expect(card.securitySchemes).toEqual({ agentry: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    expect(card.security).toEqual([{ agentry: [] }]);
    expect(card.skills[0]).toMatchObject({ id: 'run', examples: ['Write a haiku about tea'] });
    const tools = card.skills.filter((s) => s.id.startsWith('tool:')).map((s) => s.name);
    expect(tools).toContain('read');
    expect(tools).not.toContain('bash'); // execute_commands: false
  });

  it("lists the public agents on the server's own card, never a private one", async () => {
    const r = await new Api(base).req('GET', '/.well-known/agent-card.json');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'Agentry', url: `${base}/a2a`, protocolVersion: '0.3.0' });
    expect(r.body.skills.map((s: any) => s.id)).toEqual(['@alice/haiku']);
    const dir = r.body.capabilities.extensions.find((e: any) => e.uri.includes('agent-directory'));
    expect(dir.params.agents).toEqual([
      { id: '@alice/haiku', name: '@alice/haiku', version: '1.0.0', card_url: `${base}/a2a/@alice/haiku/.well-known/agent-card.json`, url: `${base}/a2a/@alice/haiku` },
    ]);
    // Its url runs nothing: every method says where the agents are.
    const call = await rpc(`${base}/a2a`, f.aliceToken, { jsonrpc: '2.0', id: 1, method: 'message/send', params: userMessage('hi') });
    expect(call.body.error.code).toBe(-32004);
  });

  it('message/send runs a turn of a session and answers a completed task; the same contextId continues the session', async () => {
    model.script([{ text: 'Steam curls from the cup' }, { text: 'Leaves settle below' }]);
    const client = await clientFor(f.aliceToken, `${base}/a2a/@alice/haiku`);
    const first = (await client.sendMessage(userMessage('tea?'))) as Task;
    expect(first.kind).toBe('task');
    expect(first.status.state).toBe('completed');
    expect(textOf(first.status.message)).toBe('Steam curls from the cup');
    expect(first.artifacts?.map((a) => textOf(a as unknown as Message))).toEqual(['Steam curls from the cup']);
    const sessionId = first.metadata?.['agentry.session_id'] as string;
    expect(sessionId).toMatch(/^sesn_/);
    const session = await f.alice.req('GET', `/v1/sessions/${sessionId}`);
    expect(session.body.agent.source).toMatchObject({ type: 'package', name: '@alice/haiku', version: '1.0.0' });

    const second = (await client.sendMessage(userMessage('more?', { contextId: first.contextId }))) as Task;
    expect(second.id).not.toBe(first.id);
    expect(second.metadata?.['agentry.session_id']).toBe(sessionId);
    expect(textOf(second.status.message)).toBe('Leaves settle below');
    // The model saw the whole conversation of the session on the second turn.
    const last: any = model.requests.filter((r) => r.path === '/v1/messages').at(-1)!.body;
    expect(JSON.stringify(last.messages)).toContain('tea?');
    expect(JSON.stringify(last.messages)).toContain('Steam curls from the cup');

    // tasks/get: the stored task, from the store (history as asked).
    const got = await client.getTask({ id: first.id, historyLength: 10 });
    expect(got.status.state).toBe('completed');
    expect(got.history?.map((m) => m.role)).toEqual(['user', 'agent']);
    await expect(client.getTask({ id: randomUUID() })).rejects.toThrow(TaskNotFoundError);
    // Bob runs the same public agent, but alice's task is not his.
    const bobs = await clientFor(f.bobToken, `${base}/a2a/@alice/haiku`);
    await expect(bobs.getTask({ id: first.id })).rejects.toThrow(TaskNotFoundError);
  });

  it('message/stream streams the task: submitted, working, the answer as artifact chunks, the final status', async () => {
    model.script([{ text: ['Green ', 'leaves ', 'unfold'] }]);
    const client = await clientFor(f.aliceToken, `${base}/a2a/@alice/haiku`);
    const events: any[] = [];
    for await (const ev of client.sendMessageStream(userMessage('spring?'))) events.push(ev);
    expect(events[0]).toMatchObject({ kind: 'task', status: { state: 'submitted' } });
    expect(events[1]).toMatchObject({ kind: 'status-update', status: { state: 'working' }, final: false });
    const artifacts = events.filter((e) => e.kind === 'artifact-update');
    expect(artifacts.length).toBeGreaterThanOrEqual(2);
    const chunks = artifacts.filter((e) => e.lastChunk === false).map((e) => e.artifact.parts[0].text);
    expect(chunks.join('')).toBe('Green leaves unfold');
    expect(artifacts.at(-1)).toMatchObject({ append: false, lastChunk: true, artifact: { parts: [{ kind: 'text', text: 'Green leaves unfold' }] } });
    const final = events.at(-1);
    expect(final).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(textOf(final.status.message)).toBe('Green leaves unfold');
    expect(final.metadata['agentry.usage'].output_tokens).toBeGreaterThan(0);
    const got = await client.getTask({ id: events[0].id });
    expect(got.artifacts?.[0].parts).toEqual([{ kind: 'text', text: 'Green leaves unfold' }]);
  });

  it('tasks/cancel interrupts the running turn: the task ends canceled and the session goes idle', async () => {
    model.script([{ text: 'too late', delayMs: 20_000 }]);
    const client = await clientFor(f.aliceToken, `${base}/a2a/@alice/haiku`);
    const started = (await client.sendMessage({ ...userMessage('wait'), configuration: { blocking: false } })) as Task;
    expect(['submitted', 'working']).toContain(started.status.state);
    const canceled = await client.cancelTask({ id: started.id });
    expect(canceled.status.state).toBe('canceled');
    const session = await waitIdle(f.alice, started.metadata!['agentry.session_id'] as string);
    expect(session.status).toBe('idle');
    const got = await client.getTask({ id: started.id });
    expect(got.status.state).toBe('canceled');
    // A finished task cannot be canceled again.
    const again = await rpc(`${base}/a2a/@alice/haiku`, f.aliceToken, { jsonrpc: '2.0', id: 7, method: 'tasks/cancel', params: { id: started.id } });
    expect(again.body.error.code).toBe(-32002);
  });

  it("runs a managed agent at /a2a/agents/<id> for its owner; another account's private agents are 404, card and endpoint", async () => {
    model.script([{ text: 'managed answer' }]);
    const mine = await clientFor(f.aliceToken, `${base}/a2a/agents/${managedAgentId}`);
    const t = (await mine.sendMessage(userMessage('hello'))) as Task;
    expect(textOf(t.status.message)).toBe('managed answer');

    for (const path of [`/a2a/agents/${managedAgentId}`, '/a2a/@alice/secret', '/a2a/@alice/nobody']) {
      const card = await new Api(base, f.bobToken).req('GET', `${path}/.well-known/agent-card.json`);
      expect(card.status, path).toBe(404);
      expect(card.body.error.code).toBe(-32000);
      const call = await rpc(`${base}${path}`, f.bobToken, { jsonrpc: '2.0', id: 1, method: 'message/send', params: userMessage('hi') });
      expect(call.status, path).toBe(404);
      expect(call.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, data: { status: 404 } } });
    }
    // Its owner reads the private package's card.
    expect((await new Api(base, f.aliceToken).req('GET', '/a2a/@alice/secret/.well-known/agent-card.json')).status).toBe(200);
  });

  it('refuses a call without a token (401 naming the bearer scheme) and bad JSON-RPC inputs', async () => {
    const url = `${base}/a2a/@alice/haiku`;
    const anon = await rpc(url, undefined, { jsonrpc: '2.0', id: 1, method: 'message/send', params: userMessage('hi') });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(anon.body.error.code).toBe(-32000);

    const t = f.aliceToken;
    const parse = await rpc(url, t, '{"jsonrpc": "2.0", "method": ', true);
    expect(parse.status).toBe(400);
    expect(parse.body.error.code).toBe(-32700);
    for (const body of [
      { jsonrpc: '1.0', id: 1, method: 'message/send' },
      { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: [1] },
    ]) {
      const r = await rpc(url, t, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code, JSON.stringify(body)).toBe(-32600);
    }
    // An id that is neither a string, an integer nor null: the transport handler's own refusal.
    const badId = await rpc(url, t, { jsonrpc: '2.0', id: { a: 1 }, method: 'tasks/get', params: { id: 'x' } });
    expect(badId.body.error.code).toBe(-32600);
    const unknown = await rpc(url, t, { jsonrpc: '2.0', id: 2, method: 'tasks/explode', params: {} });
    expect(unknown.body).toMatchObject({ id: 2, error: { code: -32601 } });
    const file = await rpc(url, t, {
      jsonrpc: '2.0',
      id: 3,
      method: 'message/send',
      params: { message: { kind: 'message', role: 'user', messageId: 'm1', parts: [{ kind: 'file', file: { uri: 'https://example.com/x' } }] } },
    });
    expect(file.body).toMatchObject({ id: 3, error: { code: -32005 } });
    const empty = await rpc(url, t, { jsonrpc: '2.0', id: 4, method: 'message/send', params: { message: { kind: 'message', role: 'user', messageId: 'm2', parts: [] } } });
    expect(empty.body).toMatchObject({ id: 4, error: { code: -32602 } });
    const noId = await rpc(url, t, { jsonrpc: '2.0', id: 5, method: 'message/send', params: { message: { kind: 'message', role: 'user', parts: [{ kind: 'text', text: 'hi' }] } } });
    expect(noId.body).toMatchObject({ id: 5, error: { code: -32602 } });
    const longCtx = await rpc(url, t, { jsonrpc: '2.0', id: 6, method: 'message/send', params: userMessage('hi', { contextId: 'x'.repeat(201) }) });
    expect(longCtx.body).toMatchObject({ id: 6, error: { code: -32602 } });
    const unknownTask = await rpc(url, t, { jsonrpc: '2.0', id: 8, method: 'message/send', params: userMessage('hi', { taskId: randomUUID() }) });
    expect(unknownTask.body).toMatchObject({ id: 8, error: { code: -32001 } });
    // Nothing of the refused requests reached the model.
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toEqual([]);
  });

  it('answers a stream that fails (resubscribe to an unknown task, stream onto one) with an SSE error event, and writes nothing to stderr', async () => {
    const url = `${base}/a2a/@alice/haiku`;
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (const [id, method, params] of [
        [11, 'tasks/resubscribe', { id: randomUUID() }],
        [12, 'message/stream', userMessage('hi', { taskId: randomUUID() })],
      ] as const) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${f.aliceToken}` },
          body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        });
        const text = await res.text();
        const error = text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice(6)))
          .find((m) => m.error);
        expect(error, `${method}: ${text}`).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32001 } });
      }
      // The A2A SDK prints a stream's error, stack and all, with console.error (no level, no redaction).
      expect(printed.mock.calls.map((c) => String(c[0]).slice(0, 200))).toEqual([]);
    } finally {
      printed.mockRestore();
    }
  });
});
