import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RateLimitedError, type RateLimitDecision } from '../../core/rate-limits/rate-limiter.js';
import type { Registry } from '../../core/registry.js';
import { requestContext } from './request-context.js';

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
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    let account: number | undefined;
    try {
      account = (await requestContext(registry, request)).principal?.account.id;
    } catch {
      // An invalid token is refused by the route that needs it; until then it counts as anonymous.
    }
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
