import type { FastifyRequest } from 'fastify';

/** The request's id (see shared/request-id.ts): the managed door repeats it in its error bodies. */
export const requestIdOf = (request: FastifyRequest): string => request.id;
