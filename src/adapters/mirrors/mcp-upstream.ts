import { badGateway } from '../../core/errors.js';
import type { McpUpstream, UpstreamMcpServer } from '../../core/mirrors/mcp-mirror.js';
import type { UpstreamEndpoint } from '../../core/mirrors/mirror.js';
import { MIRROR_VIA_HEADER, formatMirrorVia } from '../../core/mirrors/mirror-via.js';

export interface McpUpstreamOptions {
  /** The egress policy's fetch: every request to an upstream goes through it. */
  fetch: typeof globalThis.fetch;
  /** Per request (default 15 s). */
  timeoutMs?: number;
  /** The largest page body read (default 16 MiB). */
  maxPageBytes?: number;
}

const OFFICIAL = 'io.modelcontextprotocol.registry/official';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `<url>/v0.1/servers`, or `<url>/servers` when the URL already names an API version (`…/v0.1`, `…/v0`). */
export const serversUrl = (base: string): URL => {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = /\/v0(\.1)?$/.test(path) ? `${path}/servers` : `${path}/v0.1/servers`;
  return url;
};

/**
 * The login an MCP upstream is sent: with the username `token`, the password as a bearer token
 * (Agentry, the official registry); any other username, HTTP Basic.
 */
const authorization = (c: UpstreamEndpoint['credentials']): string | undefined => {
  if (!c) return undefined;
  if (c.username === 'token') return `Bearer ${c.password}`;
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
};

/**
 * MCP registries' `GET /v0.1/servers` (the official registry's generic API) over the egress
 * policy's fetch: one page per call, read up to a bound, checked for the listing's shape. Every
 * failure (unreachable, a refusal, nonsense) is a 502 naming the upstream, never its credentials.
 */
export class HttpMcpUpstream implements McpUpstream {
  constructor(private readonly opts: McpUpstreamOptions) {}

  async page(endpoint: UpstreamEndpoint, q: { cursor?: string; limit: number; signal?: AbortSignal }): Promise<{ servers: UpstreamMcpServer[]; nextCursor?: string }> {
    const url = serversUrl(endpoint.url);
    url.searchParams.set('limit', String(q.limit));
    if (q.cursor !== undefined) url.searchParams.set('cursor', q.cursor);
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 15_000);
    const auth = authorization(endpoint.credentials);
    let res: Response;
    try {
      res = await this.opts.fetch(url, {
        headers: {
          accept: 'application/json',
          'user-agent': 'agentry-mirror',
          ...(auth ? { authorization: auth } : {}),
          ...(endpoint.via && endpoint.via.length > 0 ? { [MIRROR_VIA_HEADER]: formatMirrorVia(endpoint.via) } : {}),
        },
        redirect: 'error',
        signal: q.signal ? AbortSignal.any([q.signal, timeout]) : timeout,
      });
    } catch (e) {
      if (q.signal?.aborted) throw e;
      throw badGateway(`The upstream at ${endpoint.url} could not be reached: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw badGateway(`The upstream at ${endpoint.url} answered ${res.status} to its server listing`);
    }
    const text = await this.readBounded(res, endpoint.url);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badGateway(`The upstream at ${endpoint.url} sent a server listing that is not JSON`);
    }
    if (!isObject(body) || !Array.isArray(body.servers)) throw badGateway(`The upstream at ${endpoint.url} sent no 'servers' list: is it an MCP registry (/v0.1)?`);
    const meta = isObject(body.metadata) ? body.metadata : {};
    const next = meta.nextCursor ?? meta.next_cursor;
    if (next !== undefined && next !== null && (typeof next !== 'string' || next.length > 4096)) throw badGateway(`The upstream at ${endpoint.url} sent a cursor that is not a string`);
    const servers = body.servers.map((e): UpstreamMcpServer => {
      if (!isObject(e) || !isObject(e.server)) return { server: {} };
      const official = isObject(e._meta) && isObject(e._meta[OFFICIAL]) ? e._meta[OFFICIAL] : undefined;
      return official ? { server: e.server, official } : { server: e.server };
    });
    // A page without entries that points further would never end.
    if (typeof next === 'string' && next !== '' && servers.length === 0) throw badGateway(`The upstream at ${endpoint.url} sent an empty page with a next cursor`);
    return typeof next === 'string' && next !== '' ? { servers, nextCursor: next } : { servers };
  }

  private async readBounded(res: Response, upstream: string): Promise<string> {
    const max = this.opts.maxPageBytes ?? 16 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    if (!res.body) return '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > max) throw badGateway(`The upstream at ${upstream} sent a server listing page over ${max} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
