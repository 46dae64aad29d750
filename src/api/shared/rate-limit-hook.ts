import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RateLimitedError, type RateLimitDecision } from '../../core/rate-limits/rate-limiter.js';
import type { Registry } from '../../core/registry.js';
import { requestContext } from './request-context.js';

/**
 * The account behind whatever credentials a request carries, as the doors accept them: an Agentry
 * token (`Bearer`, `x-api-key`), HTTP Basic with a token as the password (OCI clients), or a
 * registry token from the OCI token endpoint. Invalid or absent credentials: undefined, so the
 * request counts against its IP (the route that needs them refuses them itself).
 */
const callerAccount = async (registry: Registry, request: FastifyRequest): Promise<number | undefined> => {
  try {
    const auth = request.headers.authorization;
    if (typeof auth === 'string') {
      const basic = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(auth);
      if (basic) {
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        return colon < 0 ? undefined : (await registry.tokens.authenticate(decoded.slice(colon + 1))).account.id;
      }
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (bearer && registry.oci.tokens.isRegistryToken(bearer[1])) return (await registry.oci.tokens.verify(bearer[1], request.ip)).principal?.account.id;
    }
    return (await requestContext(registry, request)).principal?.account.id;
  } catch {
    return undefined;
  }
};

/** The probes an orchestrator or load balancer calls every few seconds: never counted, never refused. */
const PROBES = new Set(['/healthz', '/livez', '/readyz', '/metrics']);

const setHeaders = (reply: FastifyReply, d: RateLimitDecision): void => {
  void reply.header('x-ratelimit-limit', d.limit).header('x-ratelimit-remaining', d.remaining).header('x-ratelimit-reset', d.resetSeconds);
};

/**
 * Rate limiting for every door, in one plugin on the root instance: each request is counted by
 * account (a valid token) or by IP, and `X-RateLimit-Limit/-Remaining/-Reset` go on every
 * response. A request over budget, or a publish over the publish budget (which the core checks
 * on every publish, whichever door it comes through), is refused with 429 and `Retry-After`, in
 * the door's own error shape: the error goes to the door's error handler like any other.
 */
const rateLimitPlugin: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  const limiter = registry.rateLimiter;
  if (!limiter) return;
  // With request limits off (only the publish budget counts) no request runs the hook at all:
  // an async hook costs every request a promise and a turn of the microtask queue.
  const requestsLimited = limiter.rules.anonymous !== null || limiter.rules.user !== null;
  if (requestsLimited)
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (PROBES.has(request.url.split('?')[0])) return;
      const account = await callerAccount(registry, request);
      const decision = await limiter.check(account !== undefined ? { account } : { ip: request.ip });
      if (!decision) return;
      setHeaders(reply, decision);
      if (!decision.allowed) throw new RateLimitedError(decision);
    });
  app.addHook('onError', async (_request, reply, error) => {
    if (!(error instanceof RateLimitedError)) return;
    setHeaders(reply, error.decision);
    void reply.header('retry-after', error.decision.resetSeconds);
  });
};

export const rateLimitHook = fp(rateLimitPlugin, { name: 'agentry-rate-limit' });
