import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Type } from 'typebox';
import type { RequestContext } from '../../core/auth/principal.js';
import { AgentryError, badRequest, notFound, notImplemented } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import type { WorkloadSession } from '../../core/workloads/workload-proxy.js';
import { workloadProxyPath } from '../../core/workloads/workload.js';
import { requestContext } from '../shared/request-context.js';
import { hijackWithRequestId } from '../shared/request-id.js';
import { workloadProxyErrorHandler } from './errors.js';
import { loadOnce } from '../../core/load-once.js';

export interface WorkloadProxyOptions {
  registry: Registry;
}

interface Entry {
  workload: string;
  /** The account that opened the session: only it may use the session id. */
  accountId: number | null;
  transport: Transport & { handleRequest?: unknown };
  server: Server;
  /** Streamable HTTP only: the server's own messages held until the client's GET stream is open. */
  held?: HeldMessages;
}

type Notification = Parameters<Server['notification']>[0];

/**
 * The workload's own messages (list changes, log messages, resource updates) for one Streamable
 * HTTP session. The SDK's transport drops such a message when the client's GET stream is not open,
 * and a client opens it only after `initialize`, without waiting: a list change caused by the
 * client's first call could be lost. So they wait here (the newest 100) until the stream opens, and
 * again whenever it is closed until the client opens another.
 */
class HeldMessages {
  private open = false;
  private readonly waiting: Notification[] = [];
  constructor(private readonly deliver: (n: Notification) => void) {}

  offer(n: Notification): void {
    if (this.open) return this.deliver(n);
    this.waiting.push(n);
    if (this.waiting.length > 100) this.waiting.shift();
  }

  /** Watches a GET request's response: the stream is open once it is answered 200, until it closes. */
  watch(raw: FastifyReply['raw']): void {
    const writeHead = raw.writeHead.bind(raw) as (...args: unknown[]) => FastifyReply['raw'];
    raw.writeHead = ((status: number, ...rest: unknown[]) => {
      const answered = writeHead(status, ...rest);
      if (status === 200) {
        raw.once('close', () => {
          this.open = false;
        });
        // The transport registered the stream before answering: deliver once the headers are out.
        setImmediate(() => {
          this.open = true;
          for (const n of this.waiting.splice(0)) this.deliver(n);
        });
      }
      return answered;
    }) as typeof raw.writeHead;
  }
}

const Params = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200, description: 'Workload name' }) });
const SessionQuery = Type.Object({ sessionId: Type.Optional(Type.String({ maxLength: 100 })) });
const JsonRpcBody = Type.Unknown({ description: 'A JSON-RPC message (or batch) of the Model Context Protocol' });

/**
 * The MCP SDK's server side, loaded by the first proxied request: a registry that proxies no
 * workload never loads the SDK and zod (about 10 MB of heap held from start-up on).
 */
const loadServerSdk = async () => {
  const [server, sse, streamable, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/index.js'),
    import('@modelcontextprotocol/sdk/server/sse.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return {
    Server: server.Server,
    SSEServerTransport: sse.SSEServerTransport,
    StreamableHTTPServerTransport: streamable.StreamableHTTPServerTransport,
    isInitializeRequest: types.isInitializeRequest,
  };
};
type ServerSdk = Awaited<ReturnType<typeof loadServerSdk>>;
const mcpServerSdk: () => Promise<ServerSdk> = loadOnce(loadServerSdk);

/** Capabilities the proxy passes on: what it can forward (no server-initiated tasks). */
const forwardable = (caps: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const k of ['tools', 'resources', 'prompts', 'logging', 'completions']) if (caps[k] !== undefined) out[k] = caps[k];
  return out;
};

/** The client's progress token of a request, if it asked for progress. */
const progressTokenOf = (params: Record<string, unknown> | undefined): string | number | undefined => {
  const meta = params?._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const token = (meta as Record<string, unknown>).progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
};

/**
 * An MCP server speaking for one client session, forwarding each request through the core, both
 * ways: the server's progress goes back on the request that asked for it (with the client's own
 * token), a client's `notifications/cancelled` aborts the request upstream (the SDK turns the abort
 * into the server's `notifications/cancelled`), and list changes, log messages and resource
 * updates reach every session (over Streamable HTTP, held until the session's GET stream is open).
 */
const bridge = ({ Server }: ServerSdk, session: WorkloadSession, hold = false): { server: Server; held?: HeldMessages } => {
  const server = new Server({ ...session.serverInfo }, { capabilities: forwardable(session.capabilities), ...(session.instructions ? { instructions: session.instructions } : {}) });
  server.fallbackRequestHandler = async (request, extra) => {
    const params = request.params as Record<string, unknown> | undefined;
    const token = progressTokenOf(params);
    const onProgress =
      token === undefined
        ? undefined
        : (progress: Record<string, unknown>) => void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken: token } }).catch(() => undefined);
    return session.request(request.method, params, { signal: extra.signal, ...(onProgress ? { onProgress } : {}) });
  };
  const deliver = (n: Notification) => void server.notification(n).catch(() => undefined);
  const holding = hold ? new HeldMessages(deliver) : undefined;
  const unsubscribe = session.subscribe(holding ? (n) => holding.offer(n) : deliver);
  const closed = server.onclose;
  server.onclose = () => {
    unsubscribe();
    closed?.();
  };
  return { server, ...(holding ? { held: holding } : {}) };
};

/**
 * The proxy in front of every workload, under Agentry's own origin: Streamable HTTP at
 * `/workloads/{name}/mcp` and, for older clients, SSE at `/workloads/{name}/sse` (messages POSTed to
 * `/workloads/{name}/messages?sessionId=…`). Each request is authenticated with the caller's Agentry
 * token and checked against the workload's visibility by the core; a session is tied to the account
 * that opened it.
 */
