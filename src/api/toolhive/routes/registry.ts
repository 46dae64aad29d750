import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { forbidden, notFound, notImplemented } from '../../../core/errors.js';
import { baseUrl } from '../../shared/base-url.js';
import { requestContext } from '../../shared/request-context.js';
import { allToolhiveServers } from '../catalogue.js';
import type { ToolhiveDoorOptions } from '../index.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import { RegistryDetail, RegistryList, RegistryParams, ServerDetail, ServerList, ServerParams, UpdateRegistryBody, textErrors } from '../schemas.js';
import type { ImageServer, RemoteServer } from '../server-views.js';

/** ToolHive has exactly one registry, `default`; here it is Agentry's own MCP server packages. */
const DEFAULT_REGISTRY = 'default';
const REGISTRY_FORMAT_VERSION = '1.0.0';

const requireDefault = (name: string): void => {
  if (name !== DEFAULT_REGISTRY) throw notFound(`Registry not found: '${name}' (this server has one registry, 'default')`);
};

export const registryRoutes: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, { registry, publicUrl }) => {
  const tags = ['toolhive'];

  const info = async (ctx: RequestContext, source: string) => {
    const { servers, lastUpdated } = await allToolhiveServers(registry, ctx);
    return {
      servers,
      info: {
        name: DEFAULT_REGISTRY,
        type: 'api',
        source,
        version: REGISTRY_FORMAT_VERSION,
        last_updated: lastUpdated ?? '',
        server_count: servers.length,
        auth_status: 'none',
        auth_type: 'none',
      },
    };
  };

  app.get('/registry', {
    schema: { tags, summary: "List registries (one: 'default', Agentry's MCP servers)", response: { 200: RegistryList } },
    handler: async (req) => ({ registries: [(await info(await requestContext(registry, req), `${baseUrl(req, publicUrl)}/registry/${DEFAULT_REGISTRY}`)).info] }),
  });

  app.get('/registry/:name', {
    schema: { tags, summary: 'Get a registry with every server it holds', params: RegistryParams, response: { 200: RegistryDetail } },
    handler: async (req) => {
      requireDefault(req.params.name);
      const { servers, info: meta } = await info(await requestContext(registry, req), `${baseUrl(req, publicUrl)}/registry/${DEFAULT_REGISTRY}`);
      const images: Record<string, ImageServer> = {};
      const remotes: Record<string, RemoteServer> = {};
      for (const s of servers) {
        if (s.remote) remotes[s.key] = s.server;
        else images[s.key] = s.server;
      }
      return { ...meta, registry: { version: REGISTRY_FORMAT_VERSION, last_updated: meta.last_updated, servers: images, remote_servers: remotes, groups: [] } };
    },
  });

  // ToolHive's document allows 200/400/403/404/502/504 here: repointing Agentry's registry is refused by policy (403).
  app.put('/registry/:name', {
    schema: {
      tags,
      summary: "Set the registry's upstream source: refused (403), Agentry's registry is its own MCP server packages",
      params: RegistryParams,
      body: UpdateRegistryBody,
      response: textErrors,
    },
    handler: async (req) => {
      requireDefault(req.params.name);
      throw forbidden("Agentry's 'default' registry is its own MCP server packages; it cannot be pointed at another source. Publish servers with 'agentry publish' or POST /v0.1/publish instead.");
    },
  });

  app.post('/registry', {
    schema: { tags, summary: 'Add a registry: not implemented (501), as in ToolHive', response: textErrors },
    handler: async () => {
      throw notImplemented("Adding registries is not implemented: this server has one registry, 'default'");
    },
  });

  app.delete('/registry/:name', {
    schema: { tags, summary: "Remove a registry: 'default' cannot be removed (403); any other is not found", params: RegistryParams, response: textErrors },
    handler: async (req) => {
      requireDefault(req.params.name);
      throw forbidden("The 'default' registry cannot be removed");
    },
  });

  app.post('/registry/:name/refresh', {
    schema: {
      tags,
      summary: "Refresh a registry: Agentry's is always current (its own packages), so this only reports it",
      params: RegistryParams,
      response: { 200: Type.Record(Type.String(), Type.String()) },
    },
    handler: async (req) => {
      requireDefault(req.params.name);
      return { message: "Registry 'default' is always current: it is this server's own MCP server packages" };
    },
  });

  app.get('/registry/:name/servers', {
    schema: { tags, summary: 'List the servers of a registry', params: RegistryParams, response: { 200: ServerList } },
    handler: async (req) => {
      requireDefault(req.params.name);
      const { servers } = await allToolhiveServers(registry, await requestContext(registry, req));
      return {
        servers: servers.flatMap((s) => (s.remote ? [] : [s.server])),
        remote_servers: servers.flatMap((s) => (s.remote ? [s.server] : [])),
      };
    },
  });

  app.get('/registry/:name/servers/:serverName', {
    schema: { tags, summary: 'Get one server of a registry, by its name there or its reverse-DNS name', params: ServerParams, response: { 200: ServerDetail } },
    handler: async (req) => {
      requireDefault(req.params.name);
      const wanted = req.params.serverName;
      const { servers } = await allToolhiveServers(registry, await requestContext(registry, req));
      const found = servers.find((s) => s.key === wanted) ?? servers.find((s) => s.fullName.toLowerCase() === wanted.toLowerCase());
      if (!found) throw notFound(`Server not found: '${wanted}'`);
      return found.remote ? { is_remote: true, remote_server: found.server } : { is_remote: false, server: found.server };
    },
  });
};
