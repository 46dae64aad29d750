import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from '../core/registry.js';
import { doorErrorHandler, doorErrorHandlers, noRoute } from './door-errors.js';
import { a2aDoor } from './a2a/index.js';
import { managedDoor } from './managed/index.js';
import { mcpDoor } from './mcp/index.js';
import { mcpServerDoor } from './mcp-server/index.js';
import { nativeDoor } from './native/index.js';
import { ociDoor, ociRepositoryUrl } from './oci/index.js';
import { alquimiaDoor } from './alquimia/index.js';
import { praisonaiDoor } from './praisonai/index.js';
import { binaryFileKeyword, documentBinaryFiles } from './shared/binary-file-keyword.js';
import { refuseNonFiniteNumbers } from './shared/finite-numbers.js';
import { guardJsonBodies } from './shared/json-depth-guard.js';
import { refuseBadHost } from './shared/host-guard.js';
import { REDACTED_PATHS } from './shared/log-redaction.js';
import { lazySchemas } from './shared/lazy-schemas.js';
import { newRequestId, sendRequestId } from './shared/request-id.js';
import { LevelAwareLogController, requestLogger } from './shared/request-logger.js';
import { refuseControlCharacters } from './shared/text-guard.js';
import { rateLimitHook } from './shared/rate-limit-hook.js';
import { readAccessHook } from './shared/read-access-hook.js';
import { collectRoutes } from './shared/route-table.js';
import { healthRoutes } from './system/health.js';
import { workloadProxyDoor } from './workload-proxy/index.js';
import { toolhiveDoor } from './toolhive/index.js';
import { wantsConsolePage } from './shared/console-paths.js';
import { consoleBuilt, sendConsolePage, webConsole } from './web/index.js';
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
  /**
   * Addresses (IPs, CIDRs, `loopback`, `linklocal`, `uniquelocal`) of the load balancers whose
   * `X-Forwarded-For`/`-Proto`/`-Host` are believed; empty: none (the peer is the client).
   */
  trustProxy?: string[];
  /** The built web console (`dist/console`), served at `/` when it exists. */
  consoleRoot?: string;
}

/** Builds the HTTP server: every door mounted on one Fastify instance, one OpenAPI document. */
export const buildHttpApp = async (opts: HttpAppOptions): Promise<FastifyInstance> => {
  const refusals = doorErrorHandlers(opts.publicUrl);
  const schemas = lazySchemas();
  const app = Fastify({
    logger: {
      level: opts.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    genReqId: newRequestId,
    // Each request's logger is made when the request first logs (at `warn` and above most never do).
    childLoggerFactory: requestLogger,
    // Fastify's own request lines (`info`) are not built when the server logs at `warn` or above.
    logController: new LevelAwareLogController(),
    // On close: idle keep-alive sockets are closed at once; in-flight requests finish (see app/server.ts).
    forceCloseConnections: 'idle',
    bodyLimit: opts.maxBodyBytes,
    // MCP server names (up to 200 characters, URL-encoded) are one path segment; doors keep their own limits.
    // OCI repository names of any depth become one parameter (slashes encoded: up to ~510 characters).
    routerOptions: { maxParamLength: 600 },
    rewriteUrl: (req) => ociRepositoryUrl(req.url ?? '/'),
    // Behind a load balancer the peer is the balancer: only its forwarded client address names the
    // caller (rate limits per IP, audit), and only from the addresses the operator names.
    trustProxy: opts.trustProxy && opts.trustProxy.length > 0 ? opts.trustProxy : false,
    ajv: { customOptions: { allErrors: true }, plugins: [binaryFileKeyword] },
    // Each route's validators and serializers are compiled at its first request, not at start-up.
    schemaController: schemas.controller,
    // The router's own refusals (bad percent-encoding, over-long segments) come before any
    // route and any hook: answer them in the shape of the door the URL is under.
    frameworkErrors: (err, req, reply: FastifyReply) => {
      void reply.header('request-id', req.id);
      doorErrorHandler(refusals, req.url)(err, req, reply);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The server's route table, kept from the first route on (tests walk it to find uncovered routes).
  collectRoutes(app, schemas.compileAll);

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

  // Before every door (root hooks apply to the routes registered after them): one request id,
  // and the input rules no door may forget.
  app.addHook('onRequest', sendRequestId);
  app.addHook('onRequest', refuseControlCharacters);
  app.addHook('onRequest', refuseBadHost);
  app.addHook('preParsing', guardJsonBodies);
  app.addHook('preHandler', refuseNonFiniteNumbers);
  // Errors outside any door's own handlers (unknown routes, routes at the root) go to the door
  // whose prefix the URL is under, in its shape; the rest get the native shape.
  app.setErrorHandler((err, req, reply) => doorErrorHandler(refusals, req.url)(err, req, reply));
  const serveConsole = opts.consoleRoot !== undefined && consoleBuilt(opts.consoleRoot);
  app.setNotFoundHandler((req, reply) => {
    // A browser navigating to a console page (a client-side route) gets the console; API paths never do.
    if (serveConsole && wantsConsolePage(req)) return sendConsolePage(reply);
    return doorErrorHandler(refusals, req.url)(noRoute(req), req, reply);
  });

  // Before every door: the hook applies to the routes registered after it.
  await app.register(rateLimitHook, { registry: opts.registry });
  await app.register(readAccessHook, { registry: opts.registry, consoleServed: serveConsole });
  await app.register(metricsRoutes, { registry: opts.registry, token: opts.metricsToken });
  await app.register(healthRoutes, { registry: opts.registry, version: opts.version });
  await app.register(nativeDoor, { prefix: '/api/v1', registry: opts.registry, publicUrl: opts.publicUrl, maxTarballBytes: opts.maxTarballBytes });
  await app.register(ociDoor, { prefix: '/v2', registry: opts.registry, publicUrl: opts.publicUrl });
  await app.register(mcpDoor, { registry: opts.registry, version: opts.version });
  await app.register(toolhiveDoor, { registry: opts.registry, version: opts.version, publicUrl: opts.publicUrl, maxTarballBytes: opts.maxTarballBytes });
  await app.register(workloadProxyDoor, { registry: opts.registry });
  await app.register(mcpServerDoor, { registry: opts.registry, version: opts.version, publicUrl: opts.publicUrl });
  await app.register(praisonaiDoor, { prefix: '/v1', registry: opts.registry, maxTarballBytes: opts.maxTarballBytes });

  await app.register(managedDoor, { registry: opts.registry, publicUrl: opts.publicUrl, maxUploadBytes: opts.maxTarballBytes });

  await app.register(alquimiaDoor, { prefix: '/registry', registry: opts.registry });
  await app.register(a2aDoor, { registry: opts.registry, version: opts.version, publicUrl: opts.publicUrl });

  if (serveConsole) await app.register(webConsole, { root: opts.consoleRoot! });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
};
