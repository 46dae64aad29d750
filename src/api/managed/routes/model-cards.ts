import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { ModelCardView } from '../../../core/managed/model-cards/model-card-service.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Deleted, ModelCard, ModelCardKey } from '../responses.js';
import { IdParams, ModelCardCreateBody, ModelCardRotateBody } from '../schemas.js';

const tags = ['managed agents'];

/** A model card as lists and reads show it: the key only as its last 4 characters. */
export const cardJson = (c: ModelCardView) => ({
  type: 'model_card' as const,
  id: c.id,
  model_id: c.modelId,
  provider: c.provider,
  model: c.model,
  base_url: c.baseUrl,
  custom_header_names: c.customHeaderNames,
  api_key_last4: c.keyLast4,
  api_key_preview: `…${c.keyLast4}`,
  list_price: c.listPrice,
  probed_at: c.probedAt,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
});

/** `/v1/model_cards` (002): per-account LLM credentials, probed on create and rotate. */
export const modelCardRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const cards = registry.managed.modelCards;
  const input = (b: Static<typeof ModelCardRotateBody>) => ({
    modelId: b.model_id,
    provider: b.provider,
    model: b.model,
    baseUrl: b.base_url,
    customHeaders: b.custom_headers,
    apiKey: b.api_key,
    listPrice: b.list_price,
  });

  app.get('/', {
    schema: { tags, summary: 'List model cards (keys as their last 4 characters)', querystring: Type.Object(PageQuery), response: { 200: ListOf(ModelCard) } },
    handler: async (req) => listBody(await cards.list(await callerOf(registry, req), pageRequest(req.query)), cardJson),
  });

  app.post('/', {
    schema: { tags, summary: 'Add a model card; a 6-second capability probe checks the key and URL first', body: ModelCardCreateBody, response: { 200: ModelCard } },
    handler: async (req) => cardJson(await cards.create(await callerOf(registry, req), input(req.body))),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get a model card', params: IdParams, response: { 200: ModelCard } },
    handler: async (req) => cardJson(await cards.get(await callerOf(registry, req), req.params.id)),
  });

  app.post('/:id', {
    schema: { tags, summary: 'Rotate the key, base URL, headers or default model (probed first)', params: IdParams, body: ModelCardRotateBody, response: { 200: ModelCard } },
    handler: async (req) => cardJson(await cards.rotate(await callerOf(registry, req), req.params.id, input(req.body))),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete a model card and its key', params: IdParams, response: { 200: Deleted('model_card_deleted') } },
    handler: async (req) => {
      await cards.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'model_card_deleted' as const };
    },
  });

  app.get('/:id/key', {
    schema: { tags, summary: "The card's cleartext credentials (runtime tokens only)", params: IdParams, response: { 200: ModelCardKey } },
    handler: async (req, reply) => {
      const c = await cards.credentials(await callerOf(registry, req), req.params.id);
      void reply.header('cache-control', 'no-store');
      return { ...cardJson(c.card), api_key: c.apiKey, custom_headers: c.customHeaders };
    },
  });
};
