import type { FastifyError, FastifyRequest } from 'fastify';
import { AgentryError, isAgentryError } from '../../core/errors.js';

/**
 * Turns anything a door's handler throws into an AgentryError, for every door alike.
 * Framework errors (schema validation, body limits, malformed JSON, multipart limits) become
 * AgentryErrors first; anything unexpected is logged and answered with a bare 500.
 */
export const toAgentryError = (err: unknown): AgentryError => {
  if (isAgentryError(err)) return err;
  const e = err as FastifyError & { validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>; validationContext?: string };
  if (e.validation) {
    const where = e.validationContext ?? 'body';
    const details = e.validation.map((v) => {
      const missing = v.params?.missingProperty;
      if (missing) return `${where}: missing required field '${String(missing)}'`;
      const allowed = v.params?.allowedValues;
      if (Array.isArray(allowed)) {
        const path = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
        return `${where}${path ? `.${path}` : ''}: must be one of ${allowed.join(', ')}`;
      }
      const extra = v.params?.additionalProperty;
      if (extra) return `${where}: unknown field '${String(extra)}'`;
      const path = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      return `${where}${path ? `.${path}` : ''}: ${v.message ?? 'is invalid'}`;
    });
    return new AgentryError('validation_failed', 'Validation failed', details);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AgentryError('payload_too_large', 'Request body is too large', [e.message]);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AgentryError('uri_too_long', 'A path segment of the URL is too long', ['path segments (scope, name, version) are at most 100 characters']);
    case 'FST_ERR_BAD_URL':
      return new AgentryError('bad_request', 'The URL is malformed', ['the path holds an invalid percent-encoding']);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AgentryError('unsupported_media_type', 'Unsupported Content-Type', [e.message]);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AgentryError('bad_request', 'Request body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AgentryError('bad_request', 'Request body does not match its Content-Length');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AgentryError('unsupported_media_type', 'This endpoint expects multipart/form-data');
  }
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AgentryError('bad_request', 'Malformed JSON in request body', [e.message]);
  }
  const multipartProblem = e.code === undefined ? malformedMultipart(e.message) : undefined;
  if (multipartProblem) return new AgentryError('bad_request', 'Malformed multipart/form-data body', [multipartProblem]);
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return new AgentryError('payload_too_large', 'Request body is too large', [e.message]);
  if (status >= 400 && status < 500) return new AgentryError('bad_request', e.message || 'Bad request');
  return new AgentryError('internal', 'Internal server error');
};

/**
 * What every door answers for anything thrown while serving a request, and the one logging rule.
 * An unexpected error (anything but an AgentryError of a known kind) is logged at error level with
 * its stack and answered as a bare 500 that names the request id (also in the `request-id` header)
 * and nothing internal. A deliberate 5xx (an upstream failed, a feature is not configured) is not a
 * defect: it is logged without a stack, at warn (debug for `not_implemented`).
 */
export const errorForRequest = (err: unknown, request: FastifyRequest): AgentryError => {
  const mapped = toAgentryError(err);
  if (mapped.code === 'internal') {
    request.log.error({ err }, 'unhandled error');
    return new AgentryError('internal', `Internal server error (request id ${request.id})`);
  }
  if (mapped.status >= 500) request.log[mapped.code === 'not_implemented' ? 'debug' : 'warn']({ code: mapped.code, status: mapped.status }, mapped.message);
  return mapped;
};

/**
 * busboy (inside @fastify/multipart) reports a malformed multipart body with plain Errors that
 * carry neither a code nor a status; recognise them by message, or they would surface as 500s.
 */
const malformedMultipart = (message: string | undefined): string | undefined => {
  if (message === 'Multipart: Boundary not found') return "the Content-Type header has no 'boundary' parameter";
  if (message === 'The needle cannot have a length bigger than 256.') return 'the multipart boundary is too long';
  if (message === 'Unexpected end of multipart data' || /^(Preamble|Part) terminated early due to unexpected end of multipart data$/.test(message ?? '')) {
    return 'the body ends before its closing multipart boundary';
  }
  return undefined;
};
