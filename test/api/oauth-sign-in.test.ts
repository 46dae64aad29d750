import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('sign-in through an OAuth2 provider (%s)', (store) => {
  let provider: LocalOAuthProvider;
  let server: TestServer;
  let anon: Api;
  let admin: Api;
  const redirect = 'http://127.0.0.1:9/callback';

  beforeAll(async () => {
    provider = await startOAuthProvider({ id: 777, login: 'Octo-Cat', name: 'Octo Cat', avatar_url: null, email: null });
    server = await startTestServer({ store, egressAllow: '127.0.0.1', env: { ...provider.env(), AGENTRY_OAUTH_REDIRECT_URIS: 'https://agents.example.test/signed-in' } });
    anon = new Api(server.url);
    admin = new Api(server.url, server.adminToken);
  });
  afterAll(async () => {
    await server.close();
    await provider.close();
  });

  const begin = async (redirectUri = redirect) => {
    const r = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: redirectUri });
    expect(r.status).toBe(200);
    const res = await fetch(r.body.auth_url, { redirect: 'manual' });
    const loc = new URL(res.headers.get('location')!);
    return { code: loc.searchParams.get('code')!, state: loc.searchParams.get('state')! };
  };
  const callback = (code: string, state: string) => anon.req('GET', `/api/v1/auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`);

  it('creates the user on first sign-in, and the same account (updated) on the next', async () => {
    const first = await begin();
    const r1 = await callback(first.code, first.state);
    expect(r1.status).toBe(200);
    expect(r1.body.user).toEqual({ username: 'octo-cat', display_name: 'Octo Cat', avatar_url: null, github_id: 777 });

    provider.user = { ...provider.user, name: 'Octo the Cat', avatar_url: 'https://img.example.test/777.png' };
    const second = await begin();
    const r2 = await callback(second.code, second.state);
    expect(r2.status).toBe(200);
    expect(r2.body.user).toEqual({ username: 'octo-cat', display_name: 'Octo the Cat', avatar_url: 'https://img.example.test/777.png', github_id: 777 });
    expect(r2.body.token).not.toBe(r1.body.token);
    // Both tokens are valid publish tokens of one account.
    for (const t of [r1.body.token, r2.body.token]) expect((await anon.with(t).req('GET', '/api/v1/whoami')).body.username).toBe('octo-cat');
    const profile = await anon.req('GET', '/api/v1/users/octo-cat');
    expect(profile.body).toMatchObject({ display_name: 'Octo the Cat', avatar_url: 'https://img.example.test/777.png' });
    const audit = await admin.req('GET', '/api/v1/audit?action=user.signin');
    expect(audit.body.entries.map((e: { target: string; details: { created: boolean } }) => [e.target, e.details.created])).toEqual([
      ['@octo-cat', false],
      ['@octo-cat', true],
    ]);
  });

  it('takes each state once: a replayed callback is refused (CSRF), as is an unknown state', async () => {
    const { code, state } = await begin();
    expect((await callback(code, state)).status).toBe(200);
    const replay = await callback(code, state);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('Invalid or expired state');
    const forged = await callback(code, 'made-up-state');
    expect(forged.status).toBe(400);
    expect(forged.body.error).toBe('Invalid or expired state');
  });

  it('cannot sign in with a code twice: the provider refuses a used code', async () => {
    const first = await begin();
    expect((await callback(first.code, first.state)).status).toBe(200);
    const fresh = await begin();
    const r = await callback(first.code, fresh.state);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('Sign-in failed: the provider refused the authorization code');
    expect(r.body.details[0]).toMatch(/bad_verification_code/);
    expect(provider.exchanges.at(-1)).toEqual({ code: first.code, outcome: 'reused' });
  });

  it('refuses a redirect_uri that is neither loopback nor allowed, and accepts an allowed one', async () => {
    for (const uri of ['https://evil.example.test/callback', 'http://10.0.0.1:9876/callback', 'not a url', 'http://user:pw@localhost:1/cb']) {
      const r = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: uri });
      expect(r.status, uri).toBe(400);
      expect(r.body.error).toBe('Validation failed');
    }
    const ok = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: 'https://agents.example.test/signed-in' });
    expect(ok.status).toBe(200);
    const unknownField = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: redirect, extra: 1 });
    expect(unknownField.status).toBe(400);
  });

  it('answers a provider-side refusal or a missing code with 400', async () => {
    const { state } = await begin();
    const denied = await anon.req('GET', `/api/v1/auth/callback?error=access_denied&state=${state}`);
    expect(denied.status).toBe(400);
    expect(denied.body.error).toBe('Sign-in was not completed at the provider (access_denied)');
    const noState = await anon.req('GET', '/api/v1/auth/callback?code=abc');
    expect(noState.status).toBe(400);
    expect(noState.body.details).toEqual(["querystring: missing required field 'state'"]);
  });

  it('refuses to take over an existing account with the same name that was never linked', async () => {
    expect((await admin.req('POST', '/api/v1/users', { username: 'mallory' })).status).toBe(201);
    provider.user = { id: 999, login: 'mallory', name: 'Not Mallory', avatar_url: null, email: null };
    const { code, state } = await begin();
    const r = await callback(code, state);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/already taken on this registry by an account not linked to this github user/);
  });
});

describe('sign-in misconfigured or not configured', () => {
  const servers: TestServer[] = [];
  let provider: LocalOAuthProvider;
  beforeAll(async () => {
    provider = await startOAuthProvider({ id: 1, login: 'someone', name: null, avatar_url: null, email: null });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await provider.close();
  });

  it('answers 501 when no provider is configured', async () => {
    const s = await startTestServer();
    servers.push(s);
    const r = await new Api(s.url).req('POST', '/api/v1/auth/github', { redirect_uri: 'http://localhost:9876/callback' });
    expect(r.status).toBe(501);
    expect(r.body.error).toMatch(/not configured/);
  });

  it('answers 400 when the provider refuses the client secret, and 502 when it cannot be reached', async () => {
    const wrongSecret = await startTestServer({ egressAllow: '127.0.0.1', env: { ...provider.env(), AGENTRY_OAUTH_CLIENT_SECRET: 'wrong' } });
    servers.push(wrongSecret);
    const api = new Api(wrongSecret.url);
    const start = await api.req('POST', '/api/v1/auth/github', { redirect_uri: 'http://localhost:9876/callback' });
    const loc = new URL((await fetch(start.body.auth_url, { redirect: 'manual' })).headers.get('location')!);
    const r = await api.req('GET', `/api/v1/auth/callback?code=${loc.searchParams.get('code')}&state=${loc.searchParams.get('state')}`);
    expect(r.status).toBe(400);
    expect(r.body.details[0]).toMatch(/incorrect_client_credentials/);

    const down = await startTestServer({ egressAllow: '127.0.0.1', env: { ...provider.env(), AGENTRY_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/token' } });
    servers.push(down);
    const api2 = new Api(down.url);
    const s2 = await api2.req('POST', '/api/v1/auth/github', { redirect_uri: 'http://localhost:9876/callback' });
    const loc2 = new URL((await fetch(s2.body.auth_url, { redirect: 'manual' })).headers.get('location')!);
    const r2 = await api2.req('GET', `/api/v1/auth/callback?code=${loc2.searchParams.get('code')}&state=${loc2.searchParams.get('state')}`);
    expect(r2.status).toBe(502);
    expect(r2.body.error).toBe('Sign-in failed: the provider could not be reached');
  });
});
