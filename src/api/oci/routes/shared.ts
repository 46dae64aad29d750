import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { payloadTooLarge } from '../../../core/errors.js';

/**
 * The characters a repository name may hold at all (the core checks the exact grammar): nothing
 * else reaches a rule, a query or the `WWW-Authenticate` challenge that repeats the name.
 */
const REPO_NAME = '^[A-Za-z0-9._/-]+$';

/**
 * Path parameters of every repository route: `/v2/<name>/…`, where the name has any number of
 * components (`scope/app`, `scope/team/app`); `ociRepositoryUrl` makes it one router parameter.
 */
export const RepoParams = {
  name: Type.String({
    pattern: REPO_NAME,
    maxLength: 255,
    description: 'Repository name, any depth: the first component is the Agentry scope (account or organisation) that owns it',
  }),
};

/** What follows the repository name in a `/v2/` URL: the last such part, since names may contain these words. */
const REPOSITORY_URL = /^\/v2\/(.+)\/(blobs\/uploads\/[^/]*|blobs\/[^/]+|manifests\/[^/]+|tags\/list|referrers\/[^/]+)$/;

/**
 * Rewrites `/v2/a/b/c/blobs/…` to `/v2/a%2Fb%2Fc/blobs/…` before routing, so that a repository
 * name of any depth is the one `:name` parameter (the router decodes it back to `a/b/c`). Any
 * other URL is left as it is.
 */
export const ociRepositoryUrl = (url: string): string => {
  if (!url.startsWith('/v2/')) return url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const m = REPOSITORY_URL.exec(path);
  if (!m || !m[1].includes('/')) return url;
  return `/v2/${m[1].replaceAll('/', '%2F')}/${m[2]}${q < 0 ? '' : url.slice(q)}`;
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
