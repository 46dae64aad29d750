import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import { mcpErrorHandler, mcpNotFound } from './errors.js';
import { MCP_PREFIXES } from './prefixes.js';
import { openapiRoutes } from './routes/openapi.js';
import { publishRoutes } from './routes/publish.js';
import { serverRoutes } from './routes/servers.js';
import { systemRoutes } from './routes/system.js';

export interface McpDoorOptions {
  registry: Registry;
  /** Agentry's version, for `health` and the OpenAPI document. */
  version: string;
}

/**
 * The MCP Registry door: the official registry's generic API under `/v0.1` and `/v0`, plus
 * `/openapi.yaml`. MCP servers are packages of kind `mcp-server`; this door only translates.
 */
export const mcpDoor: FastifyPluginAsyncTypebox<McpDoorOptions> = async (app, opts) => {
  for (const prefix of MCP_PREFIXES) {
    await app.register(
      async (door) => {
        door.setErrorHandler(mcpErrorHandler);
        door.setNotFoundHandler(mcpNotFound);
        // Browser-based clients (IDE galleries) read the registry cross-origin.
        door.addHook('onSend', async (_req, reply) => {
          void reply.header('access-control-allow-origin', '*');
          void reply.header('access-control-allow-methods', 'GET, POST, PATCH, OPTIONS');
          void reply.header('access-control-allow-headers', 'Authorization, Content-Type');
        });
        door.options('/*', { schema: { hide: true } }, async (_req, reply) => reply.status(204).send());
        await door.register(serverRoutes, opts);
        await door.register(publishRoutes, opts);
        await door.register(systemRoutes, opts);
      },
      { prefix },
    );
  }
  await app.register(openapiRoutes, opts);
};
