import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RateLimitedError, type RateLimitDecision } from '../../core/rate-limits/rate-limiter.js';
import type { Registry } from '../../core/registry.js';
import { requestContext } from './request-context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `publish`: this route publishes a package, so the per-user publish budget applies too. */
    rateLimit?: 'publish';
  }
}

const setHeaders = (reply: FastifyReply, d: RateLimitDecision): void => {
  void reply.header('x-ratelimit-limit', d.limit).header('x-ratelimit-remaining', d.remaining).header('x-ratelimit-reset', d.resetSeconds);
};

/**
 * Rate limiting for every door, in one hook on the root instance: the caller is counted by
 * account (a valid token) or by IP, `X-RateLimit-Limit/-Remaining/-Reset` go on every response,
 * and a request over budget is refused with 429 and `Retry-After` in the door's own error shape
 * (the error is thrown to the door's error handler). A door marks its publish routes with
 * `config: { rateLimit: 'publish' }`.
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
    const publish = request.routeOptions.config?.rateLimit === 'publish';
    const decision = await limiter.check(account !== undefined ? { account } : { ip: request.ip }, { publish });
    if (!decision) return;
    setHeaders(reply, decision);
    if (!decision.allowed) {
      void reply.header('retry-after', decision.resetSeconds);
      throw new RateLimitedError(decision);
    }
  });
};

export const rateLimitHook = fp(rateLimitPlugin, { name: 'agentry-rate-limit' });
