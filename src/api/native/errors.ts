import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../../core/errors.js';
import { errorForRequest } from '../shared/framework-errors.js';

/** The native door's error body (agentx's): `{"error": "...", "details": [...]}`. */
export interface NativeErrorBody {
  error: string;
  details?: string[];
  /** The core error's machine-readable fields (a duplicate publish's `existing` version). */
  [field: string]: unknown;
}

/** The native door's one error mapping: status from the error, body in agentx's shape; 5xx logged, never leaked. */
export const nativeErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = explainMediaType(errorForRequest(err, request), request);
  const body: NativeErrorBody = {
    ...mapped.fields,
    ...(mapped.details.length > 0 ? { error: mapped.message, details: mapped.details } : { error: mapped.message }),
  };
  void reply.status(mapped.status).type('application/json; charset=utf-8').send(body);
};

/**
 * Fastify refuses a body it has no parser for (say `application/gzip`) before the route runs,
 * with a bare "Unsupported Media Type": say what was sent and what the route takes instead.
 */
const explainMediaType = (e: AgentryError, request: FastifyRequest): AgentryError => {
  if (e.code !== 'unsupported_media_type' || e.message !== 'Unsupported Content-Type') return e;
  const sent = request.headers['content-type'];
  const publish = request.method === 'PUT' && /\/:scope\/:name$/.test(request.routeOptions?.url ?? '');
  const expected = publish ? "publishing expects multipart/form-data with the package in a 'tarball' file field" : 'this endpoint expects application/json';
  return new AgentryError('unsupported_media_type', sent ? `Unsupported Content-Type '${sent}'` : 'Missing Content-Type', [expected]);
};
