import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import { toolhiveRegistryErrorHandler, toolhiveTextErrorHandler } from './errors.js';
import { catalogueRoutes } from './routes/catalogue.js';
import { registryRoutes } from './routes/registry.js';
import { skillRoutes } from './routes/skills.js';
import { workloadRoutes } from './routes/workloads.js';
import { clientRoutes } from './routes/clients.js';
import { groupRoutes } from './routes/groups.js';
import { secretRoutes } from './routes/secrets.js';
import { toolhiveSystemRoutes, versionRoutes } from './routes/system.js';

export interface ToolhiveDoorOptions {
  registry: Registry;
  version: string;
  publicUrl?: string;
  /** Largest skill archive accepted by validate, in bytes. */
  maxTarballBytes: number;
}

/**
 * ToolHive's registry API (003) over the core's MCP server and skill packages: `/api/v1beta/registry…`
 * `/api/v1beta/skills…` (validate, content, install, list, details, uninstall), `/groups`, `/clients`, `/discovery/clients`, `/secrets` and `/version`
 * (plain-text errors, as ToolHive), `/health` and `/api/openapi.json`, and the MCP-format
 * catalogue `/registry/{registryName}/v0.1/…` (`{code, message}` errors). Mounted at the root.
 * No not-found handler is set on either prefix: other doors share them (`/registry/…`, `/api/v1beta/secrets`).
 */
export const toolhiveDoor: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, opts) => {
  await app.register(
    async (api) => {
      api.setErrorHandler(toolhiveTextErrorHandler);
      await api.register(multipart, {
        attachFieldsToBody: 'keyValues',
        limits: { fileSize: opts.maxTarballBytes, files: 1, fields: 2, fieldSize: 1024, parts: 3 },
      });
      await api.register(registryRoutes, opts);
      await api.register(skillRoutes, opts);
      await api.register(workloadRoutes, opts);
      await api.register(groupRoutes, opts);
      await api.register(clientRoutes, opts);
      await api.register(secretRoutes, opts);
      await api.register(versionRoutes, opts);
    },
    { prefix: '/api/v1beta' },
  );
  await app.register(toolhiveSystemRoutes);
  await app.register(async (catalogue) => {
    catalogue.setErrorHandler(toolhiveRegistryErrorHandler);
    await catalogue.register(catalogueRoutes, opts);
  });
};
