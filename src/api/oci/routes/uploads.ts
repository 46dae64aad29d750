import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { ChunkRange, UploadState } from '../../../core/oci/blob-uploads.js';
import { ociError } from '../../../core/oci/oci-errors.js';
import { ociContext } from '../auth.js';
import type { OciDoorOptions } from '../index.js';
import { NoBody, RepoParams, bodyStream, contentLength, errorResponses, repoPath } from './shared.js';

const UploadParams = Type.Object({ ...RepoParams, uuid: Type.String() });

/** `Content-Range: <start>-<end>` of a chunk (a `bytes ` or `bytes=` prefix is tolerated). */
const parseContentRange = (header: string | undefined): ChunkRange | undefined => {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw ociError('BLOB_UPLOAD_INVALID', `Content-Range '${header}' is not <start>-<end>`);
  const range = { start: Number(m[1]), end: Number(m[2]) };
  if (range.end < range.start) throw ociError('RANGE_INVALID', `Content-Range '${header}' ends before it starts`);
  return range;
};

const emptyBody = (): Readable => Readable.from([]);

/** 202 with where the upload continues and what the registry has of it. */
const accepted = (reply: FastifyReply, repo: string, state: UploadState, status = 202) =>
  reply
    .status(status)
    .header('Location', `${repoPath(repo)}/blobs/uploads/${state.id}`)
    .header('Range', `0-${Math.max(0, state.size - 1)}`)
    .header('Docker-Upload-UUID', state.id)
    .header('Content-Length', 0)
    .send('');

const created = (reply: FastifyReply, repo: string, digest: string) =>
  reply
    .status(201)
    .header('Location', `${repoPath(repo)}/blobs/${digest}`)
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', 0)
    .send('');

/** Blob push: start (end-4a/4b), mount (end-11), chunks (end-5), finish (end-6), status (end-13), cancel (end-14). */
export const uploadRoutes: FastifyPluginAsyncTypebox<OciDoorOptions> = async (app, { registry }) => {
  app.post('/:name/blobs/uploads/', {
    // Blob bytes are opaque whatever their Content-Type: the JSON guard does not read them.
    config: { opaqueBody: true },
    schema: {
      tags: ['oci'],
      summary: 'Start a blob upload (end-4a), push a whole blob with ?digest= (end-4b), or mount one from another repository (end-11)',
      params: Type.Object(RepoParams),
      querystring: Type.Object({
        digest: Type.Optional(Type.String()),
        mount: Type.Optional(Type.String()),
        from: Type.Optional(Type.String()),
        'digest-algorithm': Type.Optional(Type.String()),
      }),
      response: { 201: NoBody, 202: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const { digest, mount, from } = req.query;
      const algorithm = req.query['digest-algorithm'];
      if (algorithm !== undefined && algorithm !== 'sha256') throw ociError('UNSUPPORTED', `Digest algorithm '${algorithm}' is not supported: use sha256`);
      if (mount !== undefined && from !== undefined) {
        const mounted = await registry.oci.mountBlob(ctx, repo, mount, from);
        if (mounted) return created(reply, repo.name, mounted.digest);
      }
      if (digest !== undefined) {
        const blob = await registry.oci.uploads.monolithic(ctx, repo, digest, bodyStream(req) ?? emptyBody(), contentLength(req));
        return created(reply, repo.name, blob.digest);
      }
      bodyStream(req)?.resume();
      return accepted(reply, repo.name, await registry.oci.uploads.start(ctx, repo));
    },
  });

  app.get('/:name/blobs/uploads/:uuid', {
    schema: {
      tags: ['oci'],
      summary: 'Status of a blob upload (end-13): 204 with Range',
      params: UploadParams,
      response: { 204: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      return accepted(reply, repo.name, await registry.oci.uploads.status(ctx, repo, req.params.uuid), 204);
    },
  });

  app.patch('/:name/blobs/uploads/:uuid', {
    // Blob bytes are opaque whatever their Content-Type: the JSON guard does not read them.
    config: { opaqueBody: true },
    schema: {
      tags: ['oci'],
      summary: 'Upload a chunk (end-5); with Content-Range it must start where the upload ends (else 416)',
      params: UploadParams,
      response: { 202: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const range = parseContentRange(req.headers['content-range']);
      const state = await registry.oci.uploads.append(ctx, repo, req.params.uuid, bodyStream(req) ?? emptyBody(), range, contentLength(req));
      return accepted(reply, repo.name, state);
    },
  });

  app.put('/:name/blobs/uploads/:uuid', {
    // Blob bytes are opaque whatever their Content-Type: the JSON guard does not read them.
    config: { opaqueBody: true },
    schema: {
      tags: ['oci'],
      summary: 'Finish a blob upload (end-6) with ?digest=, optionally with the last chunk',
      params: UploadParams,
      querystring: Type.Object({ digest: Type.Optional(Type.String()) }),
      response: { 201: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      const range = parseContentRange(req.headers['content-range']);
      const blob = await registry.oci.uploads.complete(ctx, repo, req.params.uuid, req.query.digest, bodyStream(req), range, contentLength(req));
      return created(reply, repo.name, blob.digest);
    },
  });

  app.delete('/:name/blobs/uploads/:uuid', {
    schema: {
      tags: ['oci'],
      summary: 'Cancel a blob upload (end-14)',
      params: UploadParams,
      response: { 204: NoBody, ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      const repo = registry.oci.repository(req.params.name);
      await registry.oci.uploads.cancel(ctx, repo, req.params.uuid);
      return reply.status(204).send('');
    },
  });
};
