import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * One request id per request, for every door: Fastify's `genReqId` makes it (so it is also the
 * `reqId` of every log line of the request), and every answer carries it as `request-id`.
 * Anthropic's SDK reads the header as `_request_id`; the managed door also puts it in error bodies.
 */
export const newRequestId = (): string => `req_${randomBytes(12).toString('hex')}`;

/** `onRequest` hook on the root instance: the header goes on every answer, errors and 404s included. */
export const sendRequestId = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
  void reply.header('request-id', request.id);
};
