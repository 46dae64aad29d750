import type { Message, MessageSendParams, Task, TaskArtifactUpdateEvent, TaskIdParams, TaskStatusUpdateEvent } from '@a2a-js/sdk';
import { DefaultExecutionEventBusManager, DefaultRequestHandler, JsonRpcTransportHandler, ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { agentCard, AGENT_CARD_FILE, serverCard } from '../../core/a2a/agent-card.js';
import { MAX_A2A_ID } from '../../core/a2a/a2a-tasks.js';
import type { ServedAgent } from '../../core/a2a/served-agents.js';
import type { RequestContext } from '../../core/auth/principal.js';
import type { Registry } from '../../core/registry.js';
import type { RunnableAgent } from '../../core/sessions/agent-turn.js';
import { baseUrl } from '../shared/base-url.js';
import { requestContext } from '../shared/request-context.js';
import { a2aErrorHandler, RPC, toA2aError } from './errors.js';
import { interruptTask, TurnExecutor } from './executor.js';
import { AgentCard, AgentspaceAgentParams, JsonRpcRequest, JsonRpcResponse, JsonRpcStream, ManagedAgentParams, PackageAgentParams } from './schemas.js';

export interface A2aDoorOptions {
  registry: Registry;
  /** Agentry's version: the server card's. */
  version: string;
  publicUrl?: string;
}

const TERMINAL = new Set(['completed', 'failed', 'canceled', 'rejected']);

type RpcBody = Static<typeof JsonRpcRequest>;
type RpcResponse = Static<typeof JsonRpcResponse>;

/**
 * What the door refuses before the SDK sees a request, as a JSON-RPC error (HTTP 200): parts other
 * than text (a session's user message takes text here), a message without text, ids longer than
 * the store keeps. Answers undefined when the request may go on.
 */
const refusal = (body: RpcBody): { code: number; message: string } | undefined => {
  const p = body.params;
  if (p === undefined) return undefined;
  for (const key of ['id', 'taskId', 'contextId'])
    if (typeof p[key] === 'string' && (p[key] as string).length > MAX_A2A_ID) return { code: RPC.invalidParams, message: `params.${key} must be at most ${MAX_A2A_ID} characters` };
  if (body.method !== 'message/send' && body.method !== 'message/stream') return undefined;
  const m = p.message as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { code: RPC.invalidParams, message: 'params.message is required: a Message' };
  if (!Array.isArray(m.parts) || m.parts.length === 0) return { code: RPC.invalidParams, message: 'params.message.parts must be a non-empty list of parts' };
  for (const [i, part] of (m.parts as unknown[]).entries()) {
    const kind = typeof part === 'object' && part !== null ? (part as Record<string, unknown>).kind : undefined;
    if (kind !== 'text') return { code: RPC.contentTypeNotSupported, message: `params.message.parts[${i}]: only text parts are accepted (got ${JSON.stringify(kind ?? null).slice(0, 40)})` };
    if (typeof (part as Record<string, unknown>).text !== 'string') return { code: RPC.invalidParams, message: `params.message.parts[${i}].text must be a string` };
  }
  if ((m.parts as Array<{ text: string }>).every((x) => x.text.trim() === '')) return { code: RPC.invalidParams, message: 'params.message has no text' };
  for (const key of ['taskId', 'contextId', 'messageId']) {
    if (m[key] !== undefined && (typeof m[key] !== 'string' || (m[key] as string).length > MAX_A2A_ID))
      return { code: RPC.invalidParams, message: `params.message.${key} must be a string of at most ${MAX_A2A_ID} characters` };
  }
  return undefined;
};

/**
 * The A2A door (issue 20, protocol 0.3): every agent a caller may run has an agent card and a
 * JSON-RPC endpoint (`message/send`, `message/stream` over SSE, `tasks/get`, `tasks/cancel`),
 * served by `@a2a-js/sdk`'s request handler and JSON-RPC transport handler inside Fastify; each
 * task is a turn of a session (core AgentTurns). Paths (docs/a2a.md):
 * `/a2a/@scope/name` (an agent package), `/a2a/agents/<agent_id>` (a managed agent of the caller),
 * `/a2a/agentspaces/<agentspace_id>/<assistant_id>` (an agentspace agent of the caller), each with
 * its card at `<path>/.well-known/agent-card.json`; `/.well-known/agent-card.json` is the server's
 * own card, listing its public agents.
 */
export const a2aDoor: FastifyPluginAsyncTypebox<A2aDoorOptions> = async (app, opts) => {
  const { registry } = opts;
  // Task event buses of this process: tasks/cancel reaches a turn running in another request.
  const buses = new DefaultExecutionEventBusManager();
  const running = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const c of running) c.abort();
  });
  app.setErrorHandler(a2aErrorHandler);

  const describe = async (req: FastifyRequest, agent: RunnableAgent): Promise<{ ctx: RequestContext; served: ServedAgent }> => {
    const ctx = await requestContext(registry, req);
    return { ctx, served: await registry.a2a.agents.describe(ctx, agent) };
  };

  const card = async (req: FastifyRequest, agent: RunnableAgent) => agentCard(baseUrl(req, opts.publicUrl), (await describe(req, agent)).served);

  const rpc = async (req: FastifyRequest, reply: FastifyReply, agent: RunnableAgent): Promise<RpcResponse | undefined> => {
    const ctx = await requestContext(registry, req);
    registry.policy.requirePrincipal(ctx);
    const body = req.body as RpcBody;
    // Running (and cancelling) a task is a session's work; reading a task is a read.
    const runs = body.method === 'message/send' || body.method === 'message/stream' || body.method === 'tasks/cancel';
    const served = await (runs ? registry.a2a.agents.describeForRun(ctx, agent) : registry.a2a.agents.describe(ctx, agent));
    const refused = refusal(body);
    if (refused) return { jsonrpc: '2.0', id: body.id ?? null, error: refused };
    const turnSignal = new AbortController();
    running.add(turnSignal);
    const scope = { turns: registry.agentTurns, tasks: registry.a2a.tasks, ctx, agent, agentPath: served.path };
    // Store errors reach the client through the door's mapping (an unexpected one names only the request).
    const mapped = (err: unknown): never => {
      throw toA2aError(err, req.log, req.id);
    };
    const store: TaskStore = {
      load: (taskId: string) => registry.a2a.tasks.load(ctx, served.path, taskId).catch(mapped),
      save: (task: Task) => registry.a2a.tasks.save(ctx, served.path, task).catch(mapped),
    };
    const executor = new TurnExecutor({ ...scope, streaming: body.method === 'message/stream', log: req.log, requestId: req.id, signal: turnSignal.signal });
    const handler = new SessionRequestHandler(agentCard(baseUrl(req, opts.publicUrl), served), store, executor, buses, (taskId) => interruptTask(scope, taskId));
    const out = await new JsonRpcTransportHandler(handler).handle(body, new ServerCallContext());
    if (!isStream(out)) {
      running.delete(turnSignal);
      return out as RpcResponse;
    }
    // message/stream: one JSON-RPC response per SSE `data:` line, until the task's final status.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no', 'request-id': req.id });
    const closed = new Promise<void>((resolve) => {
      res.on('close', () => resolve());
      turnSignal.signal.addEventListener('abort', () => resolve());
    });
    const it = out[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await Promise.race([it.next(), closed.then(() => undefined)]);
        if (next === undefined || next.done) break;
        res.write(`data: ${JSON.stringify(next.value)}\n\n`);
      }
      if (handler.streamError !== undefined) throw handler.streamError;
    } catch (err) {
      res.write(`event: error\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: body.id ?? null, error: toA2aError(err, req.log, req.id).toJSONRPCError() })}\n\n`);
    } finally {
      running.delete(turnSignal);
      res.end();
    }
    return undefined;
  };

  const rpcSchema = <P extends TSchema>(summary: string, params: P) => ({
    tags: ['a2a'],
    summary,
    params,
    body: JsonRpcRequest,
    response: { 200: { content: { 'application/json': { schema: JsonRpcResponse }, 'text/event-stream': { schema: JsonRpcStream } } }, '4xx': JsonRpcResponse },
  });
  const cardSchema = <P extends TSchema>(summary: string, params: P) => ({ tags: ['a2a'], summary, params, response: { 200: AgentCard, '4xx': JsonRpcResponse } });

  const packageAgent = (p: { scope: string; name: string }): RunnableAgent => ({ type: 'package', name: `@${p.scope}/${p.name}` });
  const managedAgent = (p: { id: string }): RunnableAgent => ({ type: 'agent', id: p.id });
  const agentspaceAgent = (p: { agentspace_id: string; assistant_id: string }): RunnableAgent => ({ type: 'agentspace', agentspaceId: p.agentspace_id, assistantId: p.assistant_id });

  app.get(`/a2a/@:scope/:name/${AGENT_CARD_FILE}`, { schema: cardSchema("An agent package's A2A card", PackageAgentParams) }, (req) => card(req, packageAgent(req.params)));
  app.post('/a2a/@:scope/:name', { schema: rpcSchema("An agent package's A2A JSON-RPC endpoint", PackageAgentParams) }, (req, reply) => rpc(req, reply, packageAgent(req.params)));
  app.get(`/a2a/agents/:id/${AGENT_CARD_FILE}`, { schema: cardSchema("A managed agent's A2A card (its owner's only)", ManagedAgentParams) }, (req) => card(req, managedAgent(req.params)));
  app.post('/a2a/agents/:id', { schema: rpcSchema("A managed agent's A2A JSON-RPC endpoint", ManagedAgentParams) }, (req, reply) => rpc(req, reply, managedAgent(req.params)));
  app.get(`/a2a/agentspaces/:agentspace_id/:assistant_id/${AGENT_CARD_FILE}`, { schema: cardSchema("An agentspace agent's A2A card (its owner's only)", AgentspaceAgentParams) }, (req) =>
    card(req, agentspaceAgent(req.params)),
  );
  app.post('/a2a/agentspaces/:agentspace_id/:assistant_id', { schema: rpcSchema("An agentspace agent's A2A JSON-RPC endpoint", AgentspaceAgentParams) }, (req, reply) =>
    rpc(req, reply, agentspaceAgent(req.params)),
  );

  app.get(
    `/${AGENT_CARD_FILE}`,
    { schema: { tags: ['a2a'], summary: "The server's own A2A card: its skills are the public agents, each with its card URL", response: { 200: AgentCard } } },
    async (req) => serverCard(baseUrl(req, opts.publicUrl), opts.version, await registry.a2a.agents.publicAgents(await requestContext(registry, req))),
  );
  // The server card's `url`: it runs no agent of its own and says where the agents are.
  app.post(
    '/a2a',
    { schema: { tags: ['a2a'], summary: "The server card's endpoint: every method answers where the agents are", body: JsonRpcRequest, response: { 200: JsonRpcResponse } } },
    async (req) => ({
      jsonrpc: '2.0' as const,
      id: req.body.id ?? null,
      error: { code: RPC.unsupportedOperation, message: `This server runs no agent at /a2a: call one of its agents at /a2a/<skill id> (see ${baseUrl(req, opts.publicUrl)}/${AGENT_CARD_FILE})` },
    }),
  );
};

