import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { badRequest, isAgentryError, notImplemented } from '../../../core/errors.js';
import { requestContext } from '../../shared/request-context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { McpDoorOptions } from '../index.js';
import { IncludeDeletedQuery, ListQuery, ServerList, ServerParams, ServerResponse, VersionParams, problemResponses } from '../schemas.js';
import { serverResponse, splitServerName, upstreamServerResponse } from '../views.js';
import { markStale } from '../../shared/mirror-stale.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 → the core's ISO-8601 UTC instant; anything else is a 400. */
const parseUpdatedSince = (text: string): string => {
  const at = RFC3339.test(text) ? new Date(text) : undefined;
  if (!at || Number.isNaN(at.getTime())) {
    throw badRequest('Invalid updated_since', [`updated_since: '${text}' is not an RFC 3339 date-time (like 2025-08-07T13:15:04Z)`]);
  }
  return at.toISOString();
};

const isNotFound = (e: unknown): boolean => isAgentryError(e) && e.code === 'not_found';

/** Reading servers: the list (search, filters, cursor pages), one server's versions, one version. */
export const serverRoutes: FastifyPluginAsyncTypebox<McpDoorOptions> = async (app, { registry }) => {
  app.get('/servers', {
    schema: {
      tags: ['mcp-registry'],
      summary: 'List MCP server versions (cursor pages, search, filters)',
      querystring: ListQuery,
      response: { 200: ServerList, ...problemResponses },
    },
    handler: async (req, reply) => {
      const q = req.query;
      const limit = q.limit ?? 30;
      const changedSince = q.updated_since === undefined ? undefined : parseUpdatedSince(q.updated_since);
      const query = {
        text: q.search?.trim() || undefined,
        changedSince,
        version: q.version === undefined ? undefined : q.version === 'latest' ? { latest: true as const } : { exact: q.version },
        // As in the official registry: asking what changed since a time includes deletions.
        includeUnpublished: (q.include_deleted ?? false) || changedSince !== undefined,
      };
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      const ctx = await requestContext(registry, req);
      if (registry.mcpMirrors) {
        const { rows, next, stale } = await registry.mcpMirrors.browse(ctx, query, after, limit);
        markStale(reply, stale);
        return {
          servers: rows.map((r) => ('local' in r ? serverResponse(r.local.pkg, r.local.version) : upstreamServerResponse(r.upstream, r.url))),
          metadata: { ...(next ? { nextCursor: encodeCursor(next) } : {}), count: rows.length },
        };
      }
      const rows = await registry.packages.browseVersions(ctx, { ...query, kind: 'mcp-server', after: after?.local ?? undefined, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        servers: page.map((r) => serverResponse(r.pkg, r.version)),
        metadata: { ...(rows.length > limit && last ? { nextCursor: encodeCursor({ local: { key: last.pkg.key, versionId: last.version.id }, upstream: null }) } : {}), count: page.length },
      };
    },
  });

  app.get('/servers/:serverName/versions', {
    schema: {
      tags: ['mcp-registry'],
      summary: 'All versions of one MCP server, newest published first',
      params: ServerParams,
      querystring: IncludeDeletedQuery,
      response: { 200: ServerList, ...problemResponses },
    },
    handler: async (req, reply) => {
      const { scope, name } = splitServerName(req.params.serverName);
      const ctx = await requestContext(registry, req);
      const includeDeleted = req.query.include_deleted ?? false;
      try {
        const { pkg, versions } = await registry.packages.allVersions(ctx, scope, name, { kind: 'mcp-server', includeUnpublished: includeDeleted });
        const newestFirst = [...versions].reverse();
        return { servers: newestFirst.map((v) => serverResponse(pkg, v)), metadata: { count: newestFirst.length } };
      } catch (e) {
        // Not here: an upstream's, if one lists it (local wins, so only when no local package has the name).
        const up = isNotFound(e) && registry.mcpMirrors ? await registry.mcpMirrors.versions(ctx, req.params.serverName, includeDeleted) : undefined;
        if (!up || up.rows.length === 0) throw e;
        markStale(reply, up.stale);
        const newestFirst = [...up.rows].sort((a, b) => (b.publishedAt ?? '').localeCompare(a.publishedAt ?? ''));
        return { servers: newestFirst.map((r) => upstreamServerResponse(r, up.url)), metadata: { count: newestFirst.length } };
      }
    },
  });

  app.get('/servers/:serverName/versions/:version', {
    schema: {
      tags: ['mcp-registry'],
      summary: "One version of an MCP server ('latest' for the latest)",
      params: VersionParams,
      querystring: IncludeDeletedQuery,
      response: { 200: ServerResponse, ...problemResponses },
    },
    handler: async (req, reply) => {
      const { scope, name } = splitServerName(req.params.serverName);
      const ctx = await requestContext(registry, req);
      const includeDeleted = req.query.include_deleted ?? false;
      try {
        const { pkg, version } = await registry.packages.getVersion(ctx, scope, name, req.params.version, { kind: 'mcp-server', includeUnpublished: includeDeleted });
        return serverResponse(pkg, version);
      } catch (e) {
        const up = isNotFound(e) && registry.mcpMirrors ? await registry.mcpMirrors.versions(ctx, req.params.serverName, includeDeleted) : undefined;
        const wanted = req.params.version;
        const found = up?.rows.find((r) => (wanted === 'latest' ? r.isLatest : r.version === wanted));
        if (!up || !found) throw e;
        markStale(reply, up.stale);
        return upstreamServerResponse(found, up.url);
      }
    },
  });

  // The spec's optional edit and delete of a version: not offered (status changes go through PATCH …/status).
  for (const method of ['PUT', 'DELETE'] as const) {
    app.route({
      method,
      url: '/servers/:serverName/versions/:version',
      schema: {
        tags: ['mcp-registry'],
        summary: `${method === 'PUT' ? 'Edit' : 'Delete'} a version: not offered (501); use PATCH …/versions/{version}/status`,
        params: VersionParams,
        response: problemResponses,
      },
      handler: async () => {
        throw notImplemented(
          `${method === 'PUT' ? 'Editing' : 'Deleting'} a published version is not offered by this registry: versions are immutable; set their status with PATCH /v0.1/servers/{serverName}/versions/{version}/status (deleted hides one)`,
        );
      },
    });
  }
};
