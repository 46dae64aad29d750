import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { AgentryError, badRequest } from '../../../core/errors.js';
import type { PackageSort } from '../../../core/packages/package-repo.js';
import type { PackageKind } from '../../../core/packages/kinds.js';
import type { DetailRenderer } from '../../../core/packages/package-service.js';
import { Type } from 'typebox';
import { baseUrl } from '../../shared/base-url.js';
import { notModified } from '../../shared/conditional-get.js';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { NativeDoorOptions } from '../index.js';
import {
  DeprecateBody,
  DeprecateResponse,
  Detail,
  DistTagBody,
  DistTagsResponse,
  DownloadResponse,
  DownloadsQuery,
  DownloadsResponse,
  FilesResponse,
  ListQuery,
  PackageParams,
  PublishBody,
  PublishResponse,
  SearchQuery,
  SuccessMessage,
  TagParams,
  VersionParams,
  VersionsResponse,
  errorResponses,
  listResponse,
} from '../schemas.js';
import { detailDocument, detailWithDownloads, listItem, listTotal, publishResult, versionItem } from '../views.js';

/** A URL segment of the native API and the package kind it serves (`packages`: every kind). */
export interface KindRoute {
  segment: string;
  kind: PackageKind | undefined;
  listKey: 'agents' | 'packages';
  tag: string;
}

export const KIND_ROUTES: KindRoute[] = [
  { segment: 'agents', kind: 'agent', listKey: 'agents', tag: 'agents' },
  { segment: 'skills', kind: 'skill', listKey: 'packages', tag: 'skills' },
  { segment: 'mcp-servers', kind: 'mcp-server', listKey: 'packages', tag: 'mcp-servers' },
  { segment: 'recipes', kind: 'recipe', listKey: 'packages', tag: 'recipes' },
  { segment: 'packages', kind: undefined, listKey: 'packages', tag: 'packages' },
];

const parseJsonField = (field: string, text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Validation failed', [`${field}: not valid JSON`]);
  }
};

/** The detail's serializer (Fastify's own compiler, for the route's declared 200 schema), compiled on first use. */
let detailSerializer: ((d: Detail) => string) | undefined;
const serializeDetail = (d: Detail): string => {
  detailSerializer ??= (SerializerSelector()(undefined, {}) as (route: Record<string, unknown>) => (d: Detail) => string)({
    schema: Detail,
    method: 'GET',
    url: '/api/v1/packages/:scope/:name',
    httpStatus: '200',
  });
  return detailSerializer(d);
};

/** What a package's detail answers and the store keeps (PackageService.renderDocumentsWith): one rendering for both. */
const renderDetail: DetailRenderer = (view) => detailDocument(view, serializeDetail);

