import type { FastifyRequest } from 'fastify';

/** The server's public base URL: the configured one, else what the client used to reach it. */
export const baseUrl = (request: FastifyRequest, publicUrl: string | undefined): string => (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
