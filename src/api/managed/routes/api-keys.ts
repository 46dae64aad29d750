import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { pageOfArray } from '../../../core/managed/page-token.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { ApiKey, CreatedApiKey, Deleted } from '../responses.js';
import { ApiKeyCreateBody, IdParams } from '../schemas.js';
import { apiKeyJson } from '../views.js';

const tags = ['managed agents'];

/** `/v1/api_keys` (002): the core's tokens; the key is in the create answer only. */
export const apiKeyRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const keys = registry.managed.apiKeys;

  app.get('/', {
    schema: { tags, summary: 'List your API keys (never the key itself)', querystring: Type.Object(PageQuery), response: { 200: ListOf(ApiKey) } },
    handler: async (req) => listBody(pageOfArray(await keys.list(await callerOf(registry, req)), pageRequest(req.query)), apiKeyJson),
  });

  app.post('/', {
    schema: { tags, summary: 'Create an API key; the key is shown only in this answer', body: ApiKeyCreateBody, response: { 200: CreatedApiKey } },
    handler: async (req) => {
      const created = await keys.create(await callerOf(registry, req), req.body);
      return { ...apiKeyJson(created.view), key: created.key };
    },
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Revoke an API key (at once)', params: IdParams, response: { 200: Deleted('api_key_deleted') } },
    handler: async (req) => {
      await keys.revoke(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'api_key_deleted' as const };
    },
  });
};
