import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AgentryError } from '../../core/errors.js';

/** RFC 3986 authority as a Host header holds it: a reg-name or IPv4, or a bracketed IPv6, and an optional port. */
const HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/** Hosts already found valid: nearly every request names one of a few (parsing a URL for each cost microseconds). */
const known = new Set<string>();
const KNOWN_MAX = 256;

const validHost = (host: string): boolean => {
  if (known.has(host)) return true;
  if (!parseHost(host)) return false;
  if (known.size >= KNOWN_MAX) known.clear();
  known.add(host);
  return true;
};

const parseHost = (host: string): boolean => {
  const m = HOST.exec(host);
  if (!m || (m[1] !== undefined && Number(m[1]) > 65535)) return false;
  try {
    new URL(`http://${host}/`);
    return true;
  } catch {
    return false;
  }
};

/**
 * `onRequest` hook on the root instance: a Host header that is not a host (and port), or none on
 * HTTP/1.1, is a 400,
 * before any door builds a link, a redirect or a `WWW-Authenticate` realm from it. Synchronous
 * (a callback hook): Fastify turns a throw into the request's error.
 */
export const refuseBadHost = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
  const host = request.headers.host;
  // HTTP/1.1 requires the header (RFC 9112 §3.2); an HTTP/1.0 request may go without.
  if (host === undefined ? request.raw.httpVersion !== '1.0' : !validHost(host))
    throw new AgentryError('bad_request', 'The Host header is not a valid host name', ['expected host[:port], e.g. registry.example.com:8080']);
  done();
};
