import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorForRequest } from '../shared/framework-errors.js';

/**
 * The workload proxy's error shape: a JSON-RPC error with a null id (what MCP clients read), with the
 * HTTP status of the refusal; 401 carries `WWW-Authenticate: Bearer`. 5xx are logged, never leaked.
 */
export const workloadProxyErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = errorForRequest(err, request);
  const message = mapped.details.length > 0 ? `${mapped.message}: ${mapped.details.join('; ')}` : mapped.message;
  if (mapped.status === 401) void reply.header('www-authenticate', 'Bearer realm="agentry"');
  void reply
    .status(mapped.status)
    .type('application/json; charset=utf-8')
    .send({ jsonrpc: '2.0', error: { code: mapped.status === 404 ? -32001 : mapped.status === 401 || mapped.status === 403 ? -32002 : -32000, message }, id: null });
};
