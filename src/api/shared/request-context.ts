import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../core/auth/principal.js';
import type { Registry } from '../../core/registry.js';
import { mirrorViaOf } from './mirror-via.js';

/**
 * The token a request presents: `Authorization: Bearer <token>` or `x-api-key: <token>`
 * (the seeds' clients use both). Returns undefined when none is sent.
 */
export const presentedToken = (request: FastifyRequest): string | undefined => {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.length > 0) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : auth.trim();
  }
  const key = request.headers['x-api-key'];
  if (typeof key === 'string' && key.length > 0) return key.trim();
  return undefined;
};

/**
 * One authentication per request, however many hooks and handlers ask (the rate limiter asks
 * first): the answer is kept on the request under a symbol. A WeakMap cost every request an
 * ephemeron entry to add, look up and collect (about 2% of an uncached package read's CPU).
 */
const CONTEXT = Symbol('agentry.requestContext');
type WithContext = FastifyRequest & { [CONTEXT]?: Promise<RequestContext> };

/** Who is calling: anonymous without a token; a token that is sent must be valid (else 401). */
export const requestContext = (registry: Registry, request: FastifyRequest): Promise<RequestContext> => {
  const r = request as WithContext;
  let ctx = r[CONTEXT];
  if (!ctx) {
    const secret = presentedToken(request);
    // Anonymous: no authentication to wait for, so no async function (and its promise machinery).
    ctx =
      secret === undefined
        ? Promise.resolve({ principal: null, ip: request.ip ?? null, ...mirrorViaOf(request) })
        : (async () => ({ principal: await registry.tokens.authenticate(secret), ip: request.ip ?? null, ...mirrorViaOf(request) }))();
    // Whoever awaits it sees the refusal; the memo itself must not count as an unhandled rejection.
    ctx.catch(() => undefined);
    r[CONTEXT] = ctx;
  }
  return ctx;
};
