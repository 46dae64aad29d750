import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const ids = new WeakMap<FastifyRequest, string>();

/** Every answer of this door carries a `request-id` header (the SDK exposes it as `_request_id`). */
export const assignRequestId = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
  const id = `req_${randomBytes(12).toString('hex')}`;
  ids.set(request, id);
  void reply.header('request-id', id);
};

export const requestIdOf = (request: FastifyRequest): string => {
  const id = ids.get(request) ?? `req_${randomBytes(12).toString('hex')}`;
  ids.set(request, id);
  return id;
};
