import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest } from '../../../core/errors.js';
import { pageLimit } from '../../../core/managed/page-token.js';
import type { StreamItem, StreamOptions } from '../../../core/sessions/session-stream.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { requestIdOf } from '../request-id.js';
import * as R from '../responses.js';
import { IdParams, MetadataCreate, MetadataPatch } from '../schemas.js';

const tags = ['sessions'];
const Loose = Type.Record(Type.String(), Type.Unknown());
/** A repeated query parameter (`statuses[]`, `types[]`, `event_deltas[]`). */
export const Strings = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 });

const AgentRef = Type.Union([
  Type.String({ minLength: 1, maxLength: 128 }),
  // First, and open: a closed branch before another strips that one's keys (Fastify's removeAdditional).
  Type.Object(
    {
      type: Type.Literal('package'),
      name: Type.String({ minLength: 1, maxLength: 214, description: "An agent package '@scope/name' (agent.yaml), run as the caller (issue 19)" }),
      version: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
      model: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
    },
    { description: "Agentry (checked in the core, not here: ajv would strip an anyOf branch's keys): a registry agent package; the session shows it as agent.source {type, name, version, sha256}" },
  ),
  // Before the closed 'agent' branch, and open: a closed branch before another strips that one's keys (Fastify's removeAdditional).
  Type.Object(
    {
      type: Type.Literal('agentspace'),
      agentspace_id: Type.String({ minLength: 1, maxLength: 64, description: "The caller's agentspace" }),
      assistant_id: Type.String({ minLength: 1, maxLength: 128, description: 'Its AssistantConfig' }),
    },
    {
      description:
        'Agentry (other keys are refused in the core, not here: ajv would strip an anyOf branch\'s keys): an agentspace agent (AssistantConfig) run as a managed agent of the caller (docs/run.md, "Agentspace agents"); the session shows it as agent.source',
    },
  ),
  Type.Object(
    { type: Type.Optional(Type.Literal('agent')), id: Type.String({ minLength: 1, maxLength: 128 }), version: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])) },
    { additionalProperties: false },
  ),
]);
const Budget = Type.Union([Type.Object({ type: Type.Literal('limit'), max_list_cost: Type.Object({ amount: Type.String({ pattern: '^(0|[1-9][0-9]*)$' }), currency: Type.String() }) }), Type.Null()]);

const SessionCreateBody = Type.Object(
  {
    agent: AgentRef,
    environment_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
    title: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])),
    metadata: Type.Optional(MetadataCreate),
    vault_ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 32 })),
    resources: Type.Optional(Type.Array(Loose, { maxItems: 100 })),
    initial_events: Type.Optional(Type.Array(Loose, { maxItems: 100 })),
    budget: Type.Optional(Budget),
  },
  { additionalProperties: false },
);

