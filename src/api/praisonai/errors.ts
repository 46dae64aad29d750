import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../../core/errors.js';
import { errorForRequest } from '../shared/framework-errors.js';

/** PraisonAI's error body (seed 001): `{"error": "...", "code": <status>}`. */
export interface PraisonaiErrorBody {
  error: string;
  code: number;
  [field: string]: unknown;
}

/** The one mapping from the core's error values to this door's shape; details join the message. */
export const praisonaiErrorBody = (e: AgentryError): PraisonaiErrorBody => ({
  ...e.fields,
  error: e.details.length > 0 ? `${e.message}: ${e.details.join('; ')}` : e.message,
  code: e.status,
});

export const praisonaiErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = explainMediaType(errorForRequest(err, request), request);
  void reply.status(mapped.status).type('application/json; charset=utf-8').send(praisonaiErrorBody(mapped));
};

/** Fastify refuses a body it has no parser for before the route runs: say what publish takes. */
const explainMediaType = (e: AgentryError, request: FastifyRequest): AgentryError => {
  if (e.code !== 'unsupported_media_type') return e;
  const sent = request.headers['content-type'];
  return new AgentryError('unsupported_media_type', sent ? `Unsupported Content-Type '${sent}'` : 'Missing Content-Type', [
    'publishing takes application/json {"bundle": "<base64 .praison>", "force": false} or multipart/form-data with a \'bundle\' file and a \'force\' field',
  ]);
};
