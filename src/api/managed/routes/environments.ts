import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Deleted, Environment } from '../responses.js';
import { EnvironmentCreateBody, EnvironmentUpdateBody, IdParams } from '../schemas.js';
import { environmentJson } from '../views.js';

const tags = ['managed agents'];

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

  app.delete('/:id', {
    schema: { tags, summary: 'Delete an environment (409 while an agent uses it)', params: IdParams, response: { 200: Deleted('environment_deleted') } },
    handler: async (req) => {
      await envs.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'environment_deleted' as const };
    },
  });
};
