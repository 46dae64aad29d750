import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A user as GitHub's `GET /user` describes one. */
export interface ProviderUser {
  id: number;
  login: string;
  name: string | null;
  avatar_url: string | null;
  email: string | null;
}

export interface LocalOAuthProvider {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Who "signs in" at the authorize endpoint next (the test plays the person at the browser). */
  user: ProviderUser;
  /** Server environment pointing Agentry at this provider. */
  env(): Record<string, string>;
  /** Token-endpoint calls, with how each ended, for assertions (a refresh grant's code is `refresh`). */
  readonly exchanges: Array<{ code: string; outcome: string }>;
  /** Issues an access and a refresh token for the user directly (as if a code had been exchanged). */
  issue(): { access_token: string; refresh_token: string };
  /** Whether an access token is live (an MCP server in a test checks its bearer with this). */
  validAccess(token: string): boolean;
  /** Ends every access token (they expired); refresh tokens stay valid. */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  user: ProviderUser;
  expiresAt: number;
  used: boolean;
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  let s = '';
  for await (const c of req) s += c;
  return s;
};

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/**
 * A small OAuth2 provider on 127.0.0.1 that follows the authorization-code protocol the way GitHub
 * does: `GET /login/oauth/authorize` checks the client and redirects to `redirect_uri` with a code
 * and the caller's state; `POST /login/oauth/access_token` checks the client secret and that the
 * code is fresh, unused and issued for that redirect URI (a code is single-use); `GET /user`
 * answers the user for a valid access token.
 */
export const startOAuthProvider = async (user: ProviderUser): Promise<LocalOAuthProvider> => {
  const clientId = `client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(16).toString('hex');
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, ProviderUser>();
  const refreshTokens = new Map<string, ProviderUser>();
  /** Access and (rotated) refresh tokens; the old refresh token is spent. */
  const issueFor = (who: ProviderUser) => {
    const access = `gho_${randomBytes(16).toString('hex')}`;
    const refresh = `ghr_${randomBytes(16).toString('hex')}`;
    accessTokens.set(access, who);
    refreshTokens.set(refresh, who);
    return { access_token: access, refresh_token: refresh };
  };
  const exchanges: Array<{ code: string; outcome: string }> = [];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri');
      const state = url.searchParams.get('state');
      if (url.searchParams.get('client_id') !== clientId) return json(res, 400, { error: 'unknown client_id' });
      if (!redirectUri || !state) return json(res, 400, { error: 'redirect_uri and state are required' });
      const code = randomBytes(10).toString('hex');
      codes.set(code, { clientId, redirectUri, user: { ...provider.user }, expiresAt: Date.now() + 60_000, used: false });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', state);
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') === 'refresh_token') {
        // RFC 6749 §6: the client authenticates by HTTP Basic or in the body; the refresh token rotates.
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').map(decodeURIComponent) : [form.get('client_id'), form.get('client_secret')];
        if (id !== clientId || secret !== clientSecret) {
          exchanges.push({ code: 'refresh', outcome: 'invalid_client' });
          return json(res, 401, { error: 'invalid_client' });
        }
        const who = refreshTokens.get(form.get('refresh_token') ?? '');
        if (!who) {
          exchanges.push({ code: 'refresh', outcome: 'invalid_grant' });
          return json(res, 400, { error: 'invalid_grant' });
        }
        refreshTokens.delete(form.get('refresh_token') ?? '');
        exchanges.push({ code: 'refresh', outcome: 'ok' });
        return json(res, 200, { ...issueFor(who), token_type: 'bearer', expires_in: 3600 });
      }
      const code = form.get('code') ?? '';
      const record = (outcome: string) => exchanges.push({ code, outcome });
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        record('invalid_client');
        return json(res, 200, { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
      }
      const issued = codes.get(code);
      if (!issued || issued.used || issued.expiresAt < Date.now() || issued.redirectUri !== form.get('redirect_uri')) {
        record(issued?.used ? 'reused' : 'bad_code');
        // GitHub answers 200 with an error body for a bad or used code.
        return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      }
      issued.used = true;
      const token = `gho_${randomBytes(16).toString('hex')}`;
      accessTokens.set(token, issued.user);
      record('ok');
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    if (req.method === 'GET' && url.pathname === '/user') {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      const who = m ? accessTokens.get(m[1]) : undefined;
      if (!who) return json(res, 401, { message: 'Bad credentials' });
      return json(res, 200, who);
    }
    json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: LocalOAuthProvider = {
    url,
    clientId,
    clientSecret,
    user,
    exchanges,
    issue: () => issueFor({ ...provider.user }),
    validAccess: (token) => accessTokens.has(token),
    expireAccessTokens: () => accessTokens.clear(),
    env: () => ({
      AGENTRY_OAUTH_CLIENT_ID: clientId,
      AGENTRY_OAUTH_CLIENT_SECRET: clientSecret,
      AGENTRY_OAUTH_AUTHORIZE_URL: `${url}/login/oauth/authorize`,
      AGENTRY_OAUTH_TOKEN_URL: `${url}/login/oauth/access_token`,
      AGENTRY_OAUTH_USERINFO_URL: `${url}/user`,
    }),
    // A browser keeps its connection to the authorize endpoint alive: drop every connection so close returns.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return provider;
};
