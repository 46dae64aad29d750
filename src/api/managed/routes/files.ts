import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { badRequest } from '../../../core/errors.js';
import type { FileView, ReceivedContent } from '../../../core/managed/files/file-service.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Bytes, Deleted, File, FileOrBytes } from '../responses.js';
import { IdParams } from '../schemas.js';

const tags = ['managed agents'];

export const fileJson = (f: FileView) => ({
  type: 'file' as const,
  id: f.id,
  filename: f.filename,
  mime_type: f.mimeType,
  size_bytes: f.sizeBytes,
  created_at: f.createdAt,
  expires_at: f.expiresAt,
  downloadable: true,
  scope: f.sessionId ? { type: 'session' as const, id: f.sessionId } : null,
  session_id: f.sessionId,
});

/** `Content-Disposition` for a download, with an RFC 5987 name for non-ASCII file names. */
const disposition = (filename: string): string => `attachment; filename="${filename.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(filename)}`;

/** The SDK asks for metadata with `Accept: application/json`; 002's download sends no such header. */
const wantsJson = (accept: string | undefined): boolean => accept !== undefined && /\bapplication\/json\b/i.test(accept);

/** `/v1/files`: multipart upload streamed into the blob store, metadata or bytes, delete. */
export const fileRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const files = registry.managed.files;
  await app.register(multipart, { limits: { fileSize: files.maxFileBytes, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12 } });

  app.post('/', {
    schema: {
      tags,
      summary: 'Upload a file (multipart: file, optional session_id and expires_in_seconds)',
      consumes: ['multipart/form-data'],
      response: { 200: File },
    },
    handler: async (req) => {
      const ctx = await callerOf(registry, req);
      let content: ReceivedContent | undefined;
      let filename = '';
      let mimeType = '';
      const fields: Record<string, string> = {};
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file') {
            part.file.resume();
            throw badRequest(`Unexpected file field '${part.fieldname}': send the file in a field named 'file'`);
          }
          content = await files.receive(ctx, part.file);
          filename = part.filename;
          mimeType = part.mimetype;
        } else fields[part.fieldname] = String(part.value);
      }
      if (!content) throw badRequest("Missing the file: send it as multipart/form-data in a field named 'file'");
      const expires = fields.expires_in_seconds;
      if (expires !== undefined && !/^[0-9]{1,12}$/.test(expires)) throw badRequest('expires_in_seconds must be a whole number of seconds');
      const file = await files.create(ctx, {
        content,
        filename,
        mimeType,
        sessionId: fields.session_id || null,
        expiresInSeconds: expires === undefined ? null : Number(expires),
      });
      return fileJson(file);
    },
  });

  app.get('/', {
    schema: {
      tags,
      summary: 'List files, newest first',
      querystring: Type.Object({ ...PageQuery, scope_id: Type.Optional(Type.String({ maxLength: 128 })), session_id: Type.Optional(Type.String({ maxLength: 128 })) }),
      response: { 200: ListOf(File) },
    },
    handler: async (req) => listBody(await files.list(await callerOf(registry, req), { ...pageRequest(req.query), sessionId: req.query.scope_id ?? req.query.session_id }), fileJson),
  });

  // GET and HEAD in one route each: a HEAD answers from the file's metadata without opening it
  // (Fastify's automatic HEAD would run the GET and read the whole file to throw it away).
  const sendBytes = async (method: string, id: string, reply: FastifyReply, ctx: Awaited<ReturnType<typeof callerOf>>) => {
    if (method === 'HEAD') {
      const file = await files.get(ctx, id);
      return reply.type(file.mimeType).header('content-length', file.sizeBytes).header('content-disposition', disposition(file.filename)).send('');
    }
    const { file, body } = await files.open(ctx, id);
    return reply.type(file.mimeType).header('content-length', file.sizeBytes).header('content-disposition', disposition(file.filename)).send(body);
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: '/:id',
    schema: { tags, summary: "A file's metadata (Accept: application/json, the SDK) or its bytes (otherwise, 002)", params: IdParams, response: { 200: FileOrBytes } },
    handler: async (req, reply) => {
      const ctx = await callerOf(registry, req);
      if (wantsJson(req.headers.accept)) return fileJson(await files.get(ctx, req.params.id));
      return sendBytes(req.method, req.params.id, reply, ctx);
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/:id/content',
    schema: { tags, summary: "A file's bytes", params: IdParams, response: { 200: Bytes } },
    handler: async (req, reply) => sendBytes(req.method, req.params.id, reply, await callerOf(registry, req)),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete a file', params: IdParams, response: { 200: Deleted('file_deleted') } },
    handler: async (req) => {
      await files.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'file_deleted' as const };
    },
  });
};
