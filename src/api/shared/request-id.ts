import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/**
 * One request id per request, for every door: Fastify's `genReqId` makes it (so it is also the
 * `reqId` of every log line of the request), and every answer carries it as `request-id`.
 * Anthropic's SDK reads the header as `_request_id`; the managed door also puts it in error bodies.
 */
export const newRequestId = (): string => {
  // 12 random bytes an id, cut from a pool filled 512 ids at a time: one call into the RNG per 512 requests.
  if (poolAt >= pool.length) {
    pool = randomBytes(12 * 512);
    poolAt = 0;
  }
  const id = pool.toString('hex', poolAt, poolAt + 12);
  poolAt += 12;
  return `req_${id}`;
};
let pool = Buffer.alloc(0);
let poolAt = 0;

/**
 * `onRequest` hook on the root instance: the header goes on every answer, errors and 404s included.
 * Synchronous, like the other root guards: every request runs them, and a callback hook costs no promise.
 */
export const sendRequestId = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
  void reply.header('request-id', request.id);
  done();
};

/**
 * Takes the answer out of Fastify's hands (`reply.hijack()`) for a handler that writes to the socket
 * itself (an SDK transport, a stream): headers set on the reply are not sent then, so the request id
 * goes onto the raw response here, where whatever writes the head keeps it.
 */
export const hijackWithRequestId = (reply: FastifyReply): FastifyReply['raw'] => {
  reply.hijack();
  if (!reply.raw.headersSent) reply.raw.setHeader('request-id', reply.request.id);
  return reply.raw;
};