export const packageRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry, publicUrl }) => {
  registry.packages.renderDocumentsWith(renderDetail, detailWithDownloads);
  const query = async (ctx: RequestContext, q: ListQuery, kind: PackageKind | undefined, defaultSort: PackageSort) => {
    const page = q.page ?? 1;
    const limit = q.limit ?? 20;
    const result = await registry.packages.query(ctx, {
      text: q.q,
      kind,
      scope: q.scope?.replace(/^@/, ''),
      category: q.category,
      tag: q.tag,
      verified: q.verified,
      deprecated: q.deprecated,
      sort: q.sort ?? (q.q ? defaultSort : 'downloads'),
      mode: q.mode,
      offset: (page - 1) * limit,
      limit,
    });
    const search = result.search && { mode: result.search.mode, ...(result.search.semanticUnavailable ? { semantic_unavailable: result.search.semanticUnavailable } : {}) };
    return { items: result.rows.map((r) => listItem(r, result.owners.get(r.ownerAccountId), result.upstreams)), totals: { ...listTotal(result), ...search }, page, limit };
  };

  app.get('/search', {
    schema: {
      tags: ['agents'],
      summary: 'Full-text search (agents by default; kind=all for every kind)',
      querystring: SearchQuery,
      response: { 200: listResponse('agents'), ...errorResponses },
    },
    handler: async (req) => {
      const kind = req.query.kind === 'all' ? undefined : (req.query.kind ?? 'agent');
      const r = await query(await requestContext(registry, req), { ...req.query, kind: undefined }, kind, 'relevance');
      return { agents: r.items, ...r.totals, page: r.page, limit: r.limit };
    },
  });

  for (const route of KIND_ROUTES) {
    const base = `/${route.segment}`;
    const item = `${base}/:scope/:name`;
    const kind = route.kind;
    const tags = [route.tag];

    app.get(base, {
      schema: { tags, summary: `List and search ${route.segment}`, querystring: ListQuery, response: { 200: listResponse(route.listKey), ...errorResponses } },
      handler: async (req) => {
        const r = await query(await requestContext(registry, req), req.query, kind ?? req.query.kind, 'relevance');
        return { [route.listKey]: r.items, ...r.totals, page: r.page, limit: r.limit };
      },
    });

    app.get(item, {
      schema: {
        tags,
        summary: 'Package details (ETag / If-None-Match)',
        params: PackageParams,
        response: { 200: Detail, 304: Type.Null({ description: 'Not modified: the If-None-Match tag is current' }), ...errorResponses },
      },
      handler: async (req, reply) => {
        // The access rule decides first (a package the caller may not read is a 404, tag or no tag).
        // An uncached read is one lookup of the stored document (PackageService.document), sent as it is.
        const doc = await registry.packages.document(await requestContext(registry, req), req.params.scope, req.params.name, kind);
        void reply.header('ETag', doc.etag).header('Vary', 'Authorization, X-Api-Key');
        if (notModified(req, doc.etag)) return reply.status(304).send(null);
        // The document is the serializer's own text (Fastify sends a string with a JSON type as it is):
        // typed as what it encodes.
        return reply.type('application/json; charset=utf-8').send(doc.body as unknown as Detail);
      },
    });

    app.get(`${item}/versions`, {
      schema: { tags, summary: 'Version history, newest first', params: PackageParams, response: { 200: VersionsResponse, ...errorResponses } },
      handler: async (req) => {
        const { versions, sessionCounts } = await registry.packages.versions(await requestContext(registry, req), req.params.scope, req.params.name, kind);
        return { versions: versions.map((v) => versionItem(v, sessionCounts)) };
      },
    });

    app.get(`${item}/downloads`, {
      schema: {
        tags,
        summary: 'Downloads per UTC day (the package page chart)',
        params: PackageParams,
        querystring: DownloadsQuery,
        response: { 200: DownloadsResponse, ...errorResponses },
      },
      handler: async (req) => registry.insights.downloads(await requestContext(registry, req), req.params.scope, req.params.name, req.query.days ?? 30, kind),
    });

    app.get(`${item}/versions/:version/files`, {
      schema: {
        tags,
        summary: "The files of a version's tarball (a version or dist-tag)",
        params: VersionParams,
        response: { 200: FilesResponse, ...errorResponses },
      },
      handler: async (req) => registry.insights.files(await requestContext(registry, req), req.params.scope, req.params.name, req.params.version, kind),
    });

    // GET and HEAD in one route: only a GET counts a download (Fastify's automatic HEAD would run the
    // GET and count one for every HEAD).
    app.route({
      method: ['GET', 'HEAD'],
      url: `${item}/download/:version`,
      schema: {
        tags,
        summary: 'Resolve a version or dist-tag to its tarball (a GET counts a download, a HEAD does not)',
        params: VersionParams,
        response: { 200: DownloadResponse, ...errorResponses },
      },
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const { scope, name } = req.params;
        const { version } =
          req.method === 'HEAD' ? await registry.packages.getVersion(ctx, scope, name, req.params.version, { kind }) : await registry.packages.download(ctx, scope, name, req.params.version, kind);
        return {
          tarball_url: `${baseUrl(req, publicUrl)}/api/v1/blobs/${version.digest}`,
          sha256: version.digest.replace(/^sha256:/, ''),
          size: version.size,
        };
      },
    });

    app.delete(`${item}/:version`, {
      schema: { tags, summary: 'Unpublish a version (it can never be reused)', params: VersionParams, response: { 200: SuccessMessage, ...errorResponses } },
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const v = await registry.packageLifecycle.unpublish(ctx, req.params.scope, req.params.name, req.params.version, kind);
        return { success: true, message: `Version ${v.version} unpublished` };
      },
    });

    app.get(`${item}/dist-tags`, {
      schema: { tags, summary: 'Dist-tags', params: PackageParams, response: { 200: DistTagsResponse, ...errorResponses } },
      handler: async (req) => ({ dist_tags: await registry.packages.distTags(await requestContext(registry, req), req.params.scope, req.params.name, kind) }),
    });

    app.put(`${item}/dist-tags/:tag`, {
      schema: { tags, summary: "Point a dist-tag at a version ('latest' pins it)", params: TagParams, body: DistTagBody, response: { 200: DistTagsResponse, ...errorResponses } },
      validatorCompiler: strictValidatorCompiler,
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const distTags = await registry.packageLifecycle.setDistTag(ctx, req.params.scope, req.params.name, req.params.tag, req.body.version, kind);
        return { success: true, dist_tags: distTags };
      },
    });

    app.delete(`${item}/dist-tags/:tag`, {
      schema: { tags, summary: "Remove a dist-tag (removing 'latest' unpins it)", params: TagParams, response: { 200: DistTagsResponse, ...errorResponses } },
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const distTags = await registry.packageLifecycle.removeDistTag(ctx, req.params.scope, req.params.name, req.params.tag, kind);
        return { success: true, dist_tags: distTags };
      },
    });

    app.post(`${item}/versions/:version/deprecate`, {
      schema: { tags, summary: 'Deprecate a version (empty message un-deprecates)', params: VersionParams, body: DeprecateBody, response: { 200: DeprecateResponse, ...errorResponses } },
      validatorCompiler: strictValidatorCompiler,
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const v = await registry.packageLifecycle.deprecate(ctx, req.params.scope, req.params.name, req.params.version, req.body.message, kind);
        return { success: true, version: v.version, deprecated: v.deprecated };
      },
    });
  }
};

