import { mergeScopes, parseChallenges } from './challenge.js';
import { nodeFetch } from './node-fetch.js';
import { downloadFetch } from './raw-download.js';
import { basicAuthorization, type Credentials } from './credentials.js';
import { errorFromResponse, isTransientStatus, networkError, OciClientError, parseRetryAfter, type OciClientErrorContext } from './oci-client-error.js';
import type { RegistryEndpoint } from './reference.js';
import { canWait, DEFAULT_RETRY, retryDelayMs, wait, type RetryPolicy } from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request body, made anew for every try (a stream can be read only once). */
export type BodyFactory = () => NonNullable<RequestInit['body']>;

export interface TransportRequest {
  method: HttpMethod;
  /** Absolute, or a path under the registry's base URL (`/v2/…`). */
  url: string;
  /** The token scopes this request needs, e.g. `repository:team/agent:pull,push`. */
  scopes: readonly string[];
  headers?: Record<string, string>;
  body?: BodyFactory;
  /** The statuses that are an answer; any other is an error (after retries, for transient ones). */
  ok: readonly number[];
  /** What this is, for error messages. */
  ctx: OciClientErrorContext;
  /** Retry transient failures of this request alone (default true). Upload sessions retry as a whole instead. */
  retry?: boolean;
  /**
   * A large GET whose body is read once, by `takeRawBody`: sent over a connection of its own with
   * downloadFetch (see raw-download.ts), unless the transport was given a fetch of its own.
   */
  download?: boolean;
}

export interface TransportOptions {
  credentials?: Credentials;
  retry?: RetryPolicy;
  userAgent?: string;
  /** How requests are sent (default: node:http(s) for bodyless requests, the global fetch for the rest; see node-fetch.ts). */
  fetch?: typeof globalThis.fetch;
}

interface CachedToken {
  value: string;
  expiresAt: number;
  /** The scopes asked for (the registry may have granted fewer: a refusal then drops the token). */
  scopes: string[];
}

interface TokenEntry {
  pending: Promise<CachedToken>;
  settled?: CachedToken;
}

/** Whether `have` (merged scopes) grants every action of `want`. */
const covers = (have: readonly string[], want: readonly string[]): boolean =>
  want.every((w) => {
    const cut = w.lastIndexOf(':');
    const resource = w.slice(0, cut);
    const actions = w.slice(cut + 1).split(',');
    return have.some((h) => {
      const hc = h.lastIndexOf(':');
      if (h.slice(0, hc) !== resource) return false;
      const granted = h.slice(hc + 1).split(',');
      return actions.every((a) => granted.includes(a) || granted.includes('*'));
    });
  });

type AuthState = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * Speaks HTTP to one registry: the Docker/OCI auth flow (Bearer challenge → token from the realm,
 * with or without basic credentials; Basic; anonymous), tokens cached per scope, redirects followed by
 * hand so credentials never leave the registry's origin, and transient failures (5xx, 429 with its
 * Retry-After, connection resets) retried with exponential backoff.
 */
export class RegistryTransport {
  private auth: AuthState = { scheme: 'none' };
  private readonly tokens = new Map<string, TokenEntry>();
  /** Extra scopes a registry's challenge named for a request's scope set. */
  private readonly challengeScopes = new Map<string, string[]>();
  private readonly retryPolicy: RetryPolicy;
  private readonly userAgent: string;
  private readonly fetch: typeof globalThis.fetch;

  constructor(
    readonly endpoint: RegistryEndpoint,
    private readonly opts: TransportOptions = {},
  ) {
    this.retryPolicy = opts.retry ?? DEFAULT_RETRY;
    this.userAgent = opts.userAgent ?? 'agentry-oci-client';
    this.fetch = opts.fetch ?? nodeFetch;
  }

  get policy(): RetryPolicy {
    return this.retryPolicy;
  }

