import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { stringify } from 'yaml';
import type { McpDoorOptions } from '../index.js';
import { MCP_PREFIXES } from '../prefixes.js';

const OPENAPI_PATH = '/openapi.yaml';

interface OpenApiDoc {
  info?: Record<string, unknown>;
  paths?: Record<string, unknown>;
  tags?: unknown;
  [key: string]: unknown;
}

/**
 * `/openapi.yaml`: the MCP door's OpenAPI document, cut from the server's generated one (so it
 * lists exactly the routes this door serves, from the schemas that validate them).
 */
export const openapiRoutes: FastifyPluginAsyncTypebox<McpDoorOptions> = async (app, { version }) => {
  let cached: string | undefined;
  app.get(OPENAPI_PATH, {
    schema: {
      tags: ['mcp-registry'],
      summary: "The MCP Registry door's OpenAPI document (YAML)",
      produces: ['application/yaml'],
      response: { 200: Type.String({ description: 'An OpenAPI 3.1 document' }) },
    },
    handler: async (_req, reply) => {
      if (cached === undefined) {
        const full = app.swagger() as unknown as OpenApiDoc;
        const paths = Object.fromEntries(Object.entries(full.paths ?? {}).filter(([path]) => path === OPENAPI_PATH || MCP_PREFIXES.some((p) => path.startsWith(`${p}/`))));
        const doc: OpenApiDoc = {
          ...full,
          info: {
            title: 'Agentry: MCP Registry API',
            version,
            description:
              "The MCP Registry API (the official registry's generic API, v0 and v0.1) served by Agentry. Publishing takes an Agentry token as 'Authorization: Bearer <token>'; errors are application/problem+json.",
          },
          tags: [{ name: 'mcp-registry', description: 'MCP servers: list, read, publish, set status' }],
          paths,
        };
        cached = stringify(doc);
      }
      return reply.type('application/yaml; charset=utf-8').send(cached);
    },
  });
};
