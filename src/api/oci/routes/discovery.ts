import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { OCI_INDEX } from '../../../core/oci/media-types.js';
import { ociContext } from '../auth.js';
import type { OciDoorOptions } from '../index.js';
import { RepoParams, errorResponses, repoPath } from './shared.js';

const Descriptor = Type.Object({
  mediaType: Type.String(),
  digest: Type.String(),
  size: Type.Integer(),
  artifactType: Type.Optional(Type.String()),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
});

/** Content discovery: tags (end-8a/8b, with Link pagination) and referrers (end-12a/12b). */
export const discoveryRoutes: FastifyPluginAsyncTypebox<OciDoorOptions> = async (app, { registry }) => {
  app.get('/:name/tags/list', {
    schema: {
      tags: ['oci'],
      summary: 'List tags (end-8a): OCI tags, package versions and dist-tags, in lexical order; ?n=&last= pages (end-8b)',
      params: Type.Object(RepoParams),
      querystring: Type.Object({ n: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })), last: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ name: Type.String(), tags: Type.Array(Type.String()) }), ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const page = await registry.oci.tags(ctx, repo, req.query.n, req.query.last);
      if (page.nextLast !== null && req.query.n !== undefined) {
        const next = new URLSearchParams({ n: String(req.query.n), last: page.nextLast });
        void reply.header('Link', `<${repoPath(repo.name)}/tags/list?${next.toString()}>; rel="next"`);
      }
      return { name: page.name, tags: page.tags };
    },
  });

  app.get('/_catalog', {
    schema: {
      tags: ['oci'],
      summary: 'List repositories (distribution extension): the OCI repositories and packages the caller may read, in byte order; ?n=&last= pages',
      querystring: Type.Object({ n: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })), last: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ repositories: Type.Array(Type.String()) }), ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const page = await registry.oci.catalog(ctx, req.query.n, req.query.last);
      if (page.nextLast !== null) {
        const next = new URLSearchParams({ ...(req.query.n !== undefined ? { n: String(req.query.n) } : {}), last: page.nextLast });
        void reply.header('Link', `</v2/_catalog?${next.toString()}>; rel="next"`);
      }
      return { repositories: page.repositories };
    },
  });

  app.get('/:name/referrers/:digest', {
    schema: {
      tags: ['oci'],
      summary: 'Manifests whose subject is <digest> (end-12a), optionally only of one artifactType (end-12b)',
      params: Type.Object({ ...RepoParams, digest: Type.String() }),
      querystring: Type.Object({ artifactType: Type.Optional(Type.String()) }),
      response: {
        200: Type.Unsafe<Buffer>(Type.Object({ schemaVersion: Type.Literal(2), mediaType: Type.String(), manifests: Type.Array(Descriptor) })),
        ...errorResponses,
      },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const list = await registry.oci.referrers(ctx, repo, req.params.digest, req.query.artifactType);
      if (list.filtered) void reply.header('OCI-Filters-Applied', 'artifactType');
      // Sent as bytes so the media type goes out exactly (no charset appended).
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: list.manifests }));
      return reply.type(OCI_INDEX).send(index);
    },
  });
};
