import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../../core/errors.js';
import { errorForRequest } from '../shared/framework-errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The request's only problem is a `limit` below its minimum or above its maximum. */
const limitOutOfRange = (err: unknown): boolean => {
  const v = (err as { validation?: { keyword?: string; instancePath?: string }[] }).validation;
  return Array.isArray(v) && v.length > 0 && v.every((x) => (x.keyword === 'minimum' || x.keyword === 'maximum') && x.instancePath === '/limit');
};

/**
 * The MCP door's one error mapping: problem+json (`title`, `status`, `detail`, `errors`). A
 * server.json that breaks the schema (the core's `validation_failed`) is 422, as in the official
 * registry, and so is a `limit` out of range; other bad query parameters and path segments are 400.
 * 5xx are logged, never leaked.
 */
export const mcpErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  let e = errorForRequest(err, request);
  const context = (err as { validationContext?: string }).validationContext;
  if (e.code === 'validation_failed' && context !== undefined && context !== 'body') {
    // A well-formed `limit` outside 1-100 is 422, as the official registry answers it; other bad parameters stay 400.
    e = new AgentryError(limitOutOfRange(err) ? 'unprocessable' : 'bad_request', 'Invalid request parameters', e.details);
  }
  if (e.code === 'unsupported_media_type') e = new AgentryError(e.code, e.message, ['this endpoint expects application/json']);
  const status = e.code === 'validation_failed' ? 422 : e.status;
  const detail = e.details.length > 0 ? `${e.message}: ${e.details.join('; ')}` : e.message;
  const body = { ...e.fields, title: TITLES[status] ?? 'Error', status, detail, ...(e.details.length > 0 ? { errors: e.details.map((message) => ({ message })) } : {}) };
  void reply.status(status).type('application/problem+json').send(body);
};

export const mcpNotFound = (request: FastifyRequest, reply: FastifyReply): void =>
  mcpErrorHandler(new AgentryError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`), request, reply);
