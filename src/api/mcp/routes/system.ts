import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AgentryError } from '../../../core/errors.js';
import type { McpDoorOptions } from '../index.js';
import { Health, Ping, problemResponses } from '../schemas.js';

/** `ping` and `health`, as MCP registry clients probe them. */
export const systemRoutes: FastifyPluginAsyncTypebox<McpDoorOptions> = async (app, { registry, version }) => {
  app.get('/ping', {
    schema: { tags: ['mcp-registry'], summary: 'Liveness: answers without touching the store', response: { 200: Ping } },
    handler: async () => ({ pong: true }),
  });

  app.get('/health', {
    schema: { tags: ['mcp-registry'], summary: 'Health: the store answers', response: { 200: Health, ...problemResponses, 503: problemResponses[400] } },
    handler: async () => {
      try {
        await registry.storage.ping();
      } catch {
        throw new AgentryError('unavailable', 'The store does not answer');
      }
      return { status: 'ok', version, store: registry.storage.kind };
    },
  });
};
