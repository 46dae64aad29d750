import type { OAuthTokenRefresher, TokenRefreshRequest, TokenRefreshResult } from '../../core/managed/vaults/token-refresh.js';
import type { EgressPolicy } from '../egress/index.js';

/** The refresh-token grant over HTTP, through the egress policy (a refused host is named in the error). */
export class HttpTokenRefresher implements OAuthTokenRefresher {
  constructor(
    private readonly egress: EgressPolicy,
    private readonly timeoutMs = 15_000,
  ) {}

  async refresh(req: TokenRefreshRequest): Promise<TokenRefreshResult> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: req.refreshToken });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (req.auth === 'client_secret_basic') {
      const enc = (s: string) => encodeURIComponent(s);
      headers.authorization = `Basic ${Buffer.from(`${enc(req.clientId)}:${enc(req.clientSecret ?? '')}`).toString('base64')}`;
    } else {
      form.set('client_id', req.clientId);
      if (req.auth === 'client_secret_post') form.set('client_secret', req.clientSecret ?? '');
    }
    if (req.scope) form.set('scope', req.scope);
    if (req.resource) form.set('resource', req.resource);
    let res: Response;
    try {
      res = await this.egress.fetch(req.tokenEndpoint, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new Error(`the token endpoint ${req.tokenEndpoint} could not be reached: ${e instanceof Error ? e.message.slice(0, 300) : 'unknown error'}`);
    }
    const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!res.ok || !body || typeof body.access_token !== 'string' || body.access_token === '') {
      const error = typeof body?.error === 'string' ? body.error.slice(0, 100) : 'no access_token in the answer';
      throw new Error(`the token endpoint ${req.tokenEndpoint} refused the refresh (HTTP ${res.status}: ${error})`);
    }
    return {
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined,
      expiresIn: typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : undefined,
    };
  }
}
