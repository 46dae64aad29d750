import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, browserForFile } from '../helpers/browser.js';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const browser = browserForFile();

/** The package page shows what the shown version was flagged for at publish (issue 18, point 4), and nothing for a clean one. */
describe.each(testStores)('console: publish findings (%s)', (store) => {
  let server: TestServer;
  let page: Page;

  beforeAll(async () => {
    server = await startTestServer({ store });
    const admin = new Api(server.url, server.adminToken);
    const alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    const agent = (version: string, perms: string) => makeTarball({ 'agent.yaml': agentYaml({ name: 'risky', version, scope: 'alice', extra: `permissions: ${perms}` }) });
    expect((await alice.publish('/api/v1/agents/@alice/risky', await agent('1.0.0', '{ filesystem: true, network: true, execute_commands: true }'))).status).toBe(200);
    expect((await alice.publish('/api/v1/agents/@alice/risky', await agent('1.1.0', '{ network: true }'))).status).toBe(200);
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await page?.close();
    await server?.close();
  });

  it('shows the findings of a flagged version, and none for a clean one', async () => {
    await page.goto(`${server.url}/@alice/risky/v/1.0.0`, { waitUntil: 'networkidle' });
    const note = page.getByRole('note', { name: 'Publish findings' });
    await expect.poll(() => note.textContent()).toMatch(/Flagged at publish \(1\.0\.0\): 1 finding.*risky-permissions at permissions: the agent asks for filesystem, network and execute_commands/);
    expect(await axeViolations(page)).toEqual([]);
    await page.goto(`${server.url}/@alice/risky`, { waitUntil: 'networkidle' });
    await expect.poll(() => page.getByRole('heading', { name: 'Versions' }).count()).toBe(1);
    expect(await page.getByRole('note', { name: 'Publish findings' }).count()).toBe(0);
  });
});
