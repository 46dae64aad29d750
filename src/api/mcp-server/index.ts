import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { AgentryError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import { baseUrl } from '../shared/base-url.js';
import { jsonRpcErrorHandler } from '../shared/jsonrpc-errors.js';
import { requestContext } from '../shared/request-context.js';
import { hijackWithRequestId } from '../shared/request-id.js';
import { loadOnce } from '../../core/load-once.js';

export interface McpServerDoorOptions {
  registry: Registry;
  version: string;
  publicUrl?: string;
}

/** Where Agentry's own MCP endpoint is served. */
export const MCP_ENDPOINT_PATH = '/mcp';

/**
 * The MCP SDK's server side and the server built on it, loaded by the first request: a registry
 * nobody asks over MCP never loads the SDK and zod (about 10 MB of heap held from start-up on).
 */
const mcpRuntime = loadOnce(async () => {
  const [{ agentryMcpServer }, { StreamableHTTPServerTransport }] = await Promise.all([import('./server.js'), import('@modelcontextprotocol/sdk/server/streamableHttp.js')]);
  return { agentryMcpServer, StreamableHTTPServerTransport };
});

const JsonRpcBody = Type.Unknown({ description: 'A JSON-RPC message (or batch) of the Model Context Protocol' });
const JsonRpcMessage = Type.Object({ jsonrpc: Type.Literal('2.0') }, { additionalProperties: true, description: 'A JSON-RPC response or batch' });

/**
 * Agentry itself as an MCP server, at `/mcp` over Streamable HTTP, stateless: every POST is
 * authenticated on its own (the Agentry token as `Authorization: Bearer`, or none where anonymous
 * reads are allowed), answered by a server made for that caller, in JSON. There is no session, so
 * no server-initiated stream (GET) and nothing to end (DELETE): both answer 405, as MCP allows.
 */
export const mcpServerDoor: FastifyPluginAsyncTypebox<McpServerDoorOptions> = async (app, { registry, version, publicUrl }) => {
  app.setErrorHandler(jsonRpcErrorHandler);
  const tags = ['mcp-endpoint'];

  app.post(MCP_ENDPOINT_PATH, {
    schema: {
      tags,
      summary: "Agentry's MCP endpoint (Streamable HTTP, stateless): search and show packages, read READMEs and SKILL.md, list, start and stop workloads",
      body: JsonRpcBody,
      response: {
        200: { content: { 'application/json': { schema: JsonRpcMessage } } },
        202: Type.Null({ description: 'Accepted: a notification or response from the client (no body)' }),
      },
    },
    handler: async (req, reply: FastifyReply) => {
      const ctx = await requestContext(registry, req);
      registry.policy.requireReadAccess(ctx);
      const { agentryMcpServer, StreamableHTTPServerTransport } = await mcpRuntime();
      const server = agentryMcpServer({ registry, ctx, origin: baseUrl(req, publicUrl) }, req, version);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.raw.on('close', () => {
        void transport.close().catch(() => undefined);
        void server.close().catch(() => undefined);
      });
      await server.connect(transport);
      await transport.handleRequest(req.raw, hijackWithRequestId(reply), req.body);
    },
  });

  const notAllowed = (_req: unknown, reply: FastifyReply) => {
    void reply.header('allow', 'POST');
    throw new AgentryError('method_not_allowed', 'This MCP endpoint is stateless: send every message with POST (there is no server stream and no session to end)');
  };
  const Refused = { 405: Type.Object({ jsonrpc: Type.Literal('2.0'), error: Type.Object({ code: Type.Integer(), message: Type.String() }), id: Type.Null() }, { description: 'Not offered' }) };
  app.get(MCP_ENDPOINT_PATH, { schema: { tags, summary: "Agentry's MCP endpoint: no server-initiated stream (405)", response: Refused }, handler: notAllowed });
  app.delete(MCP_ENDPOINT_PATH, { schema: { tags, summary: "Agentry's MCP endpoint: no session to end (405)", response: Refused }, handler: notAllowed });
};
