import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notModified } from '../../shared/conditional-get.js';
import { requestContext } from '../../shared/request-context.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const BlobParams = Type.Object({ digest: Type.String({ pattern: '^sha256:[a-f0-9]{64}$', description: 'sha256:<64 hex>' }) });

/** Content-addressed downloads: immutable, so ETag is the digest and caches may keep them forever. */
export const blobRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  // GET and HEAD in one route: a HEAD is answered from the blob's size (metadata), never opening
  // it (Fastify's automatic HEAD would run the GET and read the whole blob to throw it away).
  app.route({
    method: ['GET', 'HEAD'],
    url: '/blobs/:digest',
    schema: {
      tags: ['blobs'],
      summary:
        'Download a blob by digest (ETag / If-None-Match): only when the caller may read a package version, OCI repository or managed object that refers to it; 404 otherwise. With --blob-redirects a GET answers 307 to a presigned URL of the blob store',
      params: BlobParams,
      response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }), 304: Type.Null(), 307: Type.Null(), ...errorResponses },
    },
    handler: async (req, reply) => {
      const { digest } = req.params;
      // Only through what owns the blob: a digest the caller may not read is the same 404 as a missing one.
      const ctx = await requestContext(registry, req);
      const blob = await registry.blobAccess.find(ctx, digest);
      const etag = `"${digest}"`;
      // What an anonymous caller may read, anyone may: shared caches may keep it. Otherwise only the caller's own cache.
      const cache = ctx.principal ? 'private' : 'public';
      void reply.header('ETag', etag).header('Cache-Control', `${cache}, max-age=31536000, immutable`).header('Vary', 'Authorization, X-Api-Key');
      if (notModified(req, etag)) return reply.status(304).send(null);
      // After the access check: a short-lived URL of the blob store, for GET only (HEAD answers here).
      const redirect = req.method === 'GET' ? await blob.redirectUrl({ contentType: 'application/gzip', cacheControl: `${cache}, max-age=31536000, immutable` }) : undefined;
      if (redirect) {
        // The URL expires: the redirect itself is never cached, the bytes behind it are.
        reply.removeHeader('ETag');
        return reply.status(307).header('Location', redirect).header('Cache-Control', 'no-store').send(null);
      }
      void reply.header('Content-Type', 'application/gzip').header('Content-Length', blob.size);
      if (req.method === 'HEAD') return reply.send('');
      return reply.send(await blob.open());
    },
  });
};
