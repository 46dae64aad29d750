import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserForFile } from '../helpers/browser.js';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { agentTarball, Api } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Signing in: on a closed server (--auth-required-for-reads), and through an OAuth provider. One browser for the file. */
const browser = browserForFile();

describe('web console on a closed server', () => {
  let server: TestServer;
  let page: Page;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer({ authRequiredForReads: true });
    const admin = new Api(server.url, server.adminToken);
    token = (await admin.req('POST', '/api/v1/users', { username: 'carol' })).body.token;
    expect((await admin.with(token).publish('/api/v1/agents/@carol/inside', await agentTarball({ name: 'inside', version: '1.0.0', scope: 'carol' }))).status).toBeLessThan(300);
    page = await browser.context.newPage();
  }, 120_000);
  afterAll(async () => {
    await page?.close();
    await server?.close();
  });

  it('serves the page and its files without a token, and the API still refuses', async () => {
    await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
    await page.getByRole('alert').first().waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(/Sign in with a token/);
    expect((await fetch(`${server.url}/api/v1/agents`)).status).toBe(401);
    expect((await fetch(`${server.url}/nope`)).status).toBe(401);
    expect((await fetch(`${server.url}/openapi.json`)).status).toBe(401);
    await page.goto(`${server.url}/sign-in`, { waitUntil: 'networkidle' });
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/account$/);
    await page.goto(`${server.url}/search?kind=agent`, { waitUntil: 'networkidle' });
    await page.locator('.cards').getByRole('link', { name: '@carol/inside' }).waitFor();
    await page.evaluate('localStorage.clear()');
  });
});

describe('web console sign-in through an OAuth provider', () => {
  let provider: LocalOAuthProvider;
  let server: TestServer;
  let page: Page;

  beforeAll(async () => {
    provider = await startOAuthProvider({ id: 4242, login: 'dora', name: 'Dora Explorer', avatar_url: null, email: null });
    server = await startTestServer({ egressAllow: '127.0.0.1', env: provider.env() });
    page = await browser.context.newPage();
  }, 120_000);
  afterAll(async () => {
    await page?.close();
    await server?.close();
    await provider?.close();
  }, 120_000);

  it('goes to the provider and back, and signs the new account in', async () => {
    await page.goto(`${server.url}/sign-in`, { waitUntil: 'networkidle' });
    await page.getByRole('button', { name: 'Sign in with GitHub' }).click();
    await page.waitForURL(/\/account$/);
    await page.getByRole('heading', { name: 'Dora Explorer' }).waitFor();
    expect(provider.exchanges.map((e) => e.outcome)).toEqual(['ok']);
    // A callback this browser did not start is refused in words.
    await page.goto(`${server.url}/sign-in/callback?code=forged&state=forged`, { waitUntil: 'networkidle' });
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/not the one this browser started/);
  });
});
