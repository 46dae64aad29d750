import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AgentryError, ErrorCode } from '../../core/errors.js';
import { errorForRequest } from '../shared/framework-errors.js';
import { requestIdOf } from './request-id.js';

/**
 * The managed-agents door's error body, as Anthropic's API and its SDK expect it:
 * `{"type":"error","error":{"type":…,"message":…},"request_id":…}`.
 */
export interface ManagedErrorBody {
  type: 'error';
  error: { type: string; message: string; details?: { problems: string[] }; [field: string]: unknown };
  request_id: string;
}

const TYPE: Record<ErrorCode, string> = {
  bad_request: 'invalid_request_error',
  validation_failed: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  conflict: 'conflict_error',
  precondition_failed: 'invalid_request_error',
  unprocessable: 'invalid_request_error',
  payload_too_large: 'request_too_large',
  uri_too_long: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  rate_limited: 'rate_limit_error',
  read_only: 'permission_error',
  not_implemented: 'api_error',
  bad_gateway: 'api_error',
  unavailable: 'api_error',
  internal: 'api_error',
};

/** The SDK's error type for a core error code (anything unknown is an api_error). */
export const errorType = (code: string): string => (TYPE as Record<string, string>)[code] ?? 'api_error';

export const errorBody = (e: AgentryError, requestId: string): ManagedErrorBody => ({
  type: 'error',
  error: {
    ...e.fields,
    type: errorType(e.code),
    message: e.details.length > 0 ? `${e.message}: ${e.details.join('; ')}` : e.message,
    ...(e.details.length > 0 ? { details: { problems: e.details } } : {}),
  },
  request_id: requestId,
});

/** The door's one error mapping. A client error is final, so the SDK is told not to retry it. */
export const managedErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = errorForRequest(err, request);
  if (mapped.status < 500 && mapped.status !== 408 && mapped.status !== 429) void reply.header('x-should-retry', 'false');
  const requestId = requestIdOf(request);
  if (!reply.hasHeader('request-id')) void reply.header('request-id', requestId);
  void reply.status(mapped.status).type('application/json').send(errorBody(mapped, requestId));
};
