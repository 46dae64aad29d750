import type { FastifyInstance } from 'fastify';
import type { EgressPolicy } from '../adapters/egress/index.js';

const NULL_BODY = new Set([101, 204, 205, 304]);

const urlOf = (input: Parameters<typeof globalThis.fetch>[0]): URL => new URL(input instanceof Request ? input.url : String(input));

/** A `fetch` answered by this server's own HTTP app in-process (Fastify's inject): no socket, no egress. */
const injectFetch =
  (app: FastifyInstance): typeof globalThis.fetch =>
  async (input, init) => {
    const url = urlOf(input);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    headers.host = url.host;
    const body = init?.body;
    const payload = body === undefined || body === null ? undefined : Buffer.from(await new Response(body).arrayBuffer());
    const method = (init?.method ?? 'GET').toUpperCase() as 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    const res = await app.inject({ method, url: `${url.pathname}${url.search}`, headers, payload });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [String(v)]) out.append(k, one);
    }
    const empty = NULL_BODY.has(res.statusCode) || method === 'HEAD';
    return new Response(empty ? null : res.rawPayload, { status: res.statusCode, statusText: res.statusMessage, headers: out });
  };

/**
 * How the server's outbound OCI requests are sent: to this server's own `/v2/` in-process (as the
 * caller, through the OCI door and its access rules), to anything else through the egress policy.
 * Until the server listens, everything goes through the policy.
 */
export class SelfRegistryRouter {
  private own = new Set<string>();
  private inProcess: typeof globalThis.fetch | undefined;

  constructor(private readonly egress: EgressPolicy) {}

  /** The server is up: these `host:port` names are this server. */
  useApp(app: FastifyInstance, hosts: readonly string[]): void {
    this.own = new Set(hosts.map((h) => h.toLowerCase()));
    this.inProcess = injectFetch(app);
  }

  readonly fetch: typeof globalThis.fetch = (input, init) => {
    const host = urlOf(input).host.toLowerCase();
    if (this.inProcess && this.own.has(host)) return this.inProcess(input, init);
    return this.egress.fetch(input, init);
  };
}