const isStream = (v: unknown): v is AsyncGenerator<unknown> => typeof v === 'object' && v !== null && typeof (v as AsyncGenerator<unknown>)[Symbol.asyncIterator] === 'function';

/**
 * The SDK's request handler, with cancel reaching the session wherever the turn runs: a task whose
 * turn runs in another process (no event bus here) gets its session interrupted before the SDK
 * marks it canceled.
 */
class SessionRequestHandler extends DefaultRequestHandler {
  constructor(
    card: ReturnType<typeof agentCard>,
    private readonly store: TaskStore,
    executor: TurnExecutor,
    private readonly buses: DefaultExecutionEventBusManager,
    private readonly interrupt: (taskId: string) => Promise<void>,
  ) {
    super(card, store, executor, buses);
  }

  /**
   * The error a stream ended with. It is kept here and the stream ends, instead of being thrown through
   * the SDK's transport handler, which prints it (stack and all) to stderr with console.error: no log
   * level, no redaction, any caller's input. The door answers it as an SSE error event.
   */
  streamError: unknown;

  override async *sendMessageStream(params: MessageSendParams, context?: ServerCallContext): AsyncGenerator<Message | Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent, void, undefined> {
    try {
      yield* super.sendMessageStream(params, context);
    } catch (e) {
      this.streamError = e;
    }
  }

  override async *resubscribe(params: TaskIdParams, context?: ServerCallContext): AsyncGenerator<Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent, void, undefined> {
    try {
      yield* super.resubscribe(params, context);
    } catch (e) {
      this.streamError = e;
    }
  }

  override async cancelTask(params: TaskIdParams, context?: ServerCallContext): Promise<Task> {
    if (!this.buses.getByTaskId(params.id)) {
      const task = await this.store.load(params.id);
      if (task && !TERMINAL.has(task.status.state)) await this.interrupt(params.id);
    }
    return super.cancelTask(params, context);
  }
}
