import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorForRequest } from './framework-errors.js';

/** The JSON-RPC error code an MCP client reads for an HTTP refusal of `status`. */
export const jsonRpcCodeOf = (status: number): number => (status === 404 ? -32001 : status === 401 || status === 403 ? -32002 : -32000);

/**
 * The error shape of the MCP doors over HTTP (the workload proxy, Agentry's own `/mcp`): a JSON-RPC
 * error with a null id (what MCP clients read), with the HTTP status of the refusal; 401 carries
 * `WWW-Authenticate: Bearer`. 5xx are logged, never leaked.
 */
export const jsonRpcErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = errorForRequest(err, request);
  const message = mapped.details.length > 0 ? `${mapped.message}: ${mapped.details.join('; ')}` : mapped.message;
  if (mapped.status === 401) void reply.header('www-authenticate', 'Bearer realm="agentry"');
  void reply
    .status(mapped.status)
    .type('application/json; charset=utf-8')
    .send({ jsonrpc: '2.0', error: { code: jsonRpcCodeOf(mapped.status), message }, id: null });
};
