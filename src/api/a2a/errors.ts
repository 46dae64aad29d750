import { A2AError } from '@a2a-js/sdk/server';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { AgentryError } from '../../core/errors.js';
import { errorForRequest, toAgentryError } from '../shared/framework-errors.js';

/** JSON-RPC 2.0's and A2A 0.3's error codes this door answers with. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** JSON-RPC's implementation-defined server error: Agentry's refusals that have no A2A code (401, 403, 404 of an agent, 409, 429). */
  serverError: -32000,
  taskNotFound: -32001,
  taskNotCancelable: -32002,
  unsupportedOperation: -32004,
  contentTypeNotSupported: -32005,
} as const;

/** The code of a refusal: bad input is invalid params, the rest a server error carrying Agentry's code and status. */
const codeOf = (e: AgentryError): number =>
  e.code === 'bad_request' || e.code === 'validation_failed' || e.code === 'unprocessable' ? RPC.invalidParams : e.status >= 500 ? RPC.internalError : RPC.serverError;

/**
 * The door's one error mapping. An AgentryError (or a framework error) becomes a JSON-RPC error:
 * bad input is -32602, other refusals -32000 with `data: {status, code}` (Agentry's), anything
 * unexpected is logged and answered as -32603 naming the request id, never its message or stack.
 */
export const toA2aError = (err: unknown, log: FastifyBaseLogger, requestId: string): A2AError => {
  if (err instanceof A2AError) return err;
  const e = toAgentryError(err);
  if (e.code === 'internal') {
    log.error({ err }, 'unhandled error');
    return A2AError.internalError(`Internal server error (request id ${requestId})`);
  }
  const message = e.details.length > 0 ? `${e.message}: ${e.details.join('; ')}` : e.message;
  return new A2AError(codeOf(e), message, { status: e.status, code: e.code });
};

/** The text a failed task shows for what stopped it (the same mapping: an unexpected error names only the request). */
export const failureText = (err: unknown, log: FastifyBaseLogger, requestId: string): string => toA2aError(err, log, requestId).message;

/**
 * Refusals before a JSON-RPC request is dispatched (no token, an agent the caller may not run, a
 * body that is not JSON) and errors of the card routes: the HTTP status of the refusal and a
 * JSON-RPC error response as the body (`id` null: the request was not read). A 401 names the
 * bearer scheme the cards announce.
 */
export const a2aErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const e = errorForRequest(err, request);
  const envelope = e.code === 'validation_failed' && (err as { validationContext?: string }).validationContext === 'body';
  const body =
    e.code === 'internal'
      ? A2AError.internalError(e.message)
      : e.code === 'bad_request' && e.message === 'Malformed JSON in request body'
        ? A2AError.parseError(e.message)
        : envelope
          ? A2AError.invalidRequest(`Invalid JSON-RPC request: ${e.details.join('; ')}`)
          : toA2aError(e, request.log, request.id);
  if (e.status === 401) void reply.header('www-authenticate', 'Bearer realm="agentry"');
  void reply.status(e.status).type('application/json').send({ jsonrpc: '2.0', id: null, error: body.toJSONRPCError() });
};
