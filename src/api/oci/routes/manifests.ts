import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_MANIFEST_BYTES } from '../../../core/oci/manifest.js';
import { ociContext } from '../auth.js';
import type { OciDoorOptions } from '../index.js';
import { NoBody, RepoParams, errorResponses, readLimited, repoPath } from './shared.js';

const ManifestParams = Type.Object({ ...RepoParams, reference: Type.String({ description: 'tag or digest' }) });

/** Manifests: pull (end-3), push by tag or digest (end-7a/7b), delete (end-9). */
export const manifestRoutes: FastifyPluginAsyncTypebox<OciDoorOptions> = async (app, { registry }) => {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/:name/manifests/:reference',
    schema: {
      tags: ['oci'],
      summary: 'Pull a manifest by tag or digest (end-3); package versions are served as Agentry artifacts',
      params: ManifestParams,
      response: { 200: Type.Unsafe<unknown>({ type: 'object' }), ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const m = await registry.oci.manifest(ctx, repo, req.params.reference);
      void reply.status(200).type(m.mediaType).header('Docker-Content-Digest', m.digest).header('ETag', `"${m.digest}"`).header('Content-Length', m.bytes.length);
      if (req.method === 'HEAD') return reply.send('');
      return reply.send(m.bytes);
    },
  });

  app.put('/:name/manifests/:reference', {
    schema: {
      tags: ['oci'],
      summary: 'Push a manifest by tag or digest (end-7a); ?tag= adds tags to a push by digest (end-7b)',
      params: ManifestParams,
      querystring: Type.Object({ tag: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }),
      response: { 201: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const bytes = await readLimited(req, MAX_MANIFEST_BYTES);
      const extra = req.query.tag === undefined ? [] : Array.isArray(req.query.tag) ? req.query.tag : [req.query.tag];
      const pushed = await registry.oci.putManifest(ctx, repo, req.params.reference, req.headers['content-type'], bytes, extra);
      void reply
        .status(201)
        .header('Location', `${repoPath(repo.name)}/manifests/${pushed.digest}`)
        .header('Docker-Content-Digest', pushed.digest)
        .header('Content-Length', 0);
      if (pushed.subject) void reply.header('OCI-Subject', pushed.subject);
      if (pushed.publishedVersion) void reply.header('Agentry-Published-Version', pushed.publishedVersion);
      if (extra.length > 0) void reply.header('OCI-Tag', pushed.tags.join(','));
      return reply.send('');
    },
  });

  app.delete('/:name/manifests/:reference', {
    schema: {
      tags: ['oci'],
      summary: 'Delete a manifest by digest (with the tags on it) or a tag (end-9)',
      params: ManifestParams,
      response: { 202: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      await registry.oci.deleteManifest(ctx, repo, req.params.reference);
      return reply.status(202).header('Content-Length', 0).send('');
    },
  });
};
