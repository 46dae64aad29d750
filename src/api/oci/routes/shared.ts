import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { payloadTooLarge } from '../../../core/errors.js';

/**
 * The characters a repository name component may hold at all (the core checks the exact grammar):
 * nothing else reaches a rule, a query or the `WWW-Authenticate` challenge that repeats the name.
 */
const REPO_COMPONENT = '^[A-Za-z0-9._-]+$';

/** Path parameters of every repository route: `/v2/<scope>/<name>/…`. */
export const RepoParams = {
  scope: Type.String({ pattern: REPO_COMPONENT, maxLength: 128, description: 'Agentry scope (first component of the repository name)' }),
  name: Type.String({ pattern: REPO_COMPONENT, maxLength: 128, description: 'Package or repository name (second component)' }),
};

/** A response without a body (201, 202, 204, HEAD). */
export const NoBody = Type.Unsafe<string>({ description: 'no body' });

export const ErrorBody = Type.Object(
  {
    errors: Type.Array(Type.Object({ code: Type.String(), message: Type.String(), detail: Type.Optional(Type.Unknown()) })),
  },
  { description: 'OCI error body' },
);

export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 405: ErrorBody, 413: ErrorBody, 416: ErrorBody };

/** The raw request body stream (the door's parser passes it through), or nothing. */
export const bodyStream = (request: FastifyRequest): Readable | undefined => (request.body instanceof Readable ? request.body : undefined);

/** Reads a small body (a manifest) into memory, refusing more than `limit` bytes with 413. */
export const readLimited = async (request: FastifyRequest, limit: number): Promise<Buffer> => {
  const stream = bodyStream(request);
  if (!stream) return Buffer.alloc(0);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    stream.resume();
    throw payloadTooLarge(`The body is ${declared} bytes; at most ${limit} are accepted here`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.resume();
      throw payloadTooLarge(`The body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
};

/** `Content-Length` as a number, when sent. */
export const contentLength = (request: FastifyRequest): number | undefined => {
  const v = request.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

/** The repository path of a name, for Location headers. */
export const repoPath = (name: string): string => `/v2/${name}`;