/**
 * The publish route of each kind: the only routes of the door that take multipart bodies, so the
 * door registers them, and the multipart parser with its per-request hooks, in a context of their own.
 */
export const publishRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry, publicUrl }) => {
  for (const route of KIND_ROUTES) {
    const item = `/${route.segment}/:scope/:name`;
    const kind = route.kind;
    const tags = [route.tag];

    app.put(item, {
      schema: {
        tags,
        summary: 'Publish a version (multipart: tarball, agent_yaml, readme)',
        consumes: ['multipart/form-data'],
        params: PackageParams,
        body: PublishBody,
        response: { 200: PublishResponse, ...errorResponses },
      },
      preValidation: async (req) => {
        if (!req.isMultipart()) {
          throw new AgentryError('unsupported_media_type', "Publishing expects multipart/form-data with the package in a 'tarball' file field");
        }
      },
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const body = req.body;
        const field = body.agent_yaml !== undefined ? 'agent_yaml' : 'manifest';
        const text = body.agent_yaml ?? body.manifest;
        const declared = text === undefined ? undefined : { field, value: parseJsonField(field, text) };
        const { pkg, version } = await registry.packages.publish(ctx, {
          kind,
          scope: req.params.scope,
          name: req.params.name,
          tarball: body.tarball,
          declaredManifest: declared,
          readme: body.readme,
          version: body.version,
          tag: body.tag,
          access: body.access,
          ...(body.signature !== undefined ? { signature: Buffer.from(body.signature) } : {}),
          idempotencyKey: req.headers['idempotency-key'],
        });
        return publishResult(pkg, version, baseUrl(req, publicUrl));
      },
    });
  }
};
