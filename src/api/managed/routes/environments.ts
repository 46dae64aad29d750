import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Deleted, Environment, Work, WorkHeartbeat, WorkQueueStats } from '../responses.js';
import { EnvironmentCreateBody, EnvironmentUpdateBody, IdParams, MetadataPatch } from '../schemas.js';
import { environmentJson } from '../views.js';

const tags = ['managed agents'];
const workTags = ['self-hosted work'];
const WorkParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), work_id: Type.String({ minLength: 1, maxLength: 128 }) });

/** `/v1/environments`: CRUD, update by PATCH (002) or POST (SDK), archive (SDK). */
export const environmentRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const envs = registry.managed.environments;

  app.post('/', {
    schema: { tags, summary: 'Create an environment', body: EnvironmentCreateBody, response: { 200: Environment } },
    handler: async (req) => environmentJson(await envs.create(await callerOf(registry, req), req.body)),
  });

  app.get('/', {
    schema: { tags, summary: 'List environments, newest first', querystring: Type.Object({ ...PageQuery, include_archived: Type.Optional(Type.Boolean()) }), response: { 200: ListOf(Environment) } },
    handler: async (req) => listBody(await envs.list(await callerOf(registry, req), { ...pageRequest(req.query), includeArchived: req.query.include_archived }), environmentJson),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get an environment', params: IdParams, response: { 200: Environment } },
    handler: async (req) => environmentJson(await envs.get(await callerOf(registry, req), req.params.id)),
  });

  for (const method of ['patch', 'post'] as const) {
    app[method]('/:id', {
      schema: { tags, summary: `Update an environment (${method === 'patch' ? '002' : 'SDK'})`, params: IdParams, body: EnvironmentUpdateBody, response: { 200: Environment } },
      handler: async (req) => environmentJson(await envs.update(await callerOf(registry, req), req.params.id, req.body)),
    });
  }

  app.post('/:id/archive', {
    schema: { tags, summary: 'Archive an environment (SDK)', params: IdParams, response: { 200: Environment } },
    handler: async (req) => environmentJson(await envs.archive(await callerOf(registry, req), req.params.id)),
  });

  // The work queue of a self-hosted environment (SDK `environments.work`): a worker outside the
  // server authenticates with the environment's key (or its owner's token).
  const work = registry.managed.work;

  app.get('/:id/work/poll', {
    schema: {
      tags: workTags,
      summary: 'Long-poll for the next work item (204 when none arrived within block_ms)',
      params: IdParams,
      querystring: Type.Object({ block_ms: Type.Optional(Type.Integer()), reclaim_older_than_ms: Type.Optional(Type.Integer()) }),
      response: { 200: Work, 204: Type.Null() },
    },
    handler: async (req, reply) => {
      const workerId = req.headers['anthropic-worker-id'];
      const got = await work.poll(await callerOf(registry, req), req.params.id, {
        blockMs: req.query.block_ms,
        reclaimOlderThanMs: req.query.reclaim_older_than_ms,
        workerId: typeof workerId === 'string' ? workerId : undefined,
      });
      if (!got) return reply.status(204).send(null);
      return got;
    },
  });

  app.get('/:id/work/stats', {
    schema: { tags: workTags, summary: "Statistics of the environment's work queue", params: IdParams, response: { 200: WorkQueueStats } },
    handler: async (req) => work.stats(await callerOf(registry, req), req.params.id),
  });

  app.get('/:id/work', {
    schema: { tags: workTags, summary: 'List work items, newest first', params: IdParams, querystring: Type.Object(PageQuery), response: { 200: ListOf(Work) } },
    handler: async (req) => listBody(await work.list(await callerOf(registry, req), req.params.id, pageRequest(req.query)), (w) => w),
  });

  app.get('/:id/work/:work_id', {
    schema: { tags: workTags, summary: 'Get a work item', params: WorkParams, response: { 200: Work } },
    handler: async (req) => work.get(await callerOf(registry, req), req.params.id, req.params.work_id),
  });

  app.post('/:id/work/:work_id', {
    schema: {
      tags: workTags,
      summary: "Update a work item's metadata (merge)",
      params: WorkParams,
      body: Type.Object({ metadata: MetadataPatch }, { additionalProperties: false }),
      response: { 200: Work },
    },
    handler: async (req) => work.update(await callerOf(registry, req), req.params.id, req.params.work_id, req.body.metadata ?? {}),
  });

  app.post('/:id/work/:work_id/ack', {
    schema: { tags: workTags, summary: 'Acknowledge a polled work item (queued → starting); 409 when already acknowledged', params: WorkParams, response: { 200: Work } },
    handler: async (req) => work.ack(await callerOf(registry, req), req.params.id, req.params.work_id),
  });

  app.post('/:id/work/:work_id/heartbeat', {
    schema: {
      tags: workTags,
      summary: "Extend a work item's lease; 412 heartbeat_precondition_failed when expected_last_heartbeat does not match",
      params: WorkParams,
      querystring: Type.Object({ desired_ttl_seconds: Type.Optional(Type.Number()), expected_last_heartbeat: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 200: WorkHeartbeat },
    },
    handler: async (req) =>
      work.heartbeat(await callerOf(registry, req), req.params.id, req.params.work_id, { desiredTtlSeconds: req.query.desired_ttl_seconds, expectedLastHeartbeat: req.query.expected_last_heartbeat }),
  });

  app.post('/:id/work/:work_id/stop', {
    schema: {
      tags: workTags,
      summary: 'Stop a work item: gracefully (stopping) or with force (stopped); 409 when already stopped',
      params: WorkParams,
      body: Type.Optional(Type.Object({ force: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])) }, { additionalProperties: false })),
      response: { 200: Work },
    },
    handler: async (req) => work.stop(await callerOf(registry, req), req.params.id, req.params.work_id, req.body?.force === true),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete an environment (409 while an agent uses it)', params: IdParams, response: { 200: Deleted('environment_deleted') } },
    handler: async (req) => {
      await envs.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'environment_deleted' as const };
    },
  });
};