export const workloadProxyDoor: FastifyPluginAsyncTypebox<WorkloadProxyOptions> = async (app, { registry }) => {
  app.setErrorHandler(workloadProxyErrorHandler);
  const sessions = new Map<string, Entry>();
  const tags = ['workload-proxy'];

  const open = async (ctx: RequestContext, name: string): Promise<WorkloadSession> => {
    if (!registry.workloads) throw notImplemented('This server does not run MCP workloads');
    return registry.workloads.session(ctx, name);
  };

  /** The session a request names, if it belongs to this workload and caller (404 otherwise, as MCP asks). */
  const existing = async (req: FastifyRequest, name: string, id: string): Promise<Entry> => {
    const ctx = await requestContext(registry, req);
    const entry = sessions.get(id);
    if (!entry || entry.workload !== name || entry.accountId !== (ctx.principal?.account.id ?? null)) throw notFound('Session not found: start a new one with initialize');
    // Still allowed? (visibility or token may have changed since the session began)
    await registry.workloads!.get(ctx, name);
    return entry;
  };

  const hijack = (reply: FastifyReply) => hijackWithRequestId(reply);

  const streamable = async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply): Promise<void> => {
    const name = req.params.name;
    const sid = req.headers['mcp-session-id'];
    const sdk = await mcpServerSdk();
    let entry: Entry;
    if (typeof sid === 'string' && sid !== '') {
      entry = await existing(req, name, sid);
    } else {
      if (req.method !== 'POST' || !sdk.isInitializeRequest(req.body)) throw badRequest('No Mcp-Session-Id: the first request of a session must be an initialize POST');
      const ctx = await requestContext(registry, req);
      const session = await open(ctx, name);
      const { server, held } = bridge(sdk, session, true);
      const transport: StreamableHTTPServerTransport = new sdk.StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, entry);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      entry = { workload: name, accountId: ctx.principal?.account.id ?? null, transport, server, ...(held ? { held } : {}) };
      await server.connect(transport);
    }
    const transport = entry.transport as StreamableHTTPServerTransport;
    const raw = hijack(reply);
    if (req.method === 'GET') entry.held?.watch(raw);
    await transport.handleRequest(req.raw, raw, req.body);
  };
  const summary = 'A workload over Streamable HTTP (MCP 2025-03-26 and later)';
  // Documentation only: every handler hands the raw response to the MCP SDK's transport, which writes it.
  const JsonRpcMessage = Type.Object({ jsonrpc: Type.Literal('2.0') }, { additionalProperties: true, description: 'A JSON-RPC response or batch, as the MCP server answered' });
  const EventStream = Type.String({ description: 'text/event-stream: MCP JSON-RPC messages as SSE frames' });
  const McpAnswer = {
    200: { content: { 'application/json': { schema: JsonRpcMessage }, 'text/event-stream': { schema: EventStream } } },
    202: Type.Null({ description: 'Accepted: a notification or response from the client (no body)' }),
  };
  const StreamOnly = { 200: { content: { 'text/event-stream': { schema: EventStream } } } };
  const Ended = { 200: Type.Null({ description: 'The session ended (no body)' }) };
  app.post('/workloads/:name/mcp', { schema: { tags, summary, params: Params, body: JsonRpcBody, response: McpAnswer }, handler: streamable });
  app.get('/workloads/:name/mcp', { schema: { tags, summary: `${summary}: the server's event stream`, params: Params, response: StreamOnly }, handler: streamable });
  app.delete('/workloads/:name/mcp', { schema: { tags, summary: `${summary}: end the session`, params: Params, response: Ended }, handler: streamable });

  app.get('/workloads/:name/sse', {
    schema: { tags, summary: 'A workload over the HTTP+SSE transport (MCP 2024-11-05), for older clients', params: Params, response: StreamOnly },
    handler: async (req, reply) => {
      const name = req.params.name;
      const ctx = await requestContext(registry, req);
      const session = await open(ctx, name);
      const sdk = await mcpServerSdk();
      const { server } = bridge(sdk, session);
      const raw = hijack(reply);
      const transport = new sdk.SSEServerTransport(`${workloadProxyPath(name, 'sse').replace(/\/sse$/, '')}/messages`, raw);
      const entry: Entry = { workload: name, accountId: ctx.principal?.account.id ?? null, transport, server };
      sessions.set(transport.sessionId, entry);
      transport.onclose = () => sessions.delete(transport.sessionId);
      raw.on('close', () => void server.close().catch(() => undefined));
      await server.connect(transport);
    },
  });

  app.post('/workloads/:name/messages', {
    schema: {
      tags,
      summary: 'Messages of an SSE session',
      params: Params,
      querystring: SessionQuery,
      body: JsonRpcBody,
      response: { 202: Type.String({ description: 'Accepted (the answer comes on the event stream)' }) },
    },
    handler: async (req, reply) => {
      const id = req.query.sessionId;
      if (!id) throw badRequest('sessionId is required');
      const entry = await existing(req, req.params.name, id);
      const { SSEServerTransport } = await mcpServerSdk();
      if (!(entry.transport instanceof SSEServerTransport)) throw new AgentryError('bad_request', 'This session is not an SSE session');
      await entry.transport.handlePostMessage(req.raw, hijack(reply), req.body);
    },
  });

  app.addHook('onClose', async () => {
    await Promise.all([...sessions.values()].map((e) => e.server.close().catch(() => undefined)));
    sessions.clear();
  });
};
