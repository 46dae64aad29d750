import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestContext } from '../../shared/request-context.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, PageQuery, pageRequest } from '../paging.js';
import { EnvironmentCreateBody, EnvironmentUpdateBody, IdParams } from '../schemas.js';
import { environmentJson } from '../views.js';

const tags = ['managed agents'];

/** `/v1/environments`: CRUD, update by PATCH (002) or POST (SDK), archive (SDK). */
export const environmentRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const envs = registry.managed.environments;

  app.post('/', {
    schema: { tags, summary: 'Create an environment', body: EnvironmentCreateBody },
    handler: async (req) => environmentJson(await envs.create(await requestContext(registry, req), req.body)),
  });

  app.get('/', {
    schema: { tags, summary: 'List environments, newest first', querystring: Type.Object({ ...PageQuery, include_archived: Type.Optional(Type.Boolean()) }) },
    handler: async (req) =>
      listBody(await envs.list(await requestContext(registry, req), { ...pageRequest(req.query), includeArchived: req.query.include_archived }), environmentJson),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get an environment', params: IdParams },
    handler: async (req) => environmentJson(await envs.get(await requestContext(registry, req), req.params.id)),
  });

  for (const method of ['patch', 'post'] as const) {
    app[method]('/:id', {
      schema: { tags, summary: `Update an environment (${method === 'patch' ? '002' : 'SDK'})`, params: IdParams, body: EnvironmentUpdateBody },
      handler: async (req) => environmentJson(await envs.update(await requestContext(registry, req), req.params.id, req.body)),
    });
  }

  app.post('/:id/archive', {
    schema: { tags, summary: 'Archive an environment (SDK)', params: IdParams },
    handler: async (req) => environmentJson(await envs.archive(await requestContext(registry, req), req.params.id)),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete an environment (409 while an agent uses it)', params: IdParams },
    handler: async (req) => {
      await envs.delete(await requestContext(registry, req), req.params.id);
      return { id: req.params.id, type: 'environment_deleted' };
    },
  });
};
