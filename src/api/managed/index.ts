import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import { AgentryError } from '../../core/errors.js';
import { authenticateFirst } from './caller.js';
import { managedErrorHandler } from './errors.js';
import { agentRoutes } from './routes/agents.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { environmentRoutes } from './routes/environments.js';
import { fileRoutes } from './routes/files.js';
import { memoryStoreRoutes } from './routes/memory-stores.js';
import { skillRoutes } from './routes/skills.js';
import { vaultRoutes } from './routes/vaults.js';
import { modelCardRoutes } from './routes/model-cards.js';
import { sessionRoutes } from './routes/sessions.js';
import { threadRoutes } from './routes/threads.js';
import { sessionResourceRoutes } from './routes/session-resources.js';
import { evalRoutes } from './routes/evals.js';
import { oauthRoutes } from './routes/oauth.js';
import { integrationRoutes } from './routes/integrations.js';

export interface ManagedDoorOptions {
  registry: Registry;
  publicUrl?: string;
  /** Largest upload (files, skills), in bytes. */
  maxUploadBytes: number;
}

/** `/v1/sessions` and its sub-resources, in one scope (one not-found handler per prefix). */
const sessionsWithParts: FastifyPluginAsync<ManagedDoorOptions> = async (app, opts) => {
  await app.register(sessionRoutes as FastifyPluginAsync<ManagedDoorOptions>, opts);
  await app.register(sessionResourceRoutes as FastifyPluginAsync<ManagedDoorOptions>, opts);
};

const notFound = (req: FastifyRequest, reply: FastifyReply): void => managedErrorHandler(new AgentryError('not_found', `No route for ${req.method} ${req.url.split('?')[0]}`), req, reply);

/**
 * The managed-agents door (002 and Anthropic's managed-agents API, as `@anthropic-ai/sdk` calls
 * it) under `/v1/<resource>`. Each resource is mounted under its own prefix, so this door
 * shares `/v1` with other doors. It only translates: every rule is in `core/managed/`.
 */
export const managedDoor: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, opts) => {
  app.addHook('onRequest', authenticateFirst(opts.registry));
  app.setErrorHandler(managedErrorHandler);
  const resources: Array<[string, FastifyPluginAsync<ManagedDoorOptions>]> = [
    ['/v1/agents', agentRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/environments', environmentRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/api_keys', apiKeyRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/files', fileRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/skills', skillRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/memory_stores', memoryStoreRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/vaults', vaultRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/model_cards', modelCardRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/sessions', sessionsWithParts],
    ['/v1/sessions/:id/threads', threadRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/evals', evalRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/oauth', oauthRoutes as FastifyPluginAsync<ManagedDoorOptions>],
    ['/v1/integrations', integrationRoutes as FastifyPluginAsync<ManagedDoorOptions>],
  ];
  for (const [prefix, routes] of resources) {
    await app.register(
      async (scoped) => {
        scoped.setNotFoundHandler(notFound);
        await scoped.register(routes, opts);
      },
      { prefix },
    );
  }
};
