import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notImplemented } from '../../../core/errors.js';
import { DOMAIN_EVENT_TYPES } from '../../../core/events/domain-events.js';
import type { OwnerKind, WebhookService } from '../../../core/webhooks/webhook-service.js';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const EventName = Type.String({ minLength: 1, maxLength: 100, description: `One of ${DOMAIN_EVENT_TYPES.join(', ')}` });

const WebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2000, description: 'Where deliveries are POSTed (http or https; private addresses only when allow-listed)' }),
    events: Type.Array(EventName, { minItems: 1, maxItems: DOMAIN_EVENT_TYPES.length * 2 }),
    secret: Type.String({ minLength: 1, maxLength: 256, description: 'Signs every delivery (X-Agentry-Signature); write-only, never answered' }),
  },
  { additionalProperties: false },
);

const WebhookView = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  created_at: Type.String(),
});

const DeliveryView = Type.Object({
  id: Type.String({ description: 'The X-Agentry-Delivery uuid' }),
  webhook_id: Type.String(),
  event: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  response_code: Type.Union([Type.Integer(), Type.Null()]),
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  response_body: Type.Union([Type.String(), Type.Null()], { description: "The start of the last answer's body, or why there was none" }),
  replay_of: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const Name = Type.String({ minLength: 1, maxLength: 40 });
const HookId = Type.String({ minLength: 1, maxLength: 64 });
const DeliveryId = Type.String({ minLength: 1, maxLength: 64 });
const DeliveriesQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) });

/**
 * Webhooks of an org (`/orgs/:org/webhooks`) and of a user (`/users/:username/webhooks`): the same
 * routes, managed by the org's owners (or the user) and administrators.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  const service = (): WebhookService => {
    if (!registry.webhooks) throw notImplemented('Webhooks are not offered by this server');
    return registry.webhooks;
  };
  const owners: Array<{ kind: OwnerKind; prefix: string; param: 'org' | 'username' }> = [
    { kind: 'org', prefix: '/orgs/:org', param: 'org' },
    { kind: 'user', prefix: '/users/:username', param: 'username' },
  ];
  for (const { kind, prefix, param } of owners) {
    const Owner = Type.Object({ [param]: Name });
    const OwnerHook = Type.Object({ [param]: Name, id: HookId });
    const OwnerDelivery = Type.Object({ [param]: Name, id: HookId, delivery: DeliveryId });
    const nameOf = (p: Record<string, string>): string => p[param]!;
    const who = kind === 'org' ? 'an org (its owners, or an administrator)' : 'a user (the user, or an administrator)';

    app.post(`${prefix}/webhooks`, {
      schema: { tags: ['webhooks'], summary: `Add a webhook of ${who}`, params: Owner, body: WebhookBody, response: { 201: WebhookView, ...errorResponses } },
      validatorCompiler: strictValidatorCompiler,
      handler: async (req, reply) => {
        const ctx = await requestContext(registry, req);
        return reply.status(201).send(await service().create(ctx, kind, nameOf(req.params), req.body));
      },
    });

    app.get(`${prefix}/webhooks`, {
      schema: { tags: ['webhooks'], summary: `The webhooks of ${who}`, params: Owner, response: { 200: Type.Object({ webhooks: Type.Array(WebhookView) }), ...errorResponses } },
      handler: async (req) => ({ webhooks: await service().list(await requestContext(registry, req), kind, nameOf(req.params)) }),
    });

    app.delete(`${prefix}/webhooks/:id`, {
      schema: { tags: ['webhooks'], summary: 'Delete a webhook (and its delivery log)', params: OwnerHook, response: { 200: Type.Object({ success: Type.Boolean() }), ...errorResponses } },
      handler: async (req) => {
        await service().delete(await requestContext(registry, req), kind, nameOf(req.params), req.params.id);
        return { success: true };
      },
    });

    app.get(`${prefix}/webhooks/:id/deliveries`, {
      schema: {
        tags: ['webhooks'],
        summary: "A webhook's deliveries, newest first",
        params: OwnerHook,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }), ...errorResponses },
      },
      handler: async (req) => ({ deliveries: await service().deliveries(await requestContext(registry, req), kind, nameOf(req.params), req.params.id, req.query.limit ?? 50) }),
    });

    app.post(`${prefix}/webhooks/:id/deliveries/:delivery/replay`, {
      schema: { tags: ['webhooks'], summary: 'Send a delivery again (a new delivery with the same body)', params: OwnerDelivery, response: { 202: DeliveryView, ...errorResponses } },
      handler: async (req, reply) => {
        const ctx = await requestContext(registry, req);
        return reply.status(202).send(await service().replay(ctx, kind, nameOf(req.params), req.params.id, req.params.delivery));
      },
    });
  }
};
