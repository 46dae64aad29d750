/**
 * Errors are values: a stable machine `code`, an HTTP-like `status`, a human `message`
 * and optional `details` (one line per problem). Every door maps them to its own wire shape
 * in one place; nothing else in the codebase builds error responses.
 *
 * @example
 *   throw notFound('Agent not found');
 */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'precondition_failed'
  | 'unprocessable'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'read_only'
  | 'not_implemented'
  | 'unavailable'
  | 'bad_gateway'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  unprocessable: 422,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  rate_limited: 429,
  read_only: 403,
  not_implemented: 501,
  unavailable: 503,
  bad_gateway: 502,
  internal: 500,
};

export class AgentryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: string[];
  /** Machine-readable facts a door adds to its error body as they are (a 409's `existing` version). */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: string[] = [], fields: Record<string, unknown> = {}) {
    super(message);
    this.name = 'AgentryError';
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
    this.fields = fields;
  }
}

export const isAgentryError = (e: unknown): e is AgentryError => e instanceof AgentryError;

export const badRequest = (message: string, details: string[] = []) => new AgentryError('bad_request', message, details);
export const validationFailed = (details: string[], message = 'Validation failed') => new AgentryError('validation_failed', message, details);
export const unauthorized = (message = 'Authentication required') => new AgentryError('unauthorized', message);
export const forbidden = (message: string) => new AgentryError('forbidden', message);
export const notFound = (message: string) => new AgentryError('not_found', message);
export const conflict = (message: string, fields: Record<string, unknown> = {}) => new AgentryError('conflict', message, [], fields);
/** A condition the request set does not hold (a heartbeat's expected_last_heartbeat); `fields` carry the current state. */
export const preconditionFailed = (message: string, fields: Record<string, unknown> = {}) => new AgentryError('precondition_failed', message, [], fields);
/** The request is well-formed but cannot be carried out as asked (an Idempotency-Key reused for other bytes). */
export const unprocessable = (message: string, details: string[] = []) => new AgentryError('unprocessable', message, details);
export const payloadTooLarge = (message: string) => new AgentryError('payload_too_large', message);
export const readOnly = (message = 'This registry is read-only: it serves reads and refuses every write') => new AgentryError('read_only', message);
/** The resource exists but does not take this operation (a read-only secret backend asked to write). */
export const methodNotAllowed = (message: string, details: string[] = []) => new AgentryError('method_not_allowed', message, details);
export const notImplemented = (message: string) => new AgentryError('not_implemented', message);
/** An upstream service (an OCI registry, a Vault server) did not answer or answered badly. */
export const badGateway = (message: string, details: string[] = []) => new AgentryError('bad_gateway', message, details);
