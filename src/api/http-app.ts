import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from '../core/registry.js';
import { isManagedPath, managedDoor, managedFrameworkError } from './managed/index.js';
import { mcpDoor } from './mcp/index.js';
import { nativeDoor } from './native/index.js';
import { ociDoor } from './oci/index.js';
import { alquimiaDoor } from './alquimia/index.js';
import { praisonaiErrorBody } from './praisonai/errors.js';
import { praisonaiDoor } from './praisonai/index.js';
import { binaryFileKeyword, documentBinaryFiles } from './shared/binary-file-keyword.js';
import { toAgentryError } from './shared/framework-errors.js';
import { rateLimitHook } from './shared/rate-limit-hook.js';
import { readAccessHook } from './shared/read-access-hook.js';
import { collectRoutes } from './shared/route-table.js';
import { healthRoutes } from './system/health.js';
import { toolhiveDoor } from './toolhive/index.js';
import { metricsRoutes } from './system/metrics.js';

export interface HttpAppOptions {
  registry: Registry;
  version: string;
  publicUrl?: string;
  /** Largest JSON body, in bytes. */
  maxBodyBytes: number;
  /** Largest tarball upload, in bytes. */
  maxTarballBytes: number;
  logLevel: string;
  /** Where the pino log lines go (default stdout); tests capture them to scan for leaks. */
  logStream?: NodeJS.WritableStream;
  /** When set, `/metrics` needs it as a Bearer token. */
  metricsToken?: string;
}

/** Builds the HTTP server: every door mounted on one Fastify instance, one OpenAPI document. */
export const buildHttpApp = async (opts: HttpAppOptions): Promise<FastifyInstance> => {
  const app = Fastify({
    logger: {
      level: opts.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], censor: '[redacted]' },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    bodyLimit: opts.maxBodyBytes,
    // MCP server names (up to 200 characters, URL-encoded) are one path segment; doors keep their own limits.
    routerOptions: { maxParamLength: 300 },
    trustProxy: false,
    ajv: { customOptions: { allErrors: true }, plugins: [binaryFileKeyword] },
    // The router's own refusals (bad percent-encoding, over-long segments) come before any
    // route, so no door's handler sees them: answer them in the native shape here.
    frameworkErrors: (err, req, reply: FastifyReply) => {
      if (isManagedPath(req.url)) return managedFrameworkError(err, req, reply);
      const mapped = toAgentryError(err);
      if (/^\/v1\/(recipes|search)([/?]|$)/.test(req.url)) return void reply.status(mapped.status).send(praisonaiErrorBody(mapped));
      void reply.status(mapped.status).send({ error: mapped.message, details: mapped.details });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The server's route table, kept from the first route on (tests walk it to find uncovered routes).
  collectRoutes(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Agentry',
        version: opts.version,
        description: 'A self-hosted registry for AI agents, agent skills, MCP servers and recipes.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }, {}],
    },
    transformObject: (doc) => documentBinaryFiles('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject),
  });

  // Errors outside any door (unknown routes at the root, framework errors) get the native shape.
  app.setErrorHandler((err, req, reply) => {
    const mapped = toAgentryError(err);
    if (mapped.status >= 500) req.log.error({ err }, 'unhandled error');
    void reply.status(mapped.status).send(mapped.details.length ? { error: mapped.message, details: mapped.details } : { error: mapped.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `No route for ${req.method} ${req.url.split('?')[0]}` });
  });

  // Before every door: the hook applies to the routes registered after it.
  await app.register(rateLimitHook, { registry: opts.registry });
  await app.register(readAccessHook, { registry: opts.registry });
  await app.register(metricsRoutes, { registry: opts.registry, token: opts.metricsToken });
  await app.register(healthRoutes, { registry: opts.registry, version: opts.version });
  await app.register(nativeDoor, { prefix: '/api/v1', registry: opts.registry, publicUrl: opts.publicUrl, maxTarballBytes: opts.maxTarballBytes });
  await app.register(ociDoor, { prefix: '/v2', registry: opts.registry, publicUrl: opts.publicUrl });
  await app.register(mcpDoor, { registry: opts.registry, version: opts.version });
  await app.register(toolhiveDoor, { registry: opts.registry, publicUrl: opts.publicUrl, maxTarballBytes: opts.maxTarballBytes });
  await app.register(praisonaiDoor, { prefix: '/v1', registry: opts.registry, maxTarballBytes: opts.maxTarballBytes });

  await app.register(managedDoor, { registry: opts.registry, publicUrl: opts.publicUrl, maxUploadBytes: opts.maxTarballBytes });

  await app.register(alquimiaDoor, { prefix: '/registry', registry: opts.registry });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
};
