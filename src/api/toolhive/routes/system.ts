import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { VersionResponse } from '../runtime-schemas.js';

/** ToolHive's `/api/v1beta/version`. */
export const versionRoutes: FastifyPluginAsyncTypebox<{ version: string }> = async (app, { version }) => {
  app.get('/version', {
    schema: { tags: ['toolhive'], summary: "The server's version", response: { 200: VersionResponse } },
    handler: async () => ({ version }),
  });
};

/**
 * ToolHive's `/health` (204, no body: the server answers) and `/api/openapi.json` (this server's
 * OpenAPI document, the same as `/openapi.json`, which describes every ToolHive route Agentry serves).
 */
export const toolhiveSystemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: { tags: ['toolhive'], summary: 'Health check: 204 while the server answers (readiness: /readyz)', response: { 204: Type.Null() } },
    handler: async (_req, reply) => reply.status(204).send(null),
  });
  app.get('/api/openapi.json', {
    schema: { tags: ['toolhive'], summary: "This server's OpenAPI document (as /openapi.json)", response: { 200: Type.Object({}, { additionalProperties: true }) } },
    handler: async () => app.swagger(),
  });
};