  /** Sends a request; answers a response whose status is in `req.ok`, else throws an OciClientError. */
  async send(req: TransportRequest): Promise<Response> {
    const retry = req.retry !== false;
    let reauthenticated = false;
    for (let attempt = 0; ;) {
      const authorization = await this.authorizationFor(req.scopes, req.ctx);
      let res: Response;
      try {
        res = await this.fetchFollowingRedirects(req, authorization);
      } catch (e) {
        if (e instanceof OciClientError) throw e;
        const err = networkError(e, req.ctx);
        if (retry && err.transient && attempt < this.retryPolicy.retries) {
          await wait(retryDelayMs(this.retryPolicy, attempt));
          attempt += 1;
          continue;
        }
        throw err;
      }
      if (res.status === 401 && !reauthenticated) {
        reauthenticated = true;
        const challenge = res.headers.get('www-authenticate');
        await res.body?.cancel().catch(() => undefined);
        await this.learnChallenge(challenge, req, authorization);
        continue;
      }
      if (req.ok.includes(res.status)) return res;
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      if (retry && isTransientStatus(res.status) && attempt < this.retryPolicy.retries && canWait(this.retryPolicy, retryAfter)) {
        await res.body?.cancel().catch(() => undefined);
        await wait(retryDelayMs(this.retryPolicy, attempt, retryAfter));
        attempt += 1;
        continue;
      }
      if (res.status === 401) throw await this.refused(res, req);
      throw await errorFromResponse(res, req.ctx);
    }
  }

  /** A 401 after logging in: wrong credentials, or a token without the scope this needs. */
  private async refused(res: Response, req: TransportRequest): Promise<OciClientError> {
    const base = await errorFromResponse(res, req.ctx);
    const hint = this.opts.credentials ? 'the credentials were refused or lack access' : 'the registry requires credentials';
    return new OciClientError('unauthorized', `${base.message}: ${hint}`, req.ctx, { httpStatus: 401, registryErrors: base.registryErrors });
  }

