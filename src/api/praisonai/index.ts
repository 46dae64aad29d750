import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import type { PackageRecord } from '../../core/packages/package-repo.js';
import { notModified } from '../shared/conditional-get.js';
import { requestContext } from '../shared/request-context.js';
import { limitPathSegments } from '../shared/segment-limit.js';
import { bundleBytes } from './bundle-body.js';
import { checksumFor, clientDialect } from './client-dialect.js';
import { praisonaiErrorHandler } from './errors.js';
import {
  DeleteAllResponse,
  DeleteResponse,
  ListQuery,
  ListResponse,
  NameParams,
  PublishBody,
  PublishResponse,
  RecipeInfo,
  SearchQuery,
  SearchResponse,
  SearchResponseForClient,
  VersionInfo,
  VersionParams,
  errorResponses,
} from './schemas.js';

export interface PraisonaiDoorOptions {
  registry: Registry;
  /** Largest bundle accepted on publish, in bytes. */
  maxTarballBytes: number;
}

const DEFAULT_LIMIT = 50;
const tags = ['praisonai recipes'];

const splitTags = (s: string | undefined): string[] | undefined => {
  const list = (s ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
};

const item = (pkg: PackageRecord) => ({ name: pkg.name, version: pkg.latestVersion ?? '', description: pkg.description ?? '', tags: pkg.tags });

/**
 * PraisonAI's recipe registry (seed 001, `praisonai registry serve`) under `/v1`: recipes are packages
 * of kind `recipe` in the configured recipe scope (`registry.recipes`); this only translates.
 */
export const praisonaiDoor: FastifyPluginAsyncTypebox<PraisonaiDoorOptions> = async (app, { registry, maxTarballBytes }) => {
  app.setErrorHandler(praisonaiErrorHandler);
  // The router takes longer segments (for MCP server names); recipe names stay at most 100 characters.
  app.addHook('onRequest', limitPathSegments(128));
  // No not-found handler: `/v1` is shared with the managed-agents door (see api/door-errors.ts).
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fileSize: maxTarballBytes, files: 1, fields: 4, fieldSize: Math.ceil((maxTarballBytes * 4) / 3) + 1024, parts: 6 },
  });
  // praisonai's client sends `Content-Type: application/json` on every request, DELETE included,
  // with no body: read an empty body as none instead of refusing it; anything else parses as usual.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' && req.method !== 'POST') return done(null, undefined);
    return defaultJson(req, body.toString(), done);
  });
  const recipes = registry.recipes;

  app.get('/recipes', {
    schema: { tags, summary: 'List recipes', querystring: ListQuery, response: { 200: ListResponse, ...errorResponses } },
    handler: async (req) => {
      const q = req.query;
      const limit = q.limit ?? q.per_page ?? DEFAULT_LIMIT;
      const offset = q.offset ?? (q.page !== undefined ? (q.page - 1) * limit : 0);
      const page = await recipes.list(await requestContext(registry, req), { tags: splitTags(q.tags), limit, offset });
      return { recipes: page.rows.map(item), total: page.total, limit, offset };
    },
  });

  app.get('/search', {
    schema: {
      tags,
      summary: 'Search recipes by name, description and tags',
      description: "A list of recipes; praisonai's own Python client gets `{ok, query, results, count}` (see client-dialect.ts)",
      querystring: SearchQuery,
      response: { 200: Type.Union([SearchResponse, SearchResponseForClient]), ...errorResponses },
    },
    handler: async (req) => {
      const page = await recipes.list(await requestContext(registry, req), { text: req.query.q, tags: splitTags(req.query.tags), limit: req.query.limit ?? DEFAULT_LIMIT, offset: 0 });
      const results = page.rows.map(item);
      if (clientDialect(req) === 'praisonai-client') return { ok: true, query: req.query.q, results, count: results.length };
      return results;
    },
  });

  app.get('/recipes/:name', {
    schema: { tags, summary: 'Recipe info: latest and every version', params: NameParams, response: { 200: RecipeInfo, ...errorResponses } },
    handler: async (req) => {
      const { pkg, versions } = await recipes.info(await requestContext(registry, req), req.params.name);
      const dialect = clientDialect(req);
      return {
        name: pkg.name,
        latest: pkg.latestVersion,
        versions: Object.fromEntries(versions.map((v) => [v.version, { checksum: checksumFor(dialect, v.digest), published_at: v.publishedAt }])),
        description: pkg.description ?? '',
        tags: pkg.tags,
      };
    },
  });

  app.get('/recipes/:name/:version', {
    schema: { tags, summary: 'Version info with its manifest', params: VersionParams, response: { 200: VersionInfo, ...errorResponses } },
    handler: async (req) => {
      const { pkg, version } = await recipes.version(await requestContext(registry, req), req.params.name, req.params.version);
      const sum = checksumFor(clientDialect(req), version.digest);
      return { name: pkg.name, version: version.version, checksum: sum, published_at: version.publishedAt, size: version.size, manifest: version.manifest };
    },
  });

  // GET and HEAD in one route: a HEAD answers the headers without counting a download or reading
  // the bundle (Fastify's automatic HEAD would run the GET and do both).
  app.route({
    method: ['GET', 'HEAD'],
    url: '/recipes/:name/:version/download',
    schema: {
      tags,
      summary: 'Download the .praison bundle (ETag / If-None-Match); a HEAD counts no download',
      params: VersionParams,
      response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }), 304: Type.Null(), ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await requestContext(registry, req);
      const found = await recipes.version(ctx, req.params.name, req.params.version);
      const etag = `"${found.version.digest}"`;
      void reply.header('ETag', etag).header('Cache-Control', 'public, max-age=0, must-revalidate');
      if (notModified(req, etag)) return reply.status(304).send(null);
      const target = req.method === 'HEAD' ? found : await recipes.countDownload(found);
      const fileName = `${target.pkg.name}-${target.version.version}.praison`;
      void reply
        .header('Content-Type', 'application/gzip')
        .header('Content-Length', target.version.size)
        .header('Content-Disposition', `attachment; filename="${fileName}"`)
        .header('X-Checksum-SHA256', target.version.digest.replace(/^sha256:/, ''));
      if (req.method === 'HEAD') return reply.send('');
      return reply.send(await registry.blobAccess.open(ctx, target.version.digest, () => notFound(`Version not found: ${req.params.name}@${req.params.version}`)));
    },
  });

  app.post('/recipes/:name/:version', {
    bodyLimit: Math.ceil((maxTarballBytes * 4) / 3) + 64 * 1024,
    schema: {
      tags,
      summary: 'Publish a .praison bundle (JSON with base64, or multipart); 409 when the version exists unless force',
      consumes: ['application/json', 'multipart/form-data'],
      params: VersionParams,
      body: PublishBody,
      response: { 201: PublishResponse, ...errorResponses },
    },
    handler: async (req, reply) => {
      // Like praisonai's server, a read-only registry says so before asking who is calling.
      registry.policy.requireWritable();
      const ctx = await requestContext(registry, req);
      const bundle = bundleBytes(req.body.bundle);
      const { pkg, version } = await recipes.publish(ctx, req.params.name, req.params.version, bundle, req.body.force === true, req.body.access, req.headers['idempotency-key']);
      return reply.status(201).send({ ok: true, name: pkg.name, version: version.version, checksum: version.digest, published_at: version.publishedAt });
    },
  });

  app.delete('/recipes/:name/:version', {
    schema: { tags, summary: 'Delete a version (its number can never be reused)', params: VersionParams, response: { 200: DeleteResponse, ...errorResponses } },
    handler: async (req) => {
      registry.policy.requireWritable();
      const ctx = await requestContext(registry, req);
      const v = await recipes.remove(ctx, req.params.name, req.params.version);
      return { ok: true, message: `Deleted ${req.params.name}@${v.version}` };
    },
  });

  app.delete('/recipes/:name', {
    schema: {
      tags,
      summary: "Delete every version of a recipe (praisonai's server has it; seed 001 does not document it)",
      params: NameParams,
      response: { 200: DeleteAllResponse, ...errorResponses },
    },
    handler: async (req) => {
      registry.policy.requireWritable();
      const ctx = await requestContext(registry, req);
      const gone = await recipes.removeAll(ctx, req.params.name);
      return { ok: true, deleted: req.params.name, message: `Deleted ${req.params.name} (${gone.length} version${gone.length === 1 ? '' : 's'})` };
    },
  });
};
