import { createHash } from 'node:crypto';
import { badGateway, isAgentryError } from '../../core/errors.js';
import type { AgentryUpstream, UpstreamEndpoint, UpstreamPackage, UpstreamPackagePage, UpstreamVersion } from '../../core/mirrors/mirror.js';
import { MIRROR_VIA_HEADER, formatMirrorVia } from '../../core/mirrors/mirror-via.js';

export interface AgentryUpstreamOptions {
  /** The egress policy's fetch: every request to an upstream goes through it. */
  fetch: typeof globalThis.fetch;
  /** How long one request may take (default 30 s). */
  timeoutMs?: number;
}

/** At most this much JSON is read from an upstream answer. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Upstream Agentry (and agentx-compatible) registries over their native API: `GET /api/v1/packages/
 * :scope/:name` (kind, dist-tags), `…/versions` (each version's sha256 and size), `/api/v1/blobs/
 * sha256:…` (the tarball, hashed as it arrives), `…/versions/:v/signatures` (the Sigstore bundles;
 * a registry without them answers 404: none) and `GET /api/v1/packages?sort=name` (a sync's list).
 * The mirror's password is sent as the bearer token (Agentry's tokens); it never appears in an error.
 */
export class HttpAgentryUpstream implements AgentryUpstream {
  constructor(private readonly opts: AgentryUpstreamOptions) {}

  private async get(endpoint: UpstreamEndpoint, path: string): Promise<Response | undefined> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'agentry-mirror' };
    if (endpoint.credentials) headers.authorization = `Bearer ${endpoint.credentials.password}`;
    if (endpoint.via && endpoint.via.length > 0) headers[MIRROR_VIA_HEADER] = formatMirrorVia(endpoint.via);
    let res: Response;
    try {
      res = await this.opts.fetch(`${endpoint.url}${path}`, { headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000), redirect: 'follow' });
    } catch (e) {
      throw badGateway(`The upstream at ${endpoint.url} could not be reached: ${isAgentryError(e) || e instanceof Error ? e.message : String(e)}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw badGateway(`The upstream at ${endpoint.url} answered ${res.status} to GET ${path.split('?')[0]}`);
    }
    return res;
  }

  private async json(endpoint: UpstreamEndpoint, path: string): Promise<Json | undefined> {
    const res = await this.get(endpoint, path);
    if (!res) return undefined;
    const bytes = await readAtMost(res, MAX_JSON_BYTES, endpoint.url);
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw badGateway(`The upstream at ${endpoint.url} answered GET ${path.split('?')[0]} with something that is not JSON`);
    }
    if (!isObject(body)) throw badGateway(`The upstream at ${endpoint.url} answered GET ${path.split('?')[0]} with JSON that is not an object`);
    return body;
  }

  async package(endpoint: UpstreamEndpoint, scope: string, name: string): Promise<UpstreamPackage | undefined> {
    const path = packagePath(scope, name);
    const detail = await this.json(endpoint, path);
    if (!detail) return undefined;
    const list = await this.json(endpoint, `${path}/versions`);
    if (!list) return undefined;
    const kind = str(detail.kind);
    const upstreamScope = str(detail.scope)?.replace(/^@/, '') ?? null;
    const upstreamName = str(detail.name);
    const tags = isObject(detail.dist_tags) ? detail.dist_tags : {};
    if (!kind || !upstreamScope || !upstreamName || !Array.isArray(list.versions)) throw badGateway(`The upstream at ${endpoint.url} described @${scope}/${name} in an unknown shape`);
    if (`${upstreamScope}/${upstreamName}`.toLowerCase() !== `${scope}/${name}`.toLowerCase()) {
      throw badGateway(`The upstream at ${endpoint.url} answered @${upstreamScope}/${upstreamName} when asked for @${scope}/${name}`);
    }
    const versions: UpstreamVersion[] = [];
    for (const v of list.versions as unknown[]) {
      if (!isObject(v)) continue;
      const version = str(v.version);
      const sha256 = str(v.sha256);
      const size = v.tarball_size;
      if (!version || !sha256 || !HEX64.test(sha256) || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw badGateway(`The upstream at ${endpoint.url} listed a version of @${scope}/${name} in an unknown shape`);
      }
      versions.push({ version, sha256, size, publishedAt: str(v.published_at), deprecated: str(v.deprecated) });
    }
    const distTags: Record<string, string> = {};
    for (const [tag, v] of Object.entries(tags)) if (typeof v === 'string') distTags[tag] = v;
    return { scope: upstreamScope, name: upstreamName, kind, distTags, versions };
  }

  async tarball(endpoint: UpstreamEndpoint, version: UpstreamVersion, maxBytes: number): Promise<Buffer | undefined> {
    const res = await this.get(endpoint, `/api/v1/blobs/sha256:${version.sha256}`);
    if (!res) return undefined;
    const bytes = await readAtMost(res, Math.min(maxBytes, version.size), endpoint.url);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== version.size || actual !== version.sha256) {
      throw badGateway(`The upstream at ${endpoint.url} sent bytes hashing to sha256:${actual} (${bytes.length} bytes) for sha256:${version.sha256} (${version.size} bytes); refused`);
    }
    return bytes;
  }

  async signatures(endpoint: UpstreamEndpoint, scope: string, name: string, version: string): Promise<Buffer[]> {
    const body = await this.json(endpoint, `${packagePath(scope, name)}/versions/${encodeURIComponent(version)}/signatures`);
    if (!body || !Array.isArray(body.signatures)) return [];
    return (body.signatures as unknown[]).flatMap((s) => (isObject(s) && isObject(s.bundle) ? [Buffer.from(JSON.stringify(s.bundle))] : []));
  }

  async list(endpoint: UpstreamEndpoint, q: { scope?: string; page: number; limit: number }): Promise<UpstreamPackagePage> {
    const params = new URLSearchParams({ sort: 'name', page: String(q.page), limit: String(q.limit) });
    if (q.scope) params.set('scope', q.scope);
    const body = await this.json(endpoint, `/api/v1/packages?${params.toString()}`);
    if (!body || !Array.isArray(body.packages)) throw badGateway(`The upstream at ${endpoint.url} has no package list`);
    const packages = (body.packages as unknown[]).flatMap((p) => {
      if (!isObject(p)) return [];
      const scope = str(p.scope)?.replace(/^@/, '');
      const name = str(p.name);
      const kind = str(p.kind);
      return scope && name && kind ? [{ scope, name, kind }] : [];
    });
    const total = typeof body.total === 'number' && body.total_estimated !== true ? body.total : null;
    return { packages, total };
  }
}

const packagePath = (scope: string, name: string): string => `/api/v1/packages/${encodeURIComponent(`@${scope}`)}/${encodeURIComponent(name)}`;

/** The body, refused once it grows past `max` bytes. */
const readAtMost = async (res: Response, max: number, url: string): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let total = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel();
        throw badGateway(`The upstream at ${url} sent more than the ${max} bytes expected; refused`);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (e) {
    if (isAgentryError(e)) throw e;
    throw badGateway(`The upstream at ${url} broke off: ${e instanceof Error ? e.message : String(e)}`);
  }
  return Buffer.concat(chunks, total);
};
