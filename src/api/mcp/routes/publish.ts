import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AgentryError } from '../../../core/errors.js';
import { requestContext } from '../../shared/request-context.js';
import type { McpDoorOptions } from '../index.js';
import { AllVersionsStatusResponse, ServerJson, ServerParams, ServerResponse, StatusBody, VersionParams, problemResponses } from '../schemas.js';
import { serverResponse, splitServerName } from '../views.js';

const security = [{ bearer: [] }];

/** Fastify would also parse text/plain; these bodies come as JSON only. */
const requireJson = async (req: FastifyRequest): Promise<void> => {
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw new AgentryError('unsupported_media_type', type ? `Unsupported Content-Type '${type}'` : 'Missing Content-Type');
  }
};

/** Writing servers: publish a bare server.json, and set the status of one version or of all. */
export const publishRoutes: FastifyPluginAsyncTypebox<McpDoorOptions> = async (app, { registry }) => {
  app.post('/publish', {
    schema: {
      tags: ['mcp-registry'],
      summary: 'Publish a server.json (a bearer Agentry token with publish permission on its namespace)',
      security,
      body: ServerJson,
      response: { 200: ServerResponse, ...problemResponses },
    },
    preValidation: requireJson,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const { pkg, version } = await registry.packages.publishManifest(ctx, 'mcp-server', JSON.stringify(req.body, null, 2), req.headers['idempotency-key']);
      return serverResponse(pkg, version);
    },
  });

  app.patch('/servers/:serverName/versions/:version/status', {
    schema: {
      tags: ['mcp-registry'],
      summary: 'Set the status of one version: active, deprecated or deleted (with a message)',
      security,
      params: VersionParams,
      body: StatusBody,
      response: { 200: ServerResponse, ...problemResponses },
    },
    preValidation: requireJson,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const { scope, name } = splitServerName(req.params.serverName);
      const r = await registry.packageLifecycle.setStatus(ctx, { scope, name, version: req.params.version, kind: 'mcp-server' }, req.body.status, req.body.statusMessage ?? null);
      return serverResponse(r.pkg, r.versions[0]);
    },
  });

  app.patch('/servers/:serverName/status', {
    schema: {
      tags: ['mcp-registry'],
      summary: 'Set the status of every version of a server at once (all or nothing)',
      security,
      params: ServerParams,
      body: StatusBody,
      response: { 200: AllVersionsStatusResponse, ...problemResponses },
    },
    preValidation: requireJson,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const { scope, name } = splitServerName(req.params.serverName);
      const r = await registry.packageLifecycle.setStatus(ctx, { scope, name, kind: 'mcp-server' }, req.body.status, req.body.statusMessage ?? null);
      return { updatedCount: r.versions.length, servers: r.versions.map((v) => serverResponse(r.pkg, v)) };
    },
  });
};
