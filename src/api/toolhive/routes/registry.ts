import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { badRequest, forbidden, notFound, notImplemented } from '../../../core/errors.js';
import type { MirrorService } from '../../../core/mirrors/mirror-service.js';
import type { Registry } from '../../../core/registry.js';
import { baseUrl } from '../../shared/base-url.js';
import { markStale } from '../../shared/mirror-stale.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import { requestContext } from '../../shared/request-context.js';
import { allToolhiveServers } from '../catalogue.js';
import type { ToolhiveDoorOptions } from '../index.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import { RegistryDetail, RegistryList, RegistryParams, ServerDetail, ServerList, ServerParams, UpdateRegistryBody, UpdateRegistryResponse, textErrors } from '../schemas.js';
import type { ImageServer, RemoteServer } from '../server-views.js';

/** ToolHive has exactly one registry, `default`; here it is Agentry's own MCP server packages. */
const DEFAULT_REGISTRY = 'default';
const REGISTRY_FORMAT_VERSION = '1.0.0';

const mirrorsOf = (registry: Registry): MirrorService => {
  if (!registry.mirrors) throw notImplemented('Mirrors are not offered by this server');
  return registry.mirrors;
};

const requireDefault = (name: string): void => {
  if (name !== DEFAULT_REGISTRY) throw notFound(`Registry not found: '${name}' (this server has one registry, 'default')`);
};

export const registryRoutes: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, { registry, publicUrl }) => {
  const tags = ['toolhive'];

  const info = async (ctx: RequestContext, reply: FastifyReply, source: string) => {
    const { servers, lastUpdated, stale } = await allToolhiveServers(registry, ctx);
    markStale(reply, stale);
    // The MCP upstream PUT /registry/default set, if any: ToolHive shows the API URL it reads.
    const upstream = await registry.mirrors?.ofKind(DEFAULT_REGISTRY, 'mcp');
    return {
      servers,
      info: {
        name: DEFAULT_REGISTRY,
        type: 'api',
        source: upstream?.url ?? source,
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
    handler: async (req, reply) => ({ registries: [(await info(await requestContext(registry, req), reply, `${baseUrl(req, publicUrl)}/registry/${DEFAULT_REGISTRY}`)).info] }),
  });

  app.get('/registry/:name', {
    schema: { tags, summary: 'Get a registry with every server it holds', params: RegistryParams, response: { 200: RegistryDetail } },
    handler: async (req, reply) => {
      requireDefault(req.params.name);
      const { servers, info: meta } = await info(await requestContext(registry, req), reply, `${baseUrl(req, publicUrl)}/registry/${DEFAULT_REGISTRY}`);
      const images: Record<string, ImageServer> = {};
      const remotes: Record<string, RemoteServer> = {};
      for (const s of servers) {
        if (s.remote) remotes[s.key] = s.server;
        else images[s.key] = s.server;
      }
      return { ...meta, registry: { version: REGISTRY_FORMAT_VERSION, last_updated: meta.last_updated, servers: images, remote_servers: remotes, groups: [] } };
    },
  });

  // ToolHive's shape: one of url / api_url (an MCP registry API) sets the upstream, none resets it.
  app.put('/registry/:name', {
    schema: {
      tags,
      summary: "Set the 'default' registry's MCP upstream (admin): api_url (or url) creates or replaces the MCP mirror named 'default'; an empty body removes it",
      params: RegistryParams,
      body: UpdateRegistryBody,
      response: { 200: UpdateRegistryResponse, ...textErrors },
    },
    // An unknown field is refused (ToolHive's decoder would ignore it; a typo must not pass silently).
    validatorCompiler: strictValidatorCompiler,
    handler: async (req) => {
      requireDefault(req.params.name);
      const ctx = await requestContext(registry, req);
      // Who may ask comes first: a refused caller learns nothing of what the body would have done.
      registry.policy.requireAdmin(ctx);
      const b = req.body;
      const given = [b.url, b.api_url, b.local_path].filter((v) => v !== undefined);
      if (given.length > 1) throw badRequest('cannot specify more than one registry type (url, api_url, or local_path)');
      if (b.local_path !== undefined) throw badRequest('local_path is not offered: this registry mirrors MCP registry APIs (/v0.1); pass api_url');
      if (b.auth !== undefined) throw badRequest('auth (OAuth) is not offered: give the upstream a login with POST /api/v1/mirrors (username, password)');
      const url = b.api_url ?? b.url;
      if (url !== undefined && /\.json$/i.test(new URL(url, 'http://x').pathname)) {
        throw badRequest('url names a registry file (.json): this registry mirrors MCP registry APIs (/v0.1); pass the API base as api_url');
      }
      await mirrorsOf(registry).replace(ctx, DEFAULT_REGISTRY, 'mcp', url === undefined ? undefined : { url });
      return { type: url === undefined ? 'default' : 'api' };
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
    handler: async (req, reply) => {
      requireDefault(req.params.name);
      const { servers, stale } = await allToolhiveServers(registry, await requestContext(registry, req));
      markStale(reply, stale);
      return {
        servers: servers.flatMap((s) => (s.remote ? [] : [s.server])),
        remote_servers: servers.flatMap((s) => (s.remote ? [s.server] : [])),
      };
    },
  });

  app.get('/registry/:name/servers/:serverName', {
    schema: { tags, summary: 'Get one server of a registry, by its name there or its reverse-DNS name', params: ServerParams, response: { 200: ServerDetail } },
    handler: async (req, reply) => {
      requireDefault(req.params.name);
      const wanted = req.params.serverName;
      const { servers, stale } = await allToolhiveServers(registry, await requestContext(registry, req));
      markStale(reply, stale);
      const found = servers.find((s) => s.key === wanted) ?? servers.find((s) => s.fullName.toLowerCase() === wanted.toLowerCase());
      if (!found) throw notFound(`Server not found: '${wanted}'`);
      return found.remote ? { is_remote: true, remote_server: found.server } : { is_remote: false, server: found.server };
    },
  });
};
