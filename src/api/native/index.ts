import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import { limitPathSegments } from '../shared/segment-limit.js';
import { nativeErrorHandler } from './errors.js';
import { a2aRoutes } from './routes/a2a.js';
import { accessRoutes } from './routes/access.js';
import { accountRoutes } from './routes/accounts.js';
import { adminRoutes } from './routes/admin.js';
import { agentxRoutes } from './routes/agentx.js';
import { authRoutes } from './routes/auth.js';
import { blobRoutes } from './routes/blobs.js';
import { packageRoutes, publishRoutes } from './routes/packages.js';
import { scopeRoutes } from './routes/scopes.js';
import { secretRoutes } from './routes/secrets.js';
import { mirrorRoutes } from './routes/mirrors.js';
import { mirrorServerRoutes } from './routes/mirror-servers.js';
import { webhookRoutes } from './routes/webhooks.js';
import { signatureRoutes } from './routes/signatures.js';

export interface NativeDoorOptions {
  registry: Registry;
  publicUrl?: string;
  /** Largest tarball accepted on publish, in bytes. */
  maxTarballBytes: number;
}

/** The native API under `/api/v1`: agentx's (004) routes for agents, the same style for the rest. */
export const nativeDoor: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, opts) => {
  app.setErrorHandler(nativeErrorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `No route for ${req.method} ${req.url.split('?')[0]}` });
  });
  // The router takes longer segments (for MCP server names); native path segments stay at most 100 characters.
  app.addHook('onRequest', limitPathSegments(100));
  const routeOpts: NativeDoorOptions = { registry: opts.registry, publicUrl: opts.publicUrl, maxTarballBytes: opts.maxTarballBytes };
  // Multipart bodies go to the publish routes only: the parser's hooks (on every request and
  // response of its context) stay off the door's reads.
  await app.register(async (publishing) => {
    await publishing.register(multipart, {
      attachFieldsToBody: 'keyValues',
      limits: { fileSize: opts.maxTarballBytes, files: 1, fields: 10, fieldSize: 2 * 1024 * 1024, parts: 12 },
    });
    await publishing.register(publishRoutes, routeOpts);
  });
  await app.register(packageRoutes, routeOpts);
  await app.register(accountRoutes, routeOpts);
  await app.register(blobRoutes, routeOpts);
  await app.register(adminRoutes, routeOpts);
  await app.register(scopeRoutes, routeOpts);
  await app.register(agentxRoutes, routeOpts);
  await app.register(authRoutes, routeOpts);
  await app.register(secretRoutes, routeOpts);
  await app.register(accessRoutes, routeOpts);
  await app.register(mirrorRoutes, routeOpts);
  await app.register(mirrorServerRoutes, routeOpts);
  await app.register(webhookRoutes, routeOpts);
  await app.register(signatureRoutes, routeOpts);
  await app.register(a2aRoutes, routeOpts);
};
