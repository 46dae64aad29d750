import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../core/auth/principal.js';
import type { Registry } from '../../core/registry.js';
import { requestContext } from '../shared/request-context.js';

const contexts = new WeakMap<FastifyRequest, RequestContext>();

/**
 * Every route of this door needs a token (`Authorization: Bearer` or `x-api-key`): it is checked
 * before the body is parsed or validated, so a request without a valid one is a 401 whatever it sends.
 */
export const authenticateFirst =
  (registry: Registry) =>
  async (request: FastifyRequest): Promise<void> => {
    // A platform's webhook (integrations) carries no Agentry token: its signature is checked by the core.
    if ((request.routeOptions.config as { signedWebhook?: boolean } | undefined)?.signedWebhook) return;
    const ctx = await requestContext(registry, request);
    registry.policy.requirePrincipal(ctx);
    contexts.set(request, ctx);
  };

/** The caller, as authenticated by `authenticateFirst`. */
export const callerOf = async (registry: Registry, request: FastifyRequest): Promise<RequestContext> => contexts.get(request) ?? requestContext(registry, request);
