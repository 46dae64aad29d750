import { ProviderError, type OAuthClient, type ProviderProfile } from '../../core/oauth/oauth-client.js';
import { UNREACHABLE, type EgressPolicy } from '../egress/index.js';

export interface OAuthProviderConfig {
  /** Recorded with linked identities; `github` by default. */
  name: string;
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  scopes: string;
}

const TIMEOUT_MS = 10_000;

/**
 * The OAuth2 authorization-code flow over HTTP, for GitHub and any OAuth2/OIDC provider: the token
 * endpoint gets the code, redirect URI and client credentials as a form (RFC 6749 §4.1.3), the user
 * comes from the userinfo endpoint, read as GitHub (`id`, `login`, `avatar_url`) or OIDC
 * (`sub`, `preferred_username`, `picture`) names it.
 */
export class HttpOAuthClient implements OAuthClient {
  constructor(
    private readonly cfg: OAuthProviderConfig,
    private readonly egress: EgressPolicy,
  ) {}

  get provider(): string {
    return this.cfg.name;
  }

  authorizeUrl(state: string, redirectUri: string): string {
    const u = new URL(this.cfg.authorizeUrl);
    u.searchParams.set('client_id', this.cfg.clientId);
    u.searchParams.set('redirect_uri', redirectUri);
    u.searchParams.set('response_type', 'code');
    if (this.cfg.scopes) u.searchParams.set('scope', this.cfg.scopes);
    u.searchParams.set('state', state);
    return u.toString();
  }

  async exchangeCode(code: string, redirectUri: string): Promise<string> {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: this.cfg.clientId,
      client_secret: this.cfg.clientSecret,
    });
    const res = await this.call(this.cfg.tokenUrl, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const text = await res.text();
    const data = parseTokenResponse(text, res.headers.get('content-type'));
    // GitHub answers a bad code with 200 and an `error` field; others with 400/401.
    if (!res.ok || typeof data.error === 'string' || typeof data.access_token !== 'string') {
      const why = typeof data.error === 'string' ? `${data.error}${typeof data.error_description === 'string' ? `: ${data.error_description}` : ''}` : `HTTP ${res.status}`;
      if (res.status >= 500) throw new ProviderError('unreachable', `token endpoint answered ${why}`);
      throw new ProviderError('refused', `token endpoint refused the code (${why})`);
    }
    return data.access_token;
  }

  async fetchProfile(accessToken: string): Promise<ProviderProfile> {
    const res = await this.call(this.cfg.userinfoUrl, {
      headers: { accept: 'application/json', authorization: `Bearer ${accessToken}`, 'user-agent': 'agentry' },
    });
    if (!res.ok) throw new ProviderError(res.status >= 500 ? 'unreachable' : 'refused', `userinfo endpoint answered HTTP ${res.status}`);
    let u: Record<string, unknown>;
    try {
      u = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new ProviderError('refused', 'userinfo endpoint did not answer JSON');
    }
    const id = u.id ?? u.sub;
    const login = u.login ?? u.preferred_username ?? u.nickname;
    if ((typeof id !== 'string' && typeof id !== 'number') || typeof login !== 'string' || login.length === 0) {
      throw new ProviderError('refused', "userinfo has no user id ('id' or 'sub') or login ('login' or 'preferred_username')");
    }
    const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, 500) : null);
    return { subject: String(id), username: login, displayName: text(u.name), avatarUrl: text(u.avatar_url ?? u.picture), email: text(u.email) };
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.egress.fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      const why = e instanceof Error && e.name === 'TimeoutError' ? 'no answer in time' : UNREACHABLE;
      throw new ProviderError('unreachable', `${new URL(url).origin}: ${why}`);
    }
  }
}

const parseTokenResponse = (text: string, contentType: string | null): Record<string, unknown> => {
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};
