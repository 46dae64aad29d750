import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentCard, Message, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent } from '@a2a-js/sdk';
import { DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';

/**
 * Remote A2A agents for the tests, built with the official SDK's server side (request handler and
 * JSON-RPC transport handler) on node:http, 127.0.0.1 and a free port. Deterministic executors:
 * - `/echo`: answers a Message `echo: <text>`;
 * - `/stream` (card says `streaming: true`): a task whose artifact comes in two chunks, `streamed: <text>`;
 * - `/secure`: like echo, but its card asks for a bearer token and the agent refuses any other than `TOKEN`;
 * - `/fail`: its task ends `failed` with the message `no capacity`.
 * Every message received is recorded (text, contextId, taskId, authorization header).
 */
export interface TestA2aServer {
  url: string;
  cardUrl(agent: string): string;
  card(agent: string): AgentCard;
  received: Array<{ agent: string; text: string; contextId: string | undefined; authorization: string | undefined }>;
  close(): Promise<void>;
}

export const A2A_TEST_TOKEN = 'a2a-test-token-123';

const textOf = (m: Message): string =>
  m.parts
    .filter((p) => p.kind === 'text')
    .map((p) => (p as { text: string }).text)
    .join('');

const echo: AgentExecutor = {
  execute: async (ctx: RequestContext, bus: ExecutionEventBus) => {
    const answer: Message = { kind: 'message', role: 'agent', messageId: `m-${ctx.taskId}`, contextId: ctx.contextId, parts: [{ kind: 'text', text: `echo: ${textOf(ctx.userMessage)}` }] };
    bus.publish(answer);
    bus.finished();
  },
  cancelTask: async () => undefined,
};

const streaming: AgentExecutor = {
  execute: async (ctx: RequestContext, bus: ExecutionEventBus) => {
    const base = { taskId: ctx.taskId, contextId: ctx.contextId };
    const task: Task = { kind: 'task', id: ctx.taskId, contextId: ctx.contextId, status: { state: 'submitted' }, history: [ctx.userMessage] };
    bus.publish(task);
    const working: TaskStatusUpdateEvent = { kind: 'status-update', ...base, status: { state: 'working' }, final: false };
    bus.publish(working);
    const text = `streamed: ${textOf(ctx.userMessage)}`;
    const half = Math.ceil(text.length / 2);
    const first: TaskArtifactUpdateEvent = { kind: 'artifact-update', ...base, artifact: { artifactId: 'answer', parts: [{ kind: 'text', text: text.slice(0, half) }] } };
    const second: TaskArtifactUpdateEvent = { kind: 'artifact-update', ...base, append: true, lastChunk: true, artifact: { artifactId: 'answer', parts: [{ kind: 'text', text: text.slice(half) }] } };
    bus.publish(first);
    bus.publish(second);
    const done: TaskStatusUpdateEvent = { kind: 'status-update', ...base, status: { state: 'completed' }, final: true };
    bus.publish(done);
    bus.finished();
  },
  cancelTask: async () => undefined,
};

const failing: AgentExecutor = {
  execute: async (ctx: RequestContext, bus: ExecutionEventBus) => {
    const failed: Task = {
      kind: 'task',
      id: ctx.taskId,
      contextId: ctx.contextId,
      status: { state: 'failed', message: { kind: 'message', role: 'agent', messageId: `f-${ctx.taskId}`, parts: [{ kind: 'text', text: 'no capacity' }] } },
    };
    bus.publish(failed);
    bus.finished();
  },
  cancelTask: async () => undefined,
};

const cardOf = (base: string, agent: string): AgentCard => ({
  name: `Test ${agent[0].toUpperCase()}${agent.slice(1)} Agent`,
  description: `A deterministic ${agent} agent for the tests`,
  url: `${base}/${agent}`,
  version: '1.0.0',
  protocolVersion: '0.3.0',
  preferredTransport: 'JSONRPC',
  capabilities: { streaming: agent === 'stream' },
  defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'],
  skills: [{ id: agent, name: agent, description: `Answers with ${agent}`, tags: ['test', agent], examples: [`say hello to ${agent}`] }],
  ...(agent === 'secure' ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, security: [{ bearer: [] }] } : {}),
});

const EXECUTORS: Record<string, AgentExecutor> = { echo, stream: streaming, secure: echo, fail: failing };

const body = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

export const startTestA2aServer = async (): Promise<TestA2aServer> => {
  const received: TestA2aServer['received'] = [];
  const handlers = new Map<string, JsonRpcTransportHandler>();
  let base = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      const m = /^\/([a-z]+)(\/\.well-known\/agent-card\.json)?$/.exec(path);
      const agent = m?.[1];
      if (!m || !agent || !EXECUTORS[agent]) return void res.writeHead(404).end();
      if (m[2] && req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(cardOf(base, agent)));
      if (req.method !== 'POST') return void res.writeHead(405).end();
      if (agent === 'secure' && req.headers.authorization !== `Bearer ${A2A_TEST_TOKEN}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      const rpc = (await body(req)) as { params?: { message?: Message } };
      const msg = rpc.params?.message;
      if (msg) received.push({ agent, text: textOf(msg), contextId: msg.contextId, authorization: req.headers.authorization });
      let handler = handlers.get(agent);
      if (!handler) {
        handler = new JsonRpcTransportHandler(new DefaultRequestHandler(cardOf(base, agent), new InMemoryTaskStore(), EXECUTORS[agent]));
        handlers.set(agent, handler);
      }
      const out = await handler.handle(rpc);
      if (Symbol.asyncIterator in out) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for await (const ev of out) res.write(`data: ${JSON.stringify(ev)}\n\n`);
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    cardUrl: (agent) => `${base}/${agent}/.well-known/agent-card.json`,
    card: (agent) => cardOf(base, agent),
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
