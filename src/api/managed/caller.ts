import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../core/auth/principal.js';
import type { Registry } from '../../core/registry.js';
import { looksLikeEnvironmentKey } from '../../core/managed/environments/environment-service.js';
import { forbidden } from '../../core/errors.js';
import { presentedToken, requestContext } from '../shared/request-context.js';

const contexts = new WeakMap<FastifyRequest, RequestContext>();

/**
 * Every route of this door needs a token (`Authorization: Bearer` or `x-api-key`): it is checked
 * before the body is parsed or validated, so a request without a valid one is a 401 whatever it sends.
 */
/**
 * What a self-hosted environment's key may reach: its work queue (as a worker calls it) and the
 * sessions of its environment (retrieve, events, stream, send); the core checks the environment.
 */
const ENVIRONMENT_KEY_ROUTES = new Set([
  'GET /v1/environments/:id/work/poll',
  'GET /v1/environments/:id/work',
  'POST /v1/environments/:id/work/:work_id/ack',
  'POST /v1/environments/:id/work/:work_id/heartbeat',
  'POST /v1/environments/:id/work/:work_id/stop',
  'GET /v1/sessions/:id',
  'GET /v1/sessions/:id/events',
  'POST /v1/sessions/:id/events',
  'GET /v1/sessions/:id/events/stream',
  'GET /v1/sessions/:id/stream',
]);

export const authenticateFirst =
  (registry: Registry) =>
  async (request: FastifyRequest): Promise<void> => {
    // Console sign-in is how a caller gets a token: it takes none.
    if ((request.routeOptions.url ?? '').startsWith('/v1/oauth/')) return;
    const secret = presentedToken(request);
    if (secret !== undefined && looksLikeEnvironmentKey(secret)) {
      const keyed = await registry.managed.environments.authenticateKey(secret, request.ip ?? null);
      if (!ENVIRONMENT_KEY_ROUTES.has(`${request.method} ${request.routeOptions.url ?? ''}`)) {
        throw forbidden("An environment key only reaches its environment's work queue and the sessions running in it");
      }
      contexts.set(request, keyed);
      return;
    }
    // A platform's webhook (integrations) carries no Agentry token: its signature is checked by the core.
    if ((request.routeOptions.config as { signedWebhook?: boolean } | undefined)?.signedWebhook) return;
    const ctx = await requestContext(registry, request);
    registry.policy.requirePrincipal(ctx);
    contexts.set(request, ctx);
  };

/** The caller, as authenticated by `authenticateFirst`. */
export const callerOf = async (registry: Registry, request: FastifyRequest): Promise<RequestContext> => contexts.get(request) ?? requestContext(registry, request);
