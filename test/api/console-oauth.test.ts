import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** 002's Console sign-in (`/v1/oauth/:provider/authorize|callback`) on the server's OAuth sign-in, against a local provider. */
describe('console sign-in: /v1/oauth/:provider/authorize and /callback', () => {
  let provider: LocalOAuthProvider;
  let server: TestServer;
  const redirect = 'http://127.0.0.1:9/callback';

  beforeAll(async () => {
    provider = await startOAuthProvider({ id: 4242, login: 'Console-User', name: 'Console User', avatar_url: null, email: null });
    server = await startTestServer({ store: 'sqlite', egressAllow: '127.0.0.1', env: provider.env() });
  });
  afterAll(async () => {
    await server?.close();
    await provider?.close();
  });

  const authorize = async (name = 'github') => fetch(`${server.url}/v1/oauth/${name}/authorize?redirect_uri=${encodeURIComponent(redirect)}`, { redirect: 'manual' });

  it('redirects to the provider, and the callback signs the user in with a token that works', async () => {
    const start = await authorize();
    expect(start.status).toBe(302);
    const authUrl = start.headers.get('location')!;
    expect(authUrl.startsWith(provider.url)).toBe(true);
    // The person at the browser approves; the provider sends them back with a code and the state.
    const back = new URL((await fetch(authUrl, { redirect: 'manual' })).headers.get('location')!);
    const r = await fetch(`${server.url}/v1/oauth/github/callback?code=${back.searchParams.get('code')}&state=${back.searchParams.get('state')}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.user).toEqual({ username: 'console-user', display_name: 'Console User', avatar_url: null });
    expect((await new Api(server.url, body.token).req('GET', '/api/v1/whoami')).body.username).toBe('console-user');
    // A client that asks for JSON gets the URL instead of a redirect.
    const json = await fetch(`${server.url}/v1/oauth/github/authorize?redirect_uri=${encodeURIComponent(redirect)}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(json.status).toBe(200);
    expect(((await json.json()) as any).auth_url.startsWith(provider.url)).toBe(true);
    // A state is taken once.
    const replay = await fetch(`${server.url}/v1/oauth/github/callback?code=${back.searchParams.get('code')}&state=${back.searchParams.get('state')}`);
    expect(replay.status).toBe(400);
  });

  it('refuses another provider name, a redirect URI that is not allowed, a missing code and a provider error', async () => {
    const other = await authorize('google');
    expect(other.status).toBe(404);
    expect(((await other.json()) as any).error.type).toBe('not_found_error');
    const bad = await fetch(`${server.url}/v1/oauth/github/authorize?redirect_uri=${encodeURIComponent('https://evil.example.test/cb')}`, { redirect: 'manual' });
    expect(bad.status).toBe(400);
    const noCode = await fetch(`${server.url}/v1/oauth/github/callback?state=abc`);
    expect(noCode.status).toBe(400);
    const denied = await fetch(`${server.url}/v1/oauth/github/callback?state=abc&error=access_denied`);
    expect(denied.status).toBe(400);
    expect(((await denied.json()) as any).error.message).toContain('access_denied');
  });
});
