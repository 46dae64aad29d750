import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAgentryError } from '../shared/framework-errors.js';

/** The native door's error body (agentx's): `{"error": "...", "details": [...]}`. */
export interface NativeErrorBody {
  error: string;
  details?: string[];
}

/** The native door's one error mapping: status from the error, body in agentx's shape; 5xx logged, never leaked. */
export const nativeErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = toAgentryError(err);
  if (mapped.status >= 500) request.log.error({ err }, 'unhandled error');
  const body: NativeErrorBody = mapped.details.length > 0 ? { error: mapped.message, details: mapped.details } : { error: mapped.message };
  void reply.status(mapped.status).type('application/json; charset=utf-8').send(body);
};
