import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ByteRange } from '../../../core/blobs/blob-access.js';
import { ociError } from '../../../core/oci/oci-errors.js';
import { ociContext } from '../auth.js';
import type { OciDoorOptions } from '../index.js';
import { NoBody, RepoParams, errorResponses } from './shared.js';

/** Parses one `Range: bytes=…` range against a blob of `size` bytes; undefined means the whole blob. */
const parseRange = (header: string | undefined, size: number): ByteRange | undefined => {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // not a single byte range: serve it all
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw ociError('RANGE_INVALID', `Range ${header} is empty`, { size });
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw ociError('RANGE_INVALID', `Range ${header} starts beyond the blob's ${size} bytes`, { size });
  return { start, end };
};

/** Blobs: pull (end-2, with Range) and delete (end-10). */
export const blobRoutes: FastifyPluginAsyncTypebox<OciDoorOptions> = async (app, { registry }) => {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/:name/blobs/:digest',
    schema: {
      tags: ['oci'],
      summary: 'Pull a blob (end-2); Range requests give 206; with --blob-redirects a GET answers 307 to a presigned URL of the blob store',
      params: Type.Object({ ...RepoParams, digest: Type.String() }),
      response: {
        200: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }),
        206: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }),
        307: NoBody,
        ...errorResponses,
      },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const blob = await registry.oci.blob(ctx, repo, req.params.digest);
      let range: ByteRange | undefined;
      try {
        range = parseRange(req.headers.range, blob.size);
      } catch (e) {
        void reply.header('Content-Range', `bytes */${blob.size}`);
        throw e;
      }
      // Redirects are for the bytes only: HEAD is answered here, and a GET only once the caller
      // passed the access check and its range is known to fit (the client repeats Range there).
      const redirect = req.method === 'GET' ? await blob.redirectUrl() : undefined;
      if (redirect) {
        return reply.status(307).header('Location', redirect).header('Docker-Content-Digest', blob.digest).header('Cache-Control', 'no-store').header('Content-Length', 0).send('');
      }
      void reply
        .header('Docker-Content-Digest', blob.digest)
        .header('ETag', `"${blob.digest}"`)
        .header('Accept-Ranges', 'bytes')
        .header('Cache-Control', 'max-age=31536000')
        .type('application/octet-stream');
      if (range) {
        void reply
          .status(206)
          .header('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`)
          .header('Content-Length', range.end - range.start + 1);
      } else {
        void reply.status(200).header('Content-Length', blob.size);
      }
      if (req.method === 'HEAD') return reply.send('');
      return reply.send(await blob.open(range));
    },
  });

  app.delete('/:name/blobs/:digest', {
    schema: {
      tags: ['oci'],
      summary: 'Delete a blob from a repository (end-10); its bytes go at the next garbage collection',
      params: Type.Object({ ...RepoParams, digest: Type.String() }),
      response: { 202: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      await registry.oci.deleteBlob(ctx, repo, req.params.digest);
      return reply.status(202).header('Content-Length', 0).send('');
    },
  });
};
