import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../../core/errors.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const BlobParams = Type.Object({ digest: Type.String({ pattern: '^sha256:[a-f0-9]{64}$', description: 'sha256:<64 hex>' }) });

/** Content-addressed downloads: immutable, so ETag is the digest and caches may keep them forever. */
export const blobRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.get('/blobs/:digest', {
    schema: {
      tags: ['blobs'],
      summary: 'Download a tarball by digest (ETag / If-None-Match)',
      params: BlobParams,
      response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }), 304: Type.Null(), ...errorResponses },
    },
    handler: async (req, reply) => {
      const { digest } = req.params;
      const info = await registry.blobs.stat(digest);
      if (!info) throw notFound('Blob not found');
      const etag = `"${digest}"`;
      void reply.header('ETag', etag).header('Cache-Control', 'public, max-age=31536000, immutable');
      const inm = req.headers['if-none-match'];
      if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
        return reply.status(304).send(null);
      }
      void reply.header('Content-Type', 'application/gzip').header('Content-Length', info.size);
      return reply.send(await registry.blobs.open(digest));
    },
  });
};