const SessionUpdateBody = Type.Object(
  {
    title: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])),
    metadata: Type.Optional(MetadataPatch),
    vault_ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 32 })),
    budget: Type.Optional(Budget),
    agent: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const EventsBody = Type.Object({ events: Type.Array(Loose, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false });

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  page: Type.Optional(Type.String({ maxLength: 500 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  agent_id: Type.Optional(Type.String({ maxLength: 128 })),
  agent_version: Type.Optional(Type.Integer({ minimum: 1 })),
  status: Type.Optional(Strings),
  statuses: Type.Optional(Strings),
  'statuses[]': Type.Optional(Strings),
  'created_at[gt]': Type.Optional(Type.String({ format: 'date-time' })),
  'created_at[gte]': Type.Optional(Type.String({ format: 'date-time' })),
  'created_at[lt]': Type.Optional(Type.String({ format: 'date-time' })),
  'created_at[lte]': Type.Optional(Type.String({ format: 'date-time' })),
  include_archived: Type.Optional(Type.Boolean()),
});

const EventQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Events per page (default 100)' })),
  page: Type.Optional(Type.String({ maxLength: 500 })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  after_seq: Type.Optional(Type.Integer({ minimum: 0 })),
  types: Type.Optional(Strings),
  'types[]': Type.Optional(Strings),
  include: Type.Optional(Type.String({ maxLength: 100, description: '`chunks`: extension events besides the spec union (SSE)' })),
  replay: Type.Optional(Type.String({ maxLength: 10, description: '`1`: replay the whole log before tailing (SSE)' })),
  event_deltas: Type.Optional(Strings),
  'event_deltas[]': Type.Optional(Strings),
});

const MessageBody = Type.Object({ content: Type.Union([Type.String({ minLength: 1 }), Type.Array(Loose, { minItems: 1, maxItems: 100 })]) }, { additionalProperties: false });

export const wantsSse = (req: FastifyRequest): boolean => /text\/event-stream/i.test(req.headers.accept ?? '');

/** Streams an SSE response: `retry:` first, then `event:` + `id:` + `data:` per frame, waiting for the socket to drain. */
export const sse = async (req: FastifyRequest, reply: FastifyReply, open: (signal: AbortSignal) => Promise<AsyncGenerator<StreamItem>>, streams: Set<AbortController>): Promise<void> => {
  const ac = new AbortController();
  const items = await open(ac.signal);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'request-id': requestIdOf(req),
  });
  streams.add(ac);
  const stop = () => ac.abort();
  res.on('close', stop);
  const write = async (text: string): Promise<void> => {
    if (res.write(text)) return;
    // A client that does not read gets 60 seconds to drain, then loses the stream: nothing piles up.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        res.destroy();
        resolve();
      }, 60_000);
      const done = () => {
        clearTimeout(t);
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  try {
    await write('retry: 1000\n\n');
    for await (const item of items) {
      if (ac.signal.aborted) break;
      if (item.kind === 'ping') await write(`event: ping\nid: ${item.seq}\ndata: {"type":"ping"}\n\n`);
      else await write(`event: ${String(item.event.type)}\nid: ${item.seq}\ndata: ${JSON.stringify(item.event)}\n\n`);
    }
  } catch (e) {
    if (!ac.signal.aborted) {
      const message = e instanceof Error && 'code' in e ? e.message : 'The stream failed';
      res.write(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`);
    }
  } finally {
    streams.delete(ac);
    res.off('close', stop);
    ac.abort();
    await items.return(undefined);
    res.end();
  }
};

export const list = (...values: Array<string[] | undefined>): string[] | undefined => {
  const all = values.flatMap((v) => v ?? []);
  return all.length > 0 ? all : undefined;
};

const lastEventId = (req: FastifyRequest): number | undefined => {
  const h = req.headers['last-event-id'];
  if (h === undefined || h === '') return undefined;
  const n = Number(h);
  if (!Number.isSafeInteger(n) || n < 0) throw badRequest('Last-Event-ID must be the id of an event of this stream (a whole number)');
  return n;
};

/** A stream's start and filters from its request: `Last-Event-ID` or `?replay=1`, `?include=chunks`, `event_deltas[]`. */
export const streamOptionsOf = (req: FastifyRequest): Omit<StreamOptions, 'signal'> => {
  const q = req.query as { include?: string; replay?: string; event_deltas?: string[]; 'event_deltas[]'?: string[] };
  const from = lastEventId(req);
  const replay = q.replay === '1' || q.replay === 'true';
  return {
    afterSeq: from ?? (replay ? 0 : undefined),
    includeChunks: (q.include ?? '').split(',').includes('chunks'),
    deltas: new Set(list(q.event_deltas, q['event_deltas[]']) ?? []),
  };
};

/** `/v1/sessions`: the session resource, its events (JSON and SSE), the one-shot /messages and /cancel. */
export const sessionRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const sessions = registry.managed.sessions;
  const streams = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const s of streams) s.abort();
  });

  app.post('/', {
    schema: { tags, summary: 'Create a session', body: SessionCreateBody, response: { 200: R.Session } },
    handler: async (req) => sessions.create(await callerOf(registry, req), req.body),
  });

  app.get('/', {
    schema: { tags, summary: "List the caller's sessions (002's status/cursor and the SDK's statuses[]/page)", querystring: ListQuery, response: { 200: R.SessionList } },
    handler: async (req) => {
      const q = req.query;
      const page = await sessions.list(await callerOf(registry, req), {
        limit: pageLimit(q.limit),
        page: q.page || q.cursor || undefined,
        order: q.order,
        agentId: q.agent_id,
        agentVersion: q.agent_version,
        statuses: list(q.status, q.statuses, q['statuses[]']),
        createdAt: { gt: q['created_at[gt]'], gte: q['created_at[gte]'], lt: q['created_at[lt]'], lte: q['created_at[lte]'] },
        includeArchived: q.include_archived,
      });
      return { data: page.rows, next_page: page.nextPage, prev_page: page.prevPage, has_more: page.nextPage !== null };
    },
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get a session, with usage and stats', params: IdParams, response: { 200: R.Session } },
    handler: async (req) => sessions.get(await callerOf(registry, req), req.params.id),
  });

  for (const method of ['post', 'patch'] as const) {
    app[method]('/:id', {
      schema: { tags, summary: `Update a session's title, metadata, vaults or budget (${method === 'post' ? 'SDK' : '002'})`, params: IdParams, body: SessionUpdateBody, response: { 200: R.Session } },
      handler: async (req) => sessions.update(await callerOf(registry, req), req.params.id, req.body),
    });
  }

  app.post('/:id/archive', {
    schema: { tags, summary: 'Archive a session (409 while it runs)', params: IdParams, response: { 200: R.Session } },
    handler: async (req) => sessions.archive(await callerOf(registry, req), req.params.id),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete a session and its events (409 while it runs)', params: IdParams, response: { 200: R.Deleted('session_deleted') } },
    handler: async (req) => {
      await sessions.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'session_deleted' as const };
    },
  });

  app.post('/:id/cancel', {
    schema: { tags, summary: 'Interrupt a running session (a user.interrupt)', params: IdParams, response: { 200: R.Session } },
    handler: async (req) => sessions.cancel(await callerOf(registry, req), req.params.id),
  });

  app.post('/:id/events', {
    schema: {
      tags,
      summary: 'Send events (user.message, user.interrupt, tool results, confirmations, …); answers them with ids',
      params: IdParams,
      body: EventsBody,
      response: { 200: R.SessionEventsSent },
    },
    handler: async (req) => ({ data: await sessions.send(await callerOf(registry, req), req.params.id, req.body.events) }),
  });

  const streamHandler = async (req: FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>, reply: FastifyReply): Promise<void> => {
    const ctx = await callerOf(registry, req);
    const opts = streamOptionsOf(req);
    await sse(req, reply, (signal) => sessions.openStream(ctx, req.params.id, { ...opts, signal }), streams);
  };

  app.get('/:id/events', {
    schema: {
      tags,
      summary: 'The event history (JSON, both paging styles), or the live stream with Accept: text/event-stream',
      params: IdParams,
      querystring: EventQuery,
      response: { 200: { content: { 'application/json': { schema: R.SessionEventPage }, 'text/event-stream': { schema: R.SessionEventStream } } } },
    },
    handler: async (req, reply) => {
      if (wantsSse(req)) return streamHandler(req as never, reply);
      const q = req.query;
      const page = await sessions.events(await callerOf(registry, req), req.params.id, {
        limit: q.limit ?? 100,
        page: q.page,
        order: q.order,
        afterSeq: q.after_seq,
        types: list(q.types, q['types[]']),
      });
      return { data: page.rows, next_page: page.nextPage, has_more: page.nextPage !== null };
    },
  });

  for (const path of ['/:id/events/stream', '/:id/stream']) {
    app.get(path, {
      schema: {
        tags,
        summary: 'Stream events (SSE): ?event_deltas[]=agent.message, ?include=chunks, ?replay=1 or Last-Event-ID',
        params: IdParams,
        querystring: EventQuery,
        response: { 200: R.EventStreamOnly },
      },
      handler: async (req, reply) => streamHandler(req as never, reply),
    });
  }

  app.get('/:id/log', {
    schema: { tags, summary: 'The whole event log as a JSON array', params: IdParams, response: { 200: Type.Array(R.SessionEvent) } },
    handler: async (req) => sessions.fullLog(await callerOf(registry, req), req.params.id),
  });

  app.post('/:id/messages', {
    schema: { tags, summary: 'Send a user message and stream the turn (SSE) until the session is idle', params: IdParams, body: MessageBody, response: { 200: R.EventStreamOnly } },
    handler: async (req, reply) => {
      const ctx = await callerOf(registry, req);
      await sse(req, reply, (signal) => sessions.sendAndStream(ctx, req.params.id, req.body.content, signal), streams);
    },
  });
};
