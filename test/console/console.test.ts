import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/cli-harness.js';
import { axeViolations, browserForFile, screenshot } from '../helpers/browser.js';
import { agentTarball, Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * The web console end to end: a real server with real data, driven in a real headless Chromium.
 * One browser for the file, one page reused across the steps of each store.
 */

const HOSTILE_README = [
  '# Hello agent',
  '',
  'It greets people. <script>window.__pwned = "script"</script>',
  '',
  '[click me](javascript:window.__pwned="link") and [docs](https://example.com/docs)',
  '',
  '<img src="x" onerror="window.__pwned=\'onerror\'" alt="logo">',
  '<a href="javascript:window.__pwned=\'raw\'">raw link</a>',
  '<iframe src="https://example.com"></iframe>',
  '',
  '```sh',
  'agentry pull @alice/hello-agent',
  '```',
].join('\n');

const AGENT_EXTRA = [
  'permissions:',
  '  filesystem: false',
  '  network: true',
  '  execute_commands: false',
  'mcp_servers:',
  '  github:',
  '    command: npx',
  '    args: ["-y", "@modelcontextprotocol/server-github"]',
  'examples:',
  '  - prompt: "Say hello to Ada"',
].join('\n');

const browser = browserForFile();

describe.each(testStores)('web console (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let aliceToken: string;
  let page: Page;
  const consoleErrors: string[] = [];

  const go = async (path: string) => {
    await page.goto(server.url + path, { waitUntil: 'networkidle' });
  };
  const noSeriousA11yViolations = async (name: string) => {
    const v = await axeViolations(page);
    expect(v, `${name}: ${JSON.stringify(v, null, 1)}`).toEqual([]);
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    const a = await admin.req('POST', '/api/v1/users', { username: 'alice', display_name: 'Alice Liddell' });
    aliceToken = a.body.token;
    alice = admin.with(aliceToken);
    await admin.req('POST', '/api/v1/users', { username: 'bob' });
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', display_name: 'ACME', owner: 'alice' })).status).toBe(201);
    expect((await alice.req('PUT', '/api/v1/orgs/acme/members/bob', { role: 'member' })).status).toBe(200);

    const pub = async (path: string, tgz: Buffer, fields: Record<string, string> = {}) => {
      const r = await alice.publish(path, tgz, fields);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    };
    await pub('/api/v1/agents/@alice/hello-agent', await agentTarball({ name: 'hello-agent', version: '1.0.0', scope: 'alice', readme: HOSTILE_README, extra: AGENT_EXTRA }));
    await pub('/api/v1/agents/@alice/hello-agent', await agentTarball({ name: 'hello-agent', version: '1.1.0', scope: 'alice', readme: HOSTILE_README, extra: AGENT_EXTRA }));
    await alice.req('POST', '/api/v1/agents/@alice/hello-agent/versions/1.0.0/deprecate', { message: 'Use 1.1.0: it greets faster' });
    await alice.req('PUT', '/api/v1/agents/@alice/hello-agent/dist-tags/stable', { version: '1.0.0' });
    await pub(
      '/api/v1/skills/@alice/pdf-tools',
      await makeTarball({
        'SKILL.md': '---\nname: pdf-tools\ndescription: Reads and fills PDF forms\nlicense: MIT\nallowed-tools: Read Write\nmetadata:\n  version: 0.2.0\n---\n# PDF tools\n',
        'scripts/fill.py': 'print("fill")\n',
      }),
    );
    await pub(
      '/api/v1/mcp-servers/@alice/weather',
      await makeTarball({
        'server.json': JSON.stringify({
          name: 'alice/weather',
          description: 'Weather forecasts for any city',
          version: '2.0.0',
          packages: [
            {
              registryType: 'npm',
              identifier: '@alice/weather-mcp',
              version: '2.0.0',
              transport: { type: 'stdio' },
              environmentVariables: [{ name: 'WEATHER_API_KEY', description: 'API key', isSecret: true }],
            },
          ],
        }),
      }),
    );
    await pub('/api/v1/recipes/@alice/daily-report', await makeTarball({ 'recipe.yaml': 'name: daily-report\nversion: 1.0.0\ndescription: Writes a daily report\n' }));
    await pub('/api/v1/agents/@acme/secret-agent', await agentTarball({ name: 'secret-agent', version: '1.0.0', scope: 'acme', description: 'Top secret helper' }), { access: 'private' });
    // Downloads make it trend.
    for (let i = 0; i < 3; i++) await alice.req('GET', '/api/v1/agents/@alice/hello-agent/download/latest');

    // An agentspace with one agent, to hold and validate.
    expect((await alice.req('POST', '/registry/', { name: 'my-agents', namespace: 'local', tag: 'latest' })).status).toBe(201);
    const agent = await alice.req('POST', '/registry/agent?agentspace_id=default', {
      assistant_id: 'helper',
      nickname: 'Helper',
      response: {
        provider_id: 'alquimia',
        config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'gpt-4o-mini' } },
        profile: { system_prompt: 'You help.', evaluation_strategy: { evaluation_strategy_id: 'one-shoot' } },
      },
    });
    expect(agent.status, JSON.stringify(agent.body)).toBeLessThan(300);

    page = await browser.context.newPage();
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await go('/');
    await page.evaluate('localStorage.clear()');
  }, 180_000);

  afterAll(async () => {
    await page?.close();
    await server?.close();
  });

  it('renders the home page: search, kinds, trending and categories, with no serious accessibility violation', async () => {
    await go('/');
    await expect(page.title()).resolves.toBe('Agentry');
    await page.getByRole('heading', { name: 'Trending this week' }).waitFor();
    await page.locator('.cards').getByRole('link', { name: '@alice/hello-agent' }).waitFor();
    expect(await page.getByRole('list', { name: 'Kinds' }).getByRole('link').allTextContents()).toEqual(['Agents', 'Skills', 'MCP servers', 'Recipes', 'Agentspaces']);
    // Two agents are in productivity; the private one is not counted for an anonymous visitor.
    expect(await page.locator('.categories').textContent()).toMatch(/Productivity\s*1/);
    await screenshot(page, `${store}-home`);
    await noSeriousA11yViolations('home');
  });

  it('searches with facets and sort, keeping the state in the URL, and pages back', async () => {
    await go('/');
    await page.getByRole('searchbox', { name: 'Search the registry' }).fill('hello');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/\/search\?q=hello$/);
    await page.locator('.cards').getByRole('link', { name: '@alice/hello-agent' }).waitFor();
    // The kind facet counts what the words match, per kind.
    const filters = page.getByRole('complementary', { name: 'Filters' });
    await filters.getByRole('link', { name: 'Agents 1', exact: true }).waitFor();
    await filters.getByRole('link', { name: 'Skills 0', exact: true }).waitFor();
    await filters.getByRole('link', { name: 'All kinds 1', exact: true }).waitFor();
    // A kind facet that excludes it, then one that keeps it.
    await page.getByRole('complementary', { name: 'Filters' }).getByRole('link', { name: 'Skills' }).click();
    await page.waitForURL(/kind=skill/);
    await page.getByText('Nothing matches “hello” with these filters.').waitFor();
    await page.getByRole('complementary', { name: 'Filters' }).getByRole('link', { name: 'Agents' }).click();
    await page.waitForURL(/q=hello&kind=agent/);
    await page.locator('.cards').getByRole('link', { name: '@alice/hello-agent' }).waitFor();
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption('stars');
    await page.waitForURL(/sort=stars/);
    // Straight from a URL: a category and a scope, no words.
    await go('/search?kind=agent&category=productivity&scope=alice');
    await page.locator('.cards').getByRole('link', { name: '@alice/hello-agent' }).waitFor();
    expect(await page.locator('.chip').allTextContents()).toEqual(['category: productivity ✕', 'scope: alice ✕']);
    // Status facets: verified only (none here), latest not deprecated.
    await go('/search?kind=agent&deprecated=false');
    await page.locator('.cards').getByRole('link', { name: '@alice/hello-agent' }).waitFor();
    await go('/search?verified=true');
    await page.getByText('No packages here yet.').waitFor();
    await go('/search?kind=agent&category=productivity&scope=alice');
    await page.locator('.cards').getByRole('link', { name: '@alice/hello-agent' }).waitFor();
    await screenshot(page, `${store}-search`);
    await noSeriousA11yViolations('search');
    await page.goBack();
    await page.waitForURL(/verified=true/);
  });

  it('keeps a private package invisible when signed out', async () => {
    await go('/search?scope=acme');
    await page.getByText('No packages here yet.').waitFor();
    await go('/@acme/secret-agent');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/Agent not found|not found/i);
    await go('/@acme');
    await page.getByText('@acme has published nothing you can see.').waitFor();
  });

  it('shows a package page: README sanitized and inert, versions with sizes, dist-tags, install snippets, files, downloads, permissions', async () => {
    await go('/@alice/hello-agent');
    await page.getByRole('heading', { name: 'Hello agent' }).waitFor();
    const md = page.locator('.markdown');
    expect(await md.locator('script, iframe, [onerror]').count()).toBe(0);
    // javascript: links lose their href (so they are not even links any more).
    expect(await md.locator('a', { hasText: 'click me' }).getAttribute('href')).toBeNull();
    expect(await md.locator('a', { hasText: 'raw link' }).getAttribute('href')).toBeNull();
    expect(await md.locator('[href^="javascript:" i], [src^="javascript:" i]').count()).toBe(0);
    expect(await md.getByRole('link', { name: 'docs' }).getAttribute('rel')).toContain('noopener');
    await md.locator('a', { hasText: 'click me' }).click();
    await md.locator('a', { hasText: 'raw link' }).click();
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    // Versions, newest first, with sizes and dates; the deprecated one says so.
    const rows = page.getByRole('table', { name: 'Versions of @alice/hello-agent' }).locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toMatch(/^1\.1\.0.*\d+(\.\d)? (B|KB).*latest/);
    expect(await rows.nth(1).textContent()).toMatch(/1\.0\.0 deprecated.*stable/);
    await page.getByRole('heading', { name: 'Dist-tags' }).waitFor();
    // Install snippets of an agent, for this server.
    const host = new URL(server.url).host;
    await page.getByText(`agentry pull @alice/hello-agent@1.1.0 --registry ${server.url}`).waitFor();
    await page.getByText(`oras pull --plain-http ${host}/alice/hello-agent:1.1.0`).waitFor();
    await page.getByText(`skopeo copy --src-tls-verify=false docker://${host}/alice/hello-agent:1.1.0 oci:hello-agent:1.1.0`).waitFor();
    // Files of the version, downloads, what the agent needs.
    await page.getByRole('heading', { name: 'Files of 1.1.0' }).waitFor();
    expect(await page.locator('.files').textContent()).toMatch(/README\.md.*agent\.yaml.*prompts\/system\.md/);
    await page.getByRole('img', { name: /3 downloads in the last 30 days/ }).waitFor();
    expect(await page.locator('.perms').textContent()).toContain('Uses the network');
    await page.getByText('Say hello to Ada').waitFor();
    expect(await page.locator('.badges').textContent()).toContain('public');
    await screenshot(page, `${store}-package`);
    await noSeriousA11yViolations('package');
    // The files of an older version, by URL.
    await go('/@alice/hello-agent/v/1.0.0');
    await page.getByRole('heading', { name: 'Files of 1.0.0' }).waitFor();
  });

  it('shows each kind its own way: SKILL.md front matter, server.json with the MCP client config and thv, a recipe with praisonai', async () => {
    await go('/@alice/pdf-tools');
    await page.getByRole('heading', { name: 'SKILL.md front matter' }).waitFor();
    expect(await page.locator('pre[aria-label="SKILL.md front matter"]').textContent()).toMatch(/name: pdf-tools[\s\S]*allowed-tools: Read Write/);
    await page.getByText(`agentry skill pull @alice/pdf-tools@0.2.0 --registry ${server.url}`).waitFor();
    expect(await page.locator('.files').textContent()).toContain('scripts/fill.py');
    await screenshot(page, `${store}-skill`);

    await go('/@alice/weather');
    await page.getByRole('heading', { name: 'server.json' }).waitFor();
    const config = await page.locator('figure', { hasText: 'MCP client configuration' }).locator('code').textContent();
    expect(JSON.parse(config ?? '')).toEqual({ mcpServers: { weather: { command: 'npx', args: ['-y', '@alice/weather-mcp@2.0.0'], env: { WEATHER_API_KEY: '<WEATHER_API_KEY>' } } } });
    await page.getByText('thv run alice/weather').waitFor();
    await screenshot(page, `${store}-mcp-server`);
    await noSeriousA11yViolations('mcp-server');

    await go('/@alice/daily-report');
    await page.getByText(`praisonai recipe pull daily-report --registry ${server.url}`).waitFor();
  });

  it('signs in with a token, creates a token shown once, and revokes it', async () => {
    await go('/sign-in');
    await page.getByLabel('Token').fill('agentry_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/Not signed in/);
    await page.getByLabel('Token').fill(aliceToken);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/account$/);
    await page.getByRole('heading', { name: 'Alice Liddell' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'alice' }).waitFor();

    const form = page.getByRole('form', { name: 'Create a token' });
    await form.getByLabel('Name').fill('ci-reader');
    await form.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByLabel('The new token ci-reader');
    await shown.waitFor();
    const secret = await shown.inputValue();
    expect(secret).toMatch(/^agentry_/);
    expect((await new Api(server.url, secret).req('GET', '/api/v1/whoami')).body.token.name).toBe('ci-reader');
    await screenshot(page, `${store}-account`);
    await noSeriousA11yViolations('account');

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke token ci-reader' }).click();
    await page.getByRole('row', { name: /ci-reader.*revoked/ }).waitFor();
    expect((await new Api(server.url, secret).req('GET', '/api/v1/whoami')).status).toBe(401);
    // The account's own audit log has both, and only alice's entries.
    await page.reload({ waitUntil: 'networkidle' });
    const audit = page.getByRole('table', { name: 'Audit log' });
    await audit.getByRole('row', { name: /alice token\.revoke/ }).waitFor();
    await audit.getByRole('row', { name: /alice token\.create/ }).waitFor();
    expect(new Set(await audit.locator('tbody tr td:nth-child(2)').allTextContents())).toEqual(new Set(['alice']));
  });

  it('stars a package and shows the private package to a member of its org', async () => {
    await go('/@alice/hello-agent');
    const star = page.getByRole('button', { name: '☆ Star' });
    await star.click();
    await page.getByRole('button', { name: '★ Starred' }).waitFor();
    await page.getByText('1 stars').waitFor();
    expect((await alice.req('GET', '/api/v1/agents/@alice/hello-agent/star')).body).toMatchObject({ starred: true, star_count: 1 });

    await go('/@acme/secret-agent');
    await page.getByRole('heading', { name: '@acme/secret-agent' }).waitFor();
    expect(await page.locator('.badges').textContent()).toContain('private');
    await go('/@acme');
    await page.getByRole('table', { name: 'Members of @acme and their roles' }).getByRole('row', { name: 'bob member' }).waitFor();
    await page.locator('.cards').getByRole('link', { name: '@acme/secret-agent' }).waitFor();
    await screenshot(page, `${store}-org`);
    await noSeriousA11yViolations('org');
    await go('/@alice');
    await page.getByRole('heading', { name: 'Starred' }).waitFor();
    await screenshot(page, `${store}-user`);
  });

  it('shows a package published through the CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-console-cli-'));
    try {
      const env = { AGENTRY_REGISTRY: server.url, AGENTRY_TOKEN: aliceToken, HOME: dir };
      const init = await runCli(['init', '--kind', 'agent', '--name', 'cli-agent', '--scope', 'alice'], { cwd: dir, env });
      expect(init.code, init.stderr).toBe(0);
      writeFileSync(join(dir, 'README.md'), '# Made with the CLI\n');
      const published = await runCli(['publish'], { cwd: dir, env });
      expect(published.code, published.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await go('/search?q=cli-agent');
    await page.locator('.cards').getByRole('link', { name: '@alice/cli-agent' }).click();
    await page.waitForURL(/\/@alice\/cli-agent$/);
    await page.getByRole('heading', { name: 'Made with the CLI' }).waitFor();
  });

  it('holds an agent of an agentspace, shows its config, secrets and parameters, and runs a validation dry run', async () => {
    await go('/agentspaces');
    await page.getByRole('navigation', { name: 'Your agentspaces' }).getByRole('link', { name: 'local/my-agents' }).click();
    await page.waitForURL(/\/agentspaces\/default$/);
    await page.getByText('AssistantConfig').click();
    expect(await page.locator('details pre').textContent()).toContain('"assistant_id": "helper"');
    await page.getByRole('button', { name: 'Hold agent helper' }).click();
    await page.getByRole('button', { name: 'Unhold agent helper' }).waitFor();
    expect((await alice.req('GET', '/registry/?agentspace_id=default')).body.on_hold).toEqual(['helper']);
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('region', { name: 'Validation result' }).waitFor();
    expect(await page.getByRole('region', { name: 'Validation result' }).textContent()).toMatch(/1 agent passes/);
    await screenshot(page, `${store}-agentspace`);
    await noSeriousA11yViolations('agentspace');
    await page.getByRole('button', { name: 'Unhold agent helper' }).click();
    await page.getByRole('button', { name: 'Hold agent helper' }).waitFor();
  });

  it('answers API paths in their doors’ shapes, console paths with the page, and caches and compresses the files', async () => {
    const html = await fetch(`${server.url}/@alice/hello-agent`, { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } });
    expect(html.status).toBe(200);
    expect(html.headers.get('cache-control')).toBe('no-cache');
    expect(html.headers.get('content-encoding')).toBe('gzip');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await html.text()).toContain('<div id="app"></div>');
    const api404 = await fetch(`${server.url}/api/v1/nope`, { headers: { accept: 'text/html' } });
    expect([api404.status, await api404.json()]).toEqual([404, { error: 'No route for GET /api/v1/nope' }]);
    const registry404 = await fetch(`${server.url}/registry/nope/deeper`, { headers: { accept: 'text/html' } });
    expect(await registry404.json()).toEqual({ detail: 'No route for GET /registry/nope/deeper' });
    const json404 = await fetch(`${server.url}/nope`);
    expect(await json404.json()).toEqual({ error: 'No route for GET /nope' });
    const script = await page.evaluate<string>('document.querySelector("script[type=module]").src');
    const asset = await fetch(script, { headers: { 'accept-encoding': 'br' } });
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-encoding')).toBe('br');
    expect(asset.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(consoleErrors).toEqual([]);
  });
});
