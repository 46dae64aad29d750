import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertConsoleBuilt, launchBrowser, type Browser } from '../helpers/browser.js';
import { agentTarball, Api } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A closed server (--auth-required-for-reads) still serves the console, which asks for a token and shows nothing before. */
describe('web console on a closed server', () => {
  let browser: Browser;
  let server: TestServer;
  let page: Page;
  let token: string;

  beforeAll(async () => {
    assertConsoleBuilt();
    server = await startTestServer({ authRequiredForReads: true });
    const admin = new Api(server.url, server.adminToken);
    token = (await admin.req('POST', '/api/v1/users', { username: 'carol' })).body.token;
    expect((await admin.with(token).publish('/api/v1/agents/@carol/inside', await agentTarball({ name: 'inside', version: '1.0.0', scope: 'carol' }))).status).toBeLessThan(300);
    browser = await launchBrowser();
    page = await browser.context.newPage();
  }, 120_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await server?.close();
  });

  it('serves the page and its files without a token, and the API still refuses', async () => {
    await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
    await page.getByRole('alert').first().waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(/Sign in with a token/);
    expect((await fetch(`${server.url}/api/v1/agents`)).status).toBe(401);
    expect((await fetch(`${server.url}/nope`)).status).toBe(401);
    await page.goto(`${server.url}/sign-in`, { waitUntil: 'networkidle' });
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/account$/);
    await page.goto(`${server.url}/search?kind=agent`, { waitUntil: 'networkidle' });
    await page.locator('.cards').getByRole('link', { name: '@carol/inside' }).waitFor();
  });
});