  private async fetchFollowingRedirects(req: TransportRequest, authorization: string | undefined): Promise<Response> {
    let url = new URL(req.url, this.endpoint.baseUrl);
    let method = req.method;
    let withBody = req.body !== undefined;
    const origin = new URL(this.endpoint.baseUrl).origin;
    const send = req.download && !this.opts.fetch ? downloadFetch : this.fetch;
    for (let hop = 0; ; hop += 1) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, 'accept-encoding': 'identity', ...req.headers };
      if (!withBody) {
        delete headers['content-length'];
        delete headers['content-type'];
      }
      if (authorization && url.origin === origin) headers.authorization = authorization;
      const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' };
      if (withBody && req.body) {
        init.body = req.body();
        init.duplex = 'half';
      }
      const res = await send(url, init);
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || !location) return res;
      await res.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new OciClientError('bad_gateway', `${req.ctx.operation} failed on ${this.endpoint.host}: too many redirects`, req.ctx, { httpStatus: res.status });
      url = new URL(location, url);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        withBody = false;
      }
    }
  }

  /** The Authorization value for a request with these scopes, fetching a token when one is due. */
  private async authorizationFor(scopes: readonly string[], ctx: OciClientErrorContext): Promise<string | undefined> {
    const creds = this.opts.credentials;
    if (this.auth.scheme === 'basic') return creds && 'password' in creds ? basicAuthorization(creds) : undefined;
    if (this.auth.scheme !== 'bearer') return undefined;
    const wanted = mergeScopes([...scopes, ...(this.challengeScopes.get(mergeScopes(scopes).join(' ')) ?? [])]);
    const now = Date.now();
    // Any live token whose scopes cover these will do: a pull,push token serves a pull.
    for (const entry of this.tokens.values()) {
      const t = entry.settled;
      if (t && t.expiresAt > now && covers(t.scopes, wanted)) return `Bearer ${t.value}`;
    }
    const key = wanted.join(' ');
    let entry = this.tokens.get(key);
    if (!entry || (entry.settled && entry.settled.expiresAt <= now)) {
      const auth = this.auth;
      const pending = this.fetchToken(auth, wanted, ctx);
      const fresh: TokenEntry = { pending };
      entry = fresh;
      this.tokens.set(key, fresh);
      pending.then(
        (t) => (fresh.settled = t),
        () => this.tokens.get(key) === fresh && this.tokens.delete(key),
      );
    }
    return `Bearer ${(await entry.pending).value}`;
  }

  /** Learns how the registry wants to be spoken to from its 401, and drops the token it refused. */
  private async learnChallenge(header: string | null, req: TransportRequest, sent: string | undefined): Promise<void> {
    const challenges = parseChallenges(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer && bearer.params.realm) {
      let realm: URL;
      try {
        realm = new URL(bearer.params.realm);
      } catch {
        throw new OciClientError('bad_gateway', `${req.ctx.operation} failed on ${this.endpoint.host}: the registry sent an invalid token realm`, req.ctx, { httpStatus: 401 });
      }
      if (realm.protocol !== 'http:' && realm.protocol !== 'https:') {
        throw new OciClientError('bad_gateway', `${req.ctx.operation} failed on ${this.endpoint.host}: the registry sent a token realm that is not http(s)`, req.ctx, { httpStatus: 401 });
      }
      if (this.auth.scheme !== 'bearer' || this.auth.realm !== realm.toString()) {
        this.auth = { scheme: 'bearer', realm: realm.toString(), ...(bearer.params.service ? { service: bearer.params.service } : {}) };
        this.tokens.clear();
      }
      if (bearer.params.scope) this.challengeScopes.set(mergeScopes(req.scopes).join(' '), bearer.params.scope.split(' '));
      const refused = sent?.replace(/^Bearer /, '');
      for (const [key, entry] of this.tokens) if (refused && entry.settled?.value === refused) this.tokens.delete(key);
      return;
    }
    if (basic) {
      if (!this.opts.credentials || !('password' in this.opts.credentials)) {
        throw new OciClientError(
          'unauthorized',
          `${req.ctx.operation} failed on ${this.endpoint.host}${req.ctx.repository ? `/${req.ctx.repository}` : ''}: the registry requires a username and password`,
          req.ctx,
          {
            httpStatus: 401,
          },
        );
      }
      this.auth = { scheme: 'basic' };
      return;
    }
    throw new OciClientError('unauthorized', `${req.ctx.operation} failed on ${this.endpoint.host}: the registry answered 401 without a usable WWW-Authenticate challenge`, req.ctx, {
      httpStatus: 401,
    });
  }

  /**
   * A token from the realm for these scopes: GET with Basic credentials (or none, anonymously), or,
   * with an identity token, the OAuth2 refresh-token POST. Transient failures are retried.
   */
  private async fetchToken(auth: { realm: string; service?: string }, scopes: string[], ctx: OciClientErrorContext): Promise<CachedToken> {
    const creds = this.opts.credentials;
    const url = new URL(auth.realm);
    const tokenCtx: OciClientErrorContext = { ...ctx, operation: `log in to ${this.endpoint.host} (token service ${url.origin}${url.pathname})` };
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    let init: RequestInit;
    if (creds && 'identityToken' in creds) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'agentry', scope: scopes.join(' ') });
      if (auth.service) form.set('service', auth.service);
      init = { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() };
    } else {
      if (auth.service) url.searchParams.set('service', auth.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds) headers.authorization = basicAuthorization(creds);
      init = { method: 'GET', headers };
    }
    for (let attempt = 0; ; attempt += 1) {
      let res: Response;
      try {
        res = await this.fetch(url, init);
      } catch (e) {
        const err = networkError(e, tokenCtx);
        if (err.transient && attempt < this.retryPolicy.retries) {
          await wait(retryDelayMs(this.retryPolicy, attempt));
          continue;
        }
        throw err;
      }
      if (res.ok) return this.readToken(res, tokenCtx, scopes);
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      if (isTransientStatus(res.status) && attempt < this.retryPolicy.retries && canWait(this.retryPolicy, retryAfter)) {
        await res.body?.cancel().catch(() => undefined);
        await wait(retryDelayMs(this.retryPolicy, attempt, retryAfter));
        continue;
      }
      const err = await errorFromResponse(res, tokenCtx);
      if (res.status === 401 || res.status === 403) {
        const who = creds ? `the credentials${creds.username ? ` of '${creds.username}'` : ''} were refused` : 'anonymous access was refused';
        throw new OciClientError('unauthorized', `${err.message}: ${who}`, tokenCtx, { httpStatus: res.status, registryErrors: err.registryErrors });
      }
      throw err;
    }
  }

  private async readToken(res: Response, ctx: OciClientErrorContext, scopes: string[]): Promise<CachedToken> {
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new OciClientError('bad_gateway', `${ctx.operation} failed: the token service answered something that is not JSON`, ctx, { httpStatus: res.status });
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const value = typeof b.token === 'string' && b.token ? b.token : typeof b.access_token === 'string' ? b.access_token : '';
    if (!value) throw new OciClientError('bad_gateway', `${ctx.operation} failed: the token service answered without a token`, ctx, { httpStatus: res.status });
    const lifetime = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 60;
    // Renew a little early so a token never expires in flight.
    return { value, scopes, expiresAt: Date.now() + Math.max(1, lifetime - 10) * 1000 };
  }
}
