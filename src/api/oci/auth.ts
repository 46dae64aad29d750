import type { FastifyRequest } from 'fastify';
import type { OciContext } from '../../core/oci/access.js';
import { ociError } from '../../core/oci/oci-errors.js';
import type { Registry } from '../../core/registry.js';
import { baseUrl } from '../shared/base-url.js';
import { mirrorViaOf } from '../shared/mirror-via.js';

/** The path of the token endpoint of the Docker token flow. */
export const TOKEN_PATH = '/v2/token';

/** The scope a request needs, from its route and method, for the challenge. */
const scopeFor = (request: FastifyRequest): string | undefined => {
  const params = request.params as { name?: string } | undefined;
  if (!params?.name) return undefined;
  const actions = request.method === 'GET' || request.method === 'HEAD' ? 'pull' : request.method === 'DELETE' ? 'delete' : 'pull,push';
  return `repository:${params.name}:${actions}`;
};

/** `WWW-Authenticate: Bearer realm=…,service=…,scope=…`: where and for what to get a token. */
export const challenge = (request: FastifyRequest, publicUrl: string | undefined, scope?: string): string => {
  const base = baseUrl(request, publicUrl);
  const wanted = scope ?? scopeFor(request);
  const service = new URL(base).host;
  return `Bearer realm="${base}${TOKEN_PATH}",service="${service}"${wanted ? `,scope="${wanted}"` : ''}`;
};

/** The username and password of `Authorization: Basic …`, if that is what was sent. */
export const basicCredentials = (request: FastifyRequest): { username: string; password: string } | undefined => {
  const auth = request.headers.authorization;
  const m = typeof auth === 'string' ? /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(auth) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw ociError('UNAUTHORIZED', 'Malformed Basic credentials: expected username:token');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
};

/**
 * Who calls the OCI door. Accepted credentials: a registry bearer token from the token endpoint,
 * an Agentry token as `Bearer` or `x-api-key`, or HTTP Basic with any username and an Agentry
 * token as the password. Nothing sent is anonymous; anything sent must be valid (else 401).
 */
export const ociContext = async (registry: Registry, request: FastifyRequest): Promise<OciContext> => ({ ...(await ociCaller(registry, request)), ...mirrorViaOf(request) });

const ociCaller = async (registry: Registry, request: FastifyRequest): Promise<OciContext> => {
  const ip = request.ip ?? null;
  const basic = basicCredentials(request);
  if (basic) return { principal: await registry.tokens.authenticate(basic.password), ip };
  const auth = request.headers.authorization;
  let secret: string | undefined;
  if (typeof auth === 'string' && auth.length > 0) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw ociError('UNAUTHORIZED', 'Unsupported Authorization scheme: use Bearer or Basic');
    secret = m[1];
  } else if (typeof request.headers['x-api-key'] === 'string' && request.headers['x-api-key'].length > 0) {
    secret = request.headers['x-api-key'].trim();
  }
  if (secret === undefined) return { principal: null, ip };
  if (registry.oci.tokens.isRegistryToken(secret)) return registry.oci.tokens.verify(secret, ip);
  return { principal: await registry.tokens.authenticate(secret), ip };
};
