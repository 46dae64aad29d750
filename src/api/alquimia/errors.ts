import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorForRequest } from '../shared/framework-errors.js';

/** Alquimia's runtime is FastAPI: errors are `{"detail": "..."}`; Agentry adds `errors`, one line per problem. */
export interface AlquimiaErrorBody {
  detail: string;
  errors?: string[];
  [field: string]: unknown;
}

/** The Alquimia door's one error mapping; 5xx are logged (without request bodies) and never leaked. */
export const alquimiaErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = errorForRequest(err, request);
  const body: AlquimiaErrorBody = { ...mapped.fields, ...(mapped.details.length > 0 ? { detail: mapped.message, errors: mapped.details } : { detail: mapped.message }) };
  void reply.status(mapped.status).type('application/json; charset=utf-8').send(body);
};
