import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { pageLimit } from '../../../core/managed/page-token.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import * as R from '../responses.js';
import { Nullable, Open } from '../responses.js';
import { list, sse, streamOptionsOf, Strings, wantsSse } from './sessions.js';

const tags = ['sessions'];

const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const ThreadParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), tid: Type.String({ minLength: 1, maxLength: 128 }) });

/** A thread of a session (the SDK's `BetaManagedAgentsSessionThread`). */
export const SessionThread = Type.Object(
  {
    type: Type.Literal('session_thread'),
    id: Type.String(),
    session_id: Type.String(),
    parent_thread_id: Nullable(Type.String()),
    agent: Open,
    status: Type.Union([Type.Literal('idle'), Type.Literal('running'), Type.Literal('rescheduling'), Type.Literal('terminated')]),
    usage: Type.Union([Open, Type.Null()]),
    stats: Type.Union([Type.Object({ active_seconds: Type.Number(), duration_seconds: Type.Number(), startup_seconds: Type.Number() }), Type.Null()]),
    workflow_run_id: Type.Null(),
    created_at: Type.String(),
    updated_at: Type.String(),
    archived_at: Nullable(Type.String()),
  },
  { additionalProperties: true },
);

const ThreadList = Type.Object({ data: Type.Array(SessionThread), next_page: Nullable(Type.String()), has_more: Type.Boolean() });

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  page: Type.Optional(Type.String({ maxLength: 500 })),
  statuses: Type.Optional(Strings),
  'statuses[]': Type.Optional(Strings),
});

const EventQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Events per page (default 100)' })),
  page: Type.Optional(Type.String({ maxLength: 500 })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  include: Type.Optional(Type.String({ maxLength: 100, description: '`chunks`: extension events besides the spec union (SSE)' })),
  replay: Type.Optional(Type.String({ maxLength: 10, description: '`1`: replay the thread before tailing (SSE)' })),
  event_deltas: Type.Optional(Strings),
  'event_deltas[]': Type.Optional(Strings),
});

/**
 * `/v1/sessions/:id/threads` (mounted there, so `:id` comes from the prefix): the threads of a multi-agent session (the primary thread and the
 * threads its coordinator spawned), each one's events as JSON pages and as a live SSE stream.
 */
export const threadRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const threads = registry.managed.threads;
  const streams = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const s of streams) s.abort();
  });

  app.get('/', {
    schema: { tags, summary: "List a session's threads: the primary thread first, then those it spawned", params: SessionParams, querystring: ListQuery, response: { 200: ThreadList } },
    handler: async (req) => {
      const q = req.query;
      const page = await threads.list(await callerOf(registry, req), req.params.id, { limit: pageLimit(q.limit), page: q.page, statuses: list(q.statuses, q['statuses[]']) });
      return { data: page.rows, next_page: page.nextPage, has_more: page.nextPage !== null };
    },
  });

  app.get('/:tid', {
    schema: { tags, summary: 'Get a thread of a session, with its agent, status, usage and stats', params: ThreadParams, response: { 200: SessionThread } },
    handler: async (req) => threads.get(await callerOf(registry, req), req.params.id, req.params.tid),
  });

  app.post('/:tid/archive', {
    schema: { tags, summary: 'Archive a thread (409 while it runs; the primary thread is archived with its session)', params: ThreadParams, response: { 200: SessionThread } },
    handler: async (req) => threads.archive(await callerOf(registry, req), req.params.id, req.params.tid),
  });

  const streamHandler = async (req: FastifyRequest<{ Params: { id: string; tid: string } }>, reply: FastifyReply): Promise<void> => {
    const ctx = await callerOf(registry, req);
    const opts = streamOptionsOf(req);
    await sse(req, reply, (signal) => threads.openStream(ctx, req.params.id, req.params.tid, { ...opts, signal }), streams);
  };

  app.get('/:tid/events', {
    schema: {
      tags,
      summary: "A thread's events (JSON pages), or its live stream with Accept: text/event-stream",
      params: ThreadParams,
      querystring: EventQuery,
      response: { 200: { content: { 'application/json': { schema: R.SessionEventPage }, 'text/event-stream': { schema: R.SessionEventStream } } } },
    },
    handler: async (req, reply) => {
      if (wantsSse(req)) return streamHandler(req as never, reply);
      const q = req.query;
      const page = await threads.events(await callerOf(registry, req), req.params.id, req.params.tid, { limit: q.limit ?? 100, page: q.page, order: q.order });
      return { data: page.rows, next_page: page.nextPage, has_more: page.nextPage !== null };
    },
  });

  for (const path of ['/:tid/stream', '/:tid/events/stream']) {
    app.get(path, {
      schema: {
        tags,
        summary: "Stream a thread's events (SSE): ?event_deltas[]=agent.message, ?replay=1 or Last-Event-ID",
        params: ThreadParams,
        querystring: EventQuery,
        response: { 200: R.EventStreamOnly },
      },
      handler: async (req, reply) => streamHandler(req as never, reply),
    });
  }
};
