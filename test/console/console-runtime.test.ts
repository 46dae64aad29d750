import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, browserForFile, screenshot } from '../helpers/browser.js';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { exampleAgent } from '../helpers/alquimia.js';
import { everythingServerJson } from '../helpers/everything-server.js';
import { createHash } from 'node:crypto';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The runtime side of the web console end to end, in a real headless Chromium against a real server:
 * the managed agents console (agents with versions and a diff, environments, vaults, model cards,
 * memory stores, files, evals, integrations), a live session streaming over SSE from the scripted dev
 * model (a custom tool answered in the page, an interrupt), and an MCP workload run from the registry
 * (a real MCP server from npm) and upgraded from the page.
 */

const WEATHER = { type: 'custom', name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const KEY = 'sk-dev-model-key-1234';
const CREDENTIAL_SECRET = 'ghp_CONSOLESECRET0001';
const BOT_TOKEN = 'xoxb-CONSOLE-BOT-0001';
const SIGNING_SECRET = 'signing-CONSOLE-0001';
const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };

const browser = browserForFile();

describe.each(testStores)('web console: managed agents, sessions and workloads (%s)', (store) => {
  let server: TestServer;
  let model: DevModel;
  let admin: Api;
  let alice: Api;
  let aliceToken: string;
  let agentId: string;
  let page: Page;
  const pageErrors: string[] = [];

  const made = async (api: Api, path: string, body: unknown) => {
    const r = await api.req('POST', path, body);
    expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
    return r.body;
  };
  /** A session page keeps its event stream open, so the network never goes idle there: wait for the load. */
  const go = async (path: string) => {
    await page.goto(server.url + path, { waitUntil: path.startsWith('/sessions/') ? 'load' : 'networkidle' });
  };
  const signInAs = async (token: string) => {
    await go('/');
    await page.evaluate(`localStorage.setItem('agentry.token', ${JSON.stringify(token)})`);
  };
  /** axe-core in the light scheme and in the dark one (contrast differs). */
  const noSeriousA11yViolations = async (name: string) => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const v = await axeViolations(page);
      expect(v, `${name} (${scheme}): ${JSON.stringify(v, null, 1)}`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  };

  beforeAll(async () => {
    model = await startTestModel();
    server = await startTestServer({ store, egressAllow: '127.0.0.1', workloadTimings: TIMINGS, env: { AGENTRY_RUNTIME_RETRY_BASE_MS: '20' } });
    admin = new Api(server.url, server.adminToken);
    aliceToken = (await admin.req('POST', '/api/v1/users', { username: 'alice', display_name: 'Alice Liddell' })).body.token;
    alice = admin.with(aliceToken);

    // A list price ($3 / $15 per million tokens, in cents), so the session view shows a cost.
    await made(alice, '/v1/model_cards', {
      model_id: 'dev-ant',
      provider: 'ant',
      model: 'dev-model',
      base_url: model.anthropicBaseUrl,
      api_key: KEY,
      list_price: { input_per_mtok: '300', output_per_mtok: '1500' },
    });
    const env = await made(alice, '/v1/environments', { name: 'workbench', description: 'Where the helper works' });
    const agent = await made(alice, '/v1/agents', { name: 'helper', description: 'Answers questions', model: 'dev-ant', system: 'You are terse.', tools: [WEATHER], environment_id: env.id });
    agentId = agent.id;
    // A second version: a longer system prompt.
    const v2 = await made(alice, `/v1/agents/${agentId}`, { version: 1, system: 'You are terse and kind.' });
    expect(v2.version).toBe(2);
    const vault = await made(alice, '/v1/vaults', { display_name: 'GitHub access' });
    await made(alice, `/v1/vaults/${vault.id}/credentials`, { display_name: 'bot token', auth: { type: 'static_bearer', token: CREDENTIAL_SECRET, mcp_server_url: 'https://mcp.example.com/sse' } });
    const memories = await made(alice, '/v1/memory_stores', { name: 'team-notes', description: 'What the team decided' });
    await made(alice, `/v1/memory_stores/${memories.id}/memories`, { path: '/decisions/db.md', content: 'We chose PostgreSQL for the registry.' });
    await made(alice, `/v1/memory_stores/${memories.id}/memories`, { path: '/people/ada.md', content: 'Ada reviews the parser.' });
    const file = new FormData();
    file.set('file', new Blob(['quarterly numbers']), 'report.txt');
    await made(alice, '/v1/files', file);

    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signInAs(aliceToken);
  }, 180_000);

  afterAll(async () => {
    await page?.close();
    await server?.close();
    await model?.close();
  });

  it('shows a managed agent with its version history and the diff between two versions', async () => {
    await go('/managed/agents');
    await page.getByRole('navigation', { name: 'Managed agents' }).getByRole('link', { name: 'Agents' }).waitFor();
    await page.getByRole('table', { name: 'Agents' }).getByRole('link', { name: 'helper' }).click();
    await page.waitForURL(new RegExp(`/managed/agents/${agentId}$`));
    await page.getByRole('heading', { name: /helper\s*v2/ }).waitFor();
    const versions = page.getByRole('table', { name: 'Versions of helper' }).locator('tbody tr');
    // The version list is read after the agent: wait for its rows before counting them.
    await versions.nth(1).waitFor();
    expect(await versions.count()).toBe(2);
    expect(await versions.nth(0).textContent()).toMatch(/^v2/);
    const diff = page.getByRole('region', { name: 'Changes from v1 to v2' });
    await diff.waitFor();
    expect(await diff.locator('.diff-del').allTextContents()).toEqual(['-   "system": "You are terse.",\n']);
    expect(await diff.locator('.diff-add').allTextContents()).toEqual(['+   "system": "You are terse and kind.",\n']);
    // The same version on both sides: nothing changed, and the URL keeps the choice.
    await page.getByRole('combobox', { name: 'From' }).selectOption('2');
    await page.waitForURL(/from=2&to=2/);
    await page.getByText('v2 and v2 say the same.').waitFor();
    await go(`/managed/agents/${agentId}?from=1&to=2`);
    await diff.waitFor();
    await screenshot(page, `${store}-managed-agent`);
    await noSeriousA11yViolations('managed agent');
  });

  it('shows environments, vaults, model cards, memory stores with search, and files, never a secret', async () => {
    await go('/managed/environments');
    await page.getByRole('table', { name: 'Environments' }).getByText('workbench').waitFor();
    await screenshot(page, `${store}-environments`);

    await go('/managed/vaults');
    const creds = page.getByRole('table', { name: 'Credentials of GitHub access' });
    await creds.getByRole('row', { name: /bot token static_bearer/ }).waitFor();
    expect(await creds.textContent()).toContain('mcp_server_url: https://mcp.example.com/sse');
    await screenshot(page, `${store}-vaults`);
    await noSeriousA11yViolations('vaults');

    await go('/managed/model-cards');
    const cards = page.getByRole('table', { name: 'Model cards' });
    await cards.getByText('dev-ant').waitFor();
    expect(await cards.getByLabel('Key ending 1234').textContent()).toMatch(/1234$/);
    await screenshot(page, `${store}-model-cards`);

    await go('/managed/memory-stores');
    await page.getByRole('button', { name: 'Open team-notes' }).click();
    await page.getByRole('table', { name: 'Memories of team-notes' }).getByText('/decisions/db.md').waitFor();
    const search = page.getByRole('search', { name: 'Search team-notes' });
    await search.getByRole('searchbox', { name: 'Search memories' }).fill('PostgreSQL');
    await search.getByRole('button', { name: 'Search' }).click();
    const hits = page.getByRole('table', { name: 'Memories matching “PostgreSQL”' }).locator('tbody tr');
    await hits.first().waitFor();
    expect(await hits.count()).toBe(1);
    expect(await hits.first().textContent()).toContain('/decisions/db.md');
    await screenshot(page, `${store}-memory-stores`);
    await noSeriousA11yViolations('memory stores');

    await go('/managed/files');
    await page.getByRole('table', { name: 'Files' }).getByText('report.txt').waitFor();
    await screenshot(page, `${store}-files`);

    // Nothing the console received holds a secret: not the key, not the credential's token.
    const seen = await page.evaluate<string>('document.documentElement.outerHTML');
    for (const path of ['/managed/vaults', '/managed/model-cards']) {
      await go(path);
      await page.waitForLoadState('networkidle');
      const html = await page.evaluate<string>('document.documentElement.outerHTML');
      expect(html).not.toContain(CREDENTIAL_SECRET);
      expect(html).not.toContain(KEY);
    }
    expect(seen).not.toContain(KEY);
  });

  it('starts a session, watches it stream, answers a custom tool in the page, and shows the call folded with its input and result', async () => {
    model.reset();
    model.script([
      { toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' } }], usage: { input_tokens: 20, output_tokens: 5 } },
      { text: ['It is ', '22°C ', 'in Oslo.'], chunkDelayMs: 700, usage: { input_tokens: 30, output_tokens: 7 } },
    ]);
    // From the agent's page: the form has the agent chosen.
    await go(`/managed/agents/${agentId}`);
    await page.getByRole('link', { name: 'Start a session with this agent' }).click();
    await page.waitForURL(/\/sessions\?agent=/);
    await page.getByText('No sessions yet.').waitFor();
    expect(await page.getByRole('combobox', { name: 'Agent' }).inputValue()).toBe(agentId);
    await page.getByLabel('Title').fill('Weather check');
    await page.getByRole('button', { name: 'Start a session' }).click();
    await page.waitForURL(/\/sessions\/[^/]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.getByRole('heading', { name: 'Weather check' }).waitFor();
    await page.getByText('stream: live').waitFor();

    await page.getByRole('textbox', { name: 'Message' }).fill('Weather in Oslo?');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const answer = page.getByRole('form', { name: 'Answer get_weather' });
    await answer.waitFor();
    expect(await answer.textContent()).toContain('{"city":"Oslo"}');
    await answer.getByRole('textbox', { name: 'Result of get_weather' }).fill('22°C and sunny');
    await answer.getByRole('button', { name: 'Send result' }).click();
    const events = page.getByRole('list', { name: 'Events' });
    // The answer streams in: a draft that grows, then the message.
    await events.locator('.ev.draft', { hasText: 'It is' }).waitFor();
    await events.locator('.ev.agent:not(.draft)', { hasText: 'It is 22°C in Oslo.' }).waitFor();
    expect(await events.locator('.ev.draft').count()).toBe(0);
    await answer.waitFor({ state: 'detached' });
    expect(await events.locator('.msg.user').textContent()).toContain('Weather in Oslo?');
    // The tool call is folded; the keyboard unfolds it, showing its input and the result given.
    const call = events.locator('.ev.tool summary');
    expect(await call.textContent()).toMatch(/Called custom tool get_weather\s*answered/);
    await call.focus();
    await page.keyboard.press('Enter');
    expect(JSON.parse((await page.getByLabel('Input of get_weather').textContent()) ?? '')).toEqual({ city: 'Oslo' });
    expect(await page.getByLabel('Result of get_weather', { exact: true }).textContent()).toBe('22°C and sunny');
    await waitFor('the usage of both model requests', async () => ((await page.getByLabel('Usage').textContent()) === '50 tokens in, 12 out, 2 model requests' ? true : undefined), 20_000);
    // 50 × 300 + 12 × 1500 = 33,000 millionths of a cent: one cent, rounded up as the server does.
    await waitFor('the list cost', async () => ((await page.getByLabel('Cost').textContent()) === '$0.01 at list price' ? true : undefined), 20_000);
    // The server recorded what the page sent.
    const log = (await alice.req('GET', `/v1/sessions/${id}/log`)).body as Array<{ type: string; content?: unknown }>;
    expect(log.find((e) => e.type === 'user.custom_tool_result')?.content).toEqual([{ type: 'text', text: '22°C and sunny' }]);
    await screenshot(page, `${store}-session`);
    await noSeriousA11yViolations('session');

    // A reload replays the log: the same timeline, once.
    await page.reload({ waitUntil: 'load' });
    await events.getByText('It is 22°C in Oslo.').waitFor();
    expect(await events.locator('.msg').count()).toBe(2);

    // The list, filtered by status in the URL.
    await go('/sessions?status=idle');
    await page.getByRole('table', { name: 'Sessions' }).getByRole('link', { name: 'Weather check' }).waitFor();
    await page.getByRole('navigation', { name: 'Filter by status' }).getByRole('link', { name: 'Running' }).click();
    await page.waitForURL(/status=running/);
    await page.getByText('No running sessions.').waitFor();
    await go('/sessions');
    await screenshot(page, `${store}-sessions`);
    await noSeriousA11yViolations('sessions');
  });

  it('interrupts a running session from the page', async () => {
    model.reset();
    model.script([{ text: 'A slow answer.', delayMs: 8_000 }]);
    const s = await made(alice, '/v1/sessions', { agent: agentId, title: 'Slow one' });
    await go(`/sessions/${s.id}`);
    await page.getByText('stream: live').waitFor();
    await page.getByRole('textbox', { name: 'Message' }).fill('Take your time');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const interrupt = page.getByRole('button', { name: 'Interrupt' });
    await waitFor('the Interrupt button to be enabled', async () => ((await interrupt.isEnabled()) ? true : undefined), 20_000);
    await interrupt.click();
    await waitFor('the page to see the session stop', async () => ((await interrupt.isDisabled()) ? true : undefined), 20_000);
    await waitFor('the session to be idle', async () => ((await alice.req('GET', `/v1/sessions/${s.id}`)).body.status === 'idle' ? true : undefined), 20_000);
    expect((await alice.req('GET', `/v1/sessions/${s.id}/log`)).body.map((e: { type: string }) => e.type)).toContain('user.interrupt');
  });

  it('starts an eval from the page, follows its progress to the score and per-case results, and cancels one', async () => {
    model.reset();
    // Both trials answer "pong" (after a pause, so the page sees the run going): one case passes, one fails.
    model.script([
      { text: 'pong', delayMs: 1_000 },
      { text: 'pong', delayMs: 1_000 },
    ]);
    await go('/managed/evals');
    await page.getByText('No evals yet.').waitFor();
    const form = page.getByRole('form', { name: 'Start an eval' });
    expect(await form.getByRole('combobox', { name: 'Agent' }).inputValue()).toBe(agentId);
    await form.getByLabel('Name', { exact: true }).fill('ping suite');
    const cases = [
      { id: 'says-pong', messages: ['ping'], verifier: { type: 'regex', pattern: 'pong' } },
      { id: 'says-ping', messages: ['ping'], verifier: { type: 'exact', expected: 'ping' } },
    ];
    // A mistake is said in words before anything is sent.
    await form.getByLabel(/^Cases/).fill('[{"id": ');
    await form.getByRole('button', { name: 'Start the eval' }).click();
    await form.getByText(/The cases are not JSON/).waitFor();
    await form.getByLabel(/^Cases/).fill(JSON.stringify(cases));
    await form.getByRole('button', { name: 'Start the eval' }).click();
    await page.waitForURL(/\/managed\/evals\/[^/?]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    // Running: its progress, and a way to cancel it; then the page follows it to its end.
    await page.getByText('Following its progress…').waitFor();
    await page.getByRole('heading', { name: /ping suite\s*completed/ }).waitFor({ timeout: 60_000 });
    const run = (await alice.req('GET', `/v1/evals/${id}`)).body;
    expect(run.score).toBe(0.5);
    expect(await page.getByLabel('Score', { exact: true }).textContent()).toBe('50%');
    expect(await page.getByLabel('Progress', { exact: true }).textContent()).toMatch(/^2 of 2 trials finished: 1 passed, 1 failed/);
    const rows = page.getByRole('table', { name: 'Cases' }).locator('tbody tr');
    expect((await rows.allTextContents()).map((t) => t.replace(/\s+/g, ' '))).toEqual(['says-pongregex1 of 1100%', 'says-pingexact0 of 10%']);
    const trials = page.getByRole('table', { name: 'Trials' });
    await trials.getByText('Answer of says-ping').click();
    await trials.getByText('pong').first().waitFor();
    expect(await trials.getByRole('link').count()).toBe(2);
    await screenshot(page, `${store}-eval`);
    await noSeriousA11yViolations('eval');

    await go('/managed/evals');
    const row = page.getByRole('table', { name: 'Evals' }).getByRole('row', { name: /ping suite/ });
    expect((await row.textContent())?.replace(/\s+/g, ' ')).toMatch(/completed\s*2 of 2\s*50%/);
    await screenshot(page, `${store}-evals`);
    await noSeriousA11yViolations('evals');

    // Cancel a run that is still going.
    model.reset();
    model.script([{ text: 'slow', delayMs: 20_000 }]);
    const slow = await made(alice, '/v1/evals', { agent: agentId, name: 'slow suite', cases: [{ id: 'waits', messages: ['wait'], verifier: { type: 'exact', expected: 'x' } }] });
    await go(`/managed/evals/${slow.id}`);
    await page.getByRole('button', { name: 'Cancel the eval' }).click();
    await page.getByRole('heading', { name: /slow suite\s*cancelled/ }).waitFor();
    expect((await alice.req('GET', `/v1/evals/${slow.id}`)).body.status).toBe('cancelled');
    model.reset();
  });

  it('installs an integration without ever showing its secrets, publishes an agent on a channel, and removes both', async () => {
    await go('/managed/integrations');
    await page.getByText('No integrations yet.').waitFor();
    const form = page.getByRole('form', { name: 'Install an integration' });
    // Refused in words: a bot token alone is not enough.
    await form.getByLabel(/^Bot token/).fill(BOT_TOKEN);
    await form.getByRole('button', { name: 'Install Slack' }).click();
    await form
      .getByRole('alert')
      .getByText(/signing_secret is required/)
      .waitFor();
    await form.getByLabel('Name', { exact: true }).fill('Team Slack');
    await form.getByLabel(/^Signing secret/).fill(SIGNING_SECRET);
    await form.getByRole('button', { name: 'Install Slack' }).click();
    await form.getByText('Team Slack is installed (active).').waitFor();
    // The secrets are gone from the form once the server holds them.
    expect(await form.getByLabel(/^Bot token/).inputValue()).toBe('');
    const item = page.locator('li.agent', { has: page.getByRole('heading', { name: 'Team Slack' }) });
    expect(await item.textContent()).toContain('bot_token, signing_secret');

    const publish = item.getByRole('form', { name: 'Publish an agent on Team Slack' });
    await publish.getByLabel('Channel id').fill('C0123456');
    await publish.getByRole('button', { name: 'Publish' }).click();
    const pubs = item.getByRole('table', { name: 'Publications of Team Slack' });
    await pubs.getByRole('row', { name: /helper C0123456 any/ }).waitFor();
    const [integration] = (await alice.req('GET', '/v1/integrations')).body.data;
    expect((await alice.req('GET', `/v1/integrations/${integration.id}/publications`)).body.data).toMatchObject([{ agent_id: agentId, channel: 'C0123456', workspace: null }]);
    await screenshot(page, `${store}-integrations`);
    await noSeriousA11yViolations('integrations');
    await page.reload({ waitUntil: 'networkidle' });
    const html = await page.evaluate<string>('document.documentElement.outerHTML');
    expect(html).not.toContain(BOT_TOKEN);
    expect(html).not.toContain(SIGNING_SECRET);

    await item.getByRole('button', { name: 'Unpublish helper from C0123456' }).click();
    await item.getByText('No agent answers in a channel of Team Slack yet').waitFor();
    page.once('dialog', (d) => void d.accept());
    await item.getByRole('button', { name: 'Remove Team Slack' }).click();
    await page.getByText('No integrations yet.').waitFor();
    expect((await alice.req('GET', '/v1/integrations')).body.data).toEqual([]);
  });

  it('runs an MCP workload from the registry: status, logs, stop and start, register in a client, and upgrade it from the page', async () => {
    expect((await admin.publish('/api/v1/mcp-servers/@admin/everything', await everythingServerJson('1.0.0'))).status).toBe(200);
    const created = await admin.req('POST', '/api/v1beta/workloads', { server: 'admin/everything' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await signInAs(server.adminToken);
    try {
      await workloadsPage();
    } finally {
      await admin.req('DELETE', '/api/v1beta/workloads/everything');
      await signInAs(aliceToken);
    }
  }, 180_000);

  const workloadsPage = async () => {
    await go('/workloads');
    const item = page.locator('li.workload', { has: page.getByRole('heading', { name: 'everything' }) });
    await item.getByText('running', { exact: true }).waitFor({ timeout: 90_000 });
    await item.getByText('up to date', { exact: true }).waitFor();
    await item.getByRole('button', { name: 'Show logs of everything' }).click();
    await item.getByLabel('Logs of everything').waitFor();
    await item.getByRole('button', { name: 'Stop everything' }).click();
    await item.getByText('stopped', { exact: true }).waitFor({ timeout: 60_000 });
    await item.getByRole('button', { name: 'Start everything', exact: true }).click();
    await item.getByText('running', { exact: true }).waitFor({ timeout: 60_000 });
    const form = item.getByRole('form', { name: 'Register everything in a client' });
    await form.getByRole('combobox', { name: 'Client' }).selectOption('cursor');
    await form.getByRole('button', { name: 'Register in client' }).click();
    await form.getByText('cursor now lists the servers of group default.').waitFor();
    const clients = (await admin.req('GET', '/api/v1beta/clients')).body as Array<{ name: string; groups?: string[] }>;
    expect(clients.find((c) => c.name === 'cursor')).toMatchObject({ groups: ['default'] });

    // A newer version in the registry, which needs a setting: the page offers the upgrade and asks for it.
    expect(
      (
        await admin.publish(
          '/api/v1/mcp-servers/@admin/everything',
          await everythingServerJson('1.1.0', { environmentVariables: [{ name: 'GREETING', description: 'What to say', isRequired: true }] }),
        )
      ).status,
    ).toBe(200);
    await go('/workloads');
    await item.getByText('upgrade available', { exact: true }).waitFor();
    expect(await item.textContent()).toContain('The registry has a newer version of admin/everything');
    const upgrade = item.getByRole('form', { name: 'Upgrade everything' });
    await upgrade.getByLabel('GREETING (required)').fill('hello');
    await screenshot(page, `${store}-workloads`);
    await noSeriousA11yViolations('workloads');
    await upgrade.getByRole('button', { name: 'Upgrade everything' }).click();
    await item.getByText('Upgraded: the new version is running.').waitFor({ timeout: 90_000 });
    await item.getByText('up to date', { exact: true }).waitFor();
    expect((await admin.req('GET', '/api/v1beta/workloads/everything/upgrade-check')).body.result.status).toBe('up-to-date');
    expect((await admin.req('GET', '/api/v1beta/workloads/everything')).body.env_vars).toEqual({ GREETING: 'hello' });
  };

  it('runs an agent package from its page: the session view opens, shows the package version and sha256, and the dev model answers', async () => {
    model.reset();
    model.script([{ text: 'Steam over green leaves.', usage: { input_tokens: 12, output_tokens: 5 } }]);
    const extra = ['config:', '  model: dev-ant', 'examples:', '  - prompt: Write a haiku about tea'].join('\n');
    const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name: 'haiku', version: '1.0.0', scope: 'alice', description: 'Answers in haiku', extra }), 'README.md': '# haiku\n' });
    const sha = createHash('sha256').update(tgz).digest('hex');
    expect((await alice.publish('/api/v1/agents/@alice/haiku', tgz)).status).toBe(200);

    await go('/@alice/haiku');
    const runForm = page.getByRole('form', { name: 'Run @alice/haiku@1.0.0' });
    await runForm.getByRole('button', { name: 'Run' }).waitFor();
    await noSeriousA11yViolations('package with Run');
    await runForm.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/sessions\/[^/]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const pkg = page.getByLabel('Package', { exact: true });
    await pkg.waitFor();
    expect(await pkg.textContent()).toBe('@alice/haiku@1.0.0');
    expect(await pkg.getByRole('link').getAttribute('href')).toBe('/@alice/haiku/v/1.0.0');
    expect(await page.getByLabel('Package sha256').textContent()).toBe(sha);
    await page.getByText('stream: live').waitFor();
    // The package's example is offered as the first message.
    await page.getByRole('group', { name: 'Suggested prompts' }).getByRole('button', { name: 'Write a haiku about tea' }).click();
    expect(await page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('Write a haiku about tea');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByRole('list', { name: 'Events' }).locator('.ev.agent:not(.draft)', { hasText: 'Steam over green leaves.' }).waitFor();
    await screenshot(page, `${store}-package-session`);
    await noSeriousA11yViolations('package session');
    const s = (await alice.req('GET', `/v1/sessions/${id}`)).body;
    expect(s.agent.source).toMatchObject({ type: 'package', name: '@alice/haiku', version: '1.0.0', sha256: sha });
    // Back on the package page, its owner sees the session counted beside the downloads.
    await go('/@alice/haiku');
    const versions = page.getByRole('table', { name: 'Versions of @alice/haiku' });
    await versions.getByRole('columnheader', { name: 'Sessions' }).waitFor();
    expect(
      await versions
        .getByRole('row', { name: /^1\.0\.0/ })
        .getByRole('cell')
        .nth(3)
        .textContent(),
    ).toBe('1');
  });

  it('runs an agentspace agent from the agentspace page: the session view names the agentspace and the assistant', async () => {
    model.reset();
    model.script([{ text: 'Hello from the agentspace.' }]);
    const connector = { provider_id: 'openai', model: 'dev-model', base_url: model.openaiBaseUrl, api_key: { $secretRef: 'LLM_KEY' } };
    for (const [m, p, b] of [
      ['POST', '/registry/', { name: 'agents', namespace: 'local' }],
      ['POST', '/registry/secret', { secret: { key: 'LLM_KEY', scope: 'global' }, value: KEY }],
      [
        'POST',
        '/registry/agent',
        exampleAgent('greeter', {
          response: {
            provider_id: 'alquimia',
            config: { provider_id: 'generative', connector },
            profile: { system_prompt: 'You greet.', evaluation_strategy: { evaluation_strategy_id: 'one-shoot' } },
          },
        }),
      ],
    ] as const) {
      const r = await alice.req(m, p, b);
      expect(r.status, `${m} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    }
    await go('/agentspaces/default');
    const runForm = page.getByRole('form', { name: 'Run agent greeter' });
    await runForm.getByRole('button', { name: 'Run' }).waitFor();
    await noSeriousA11yViolations('agentspace with Run');
    await runForm.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/sessions\/[^/]+$/);
    const from = page.getByLabel('Agentspace', { exact: true });
    await from.waitFor();
    expect(await from.textContent()).toBe('default, assistant greeter');
    expect(await from.getByRole('link').getAttribute('href')).toBe('/agentspaces/default');
    await page.getByText('stream: live').waitFor();
    await page.getByRole('textbox', { name: 'Message' }).fill('hi');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByRole('list', { name: 'Events' }).locator('.ev.agent:not(.draft)', { hasText: 'Hello from the agentspace.' }).waitFor();
  });

  it('shows the signed-in account its own audit log, and keeps the runtime pages behind sign-in', async () => {
    await go('/account');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByText('What @alice did on this server, newest first.').waitFor();
    await page.evaluate('localStorage.clear()');
    for (const [path, words] of [
      ['/managed/agents', 'Managed agents belong to an account.'],
      ['/sessions', 'Sessions belong to an account.'],
      ['/workloads', 'Workloads are run for an account.'],
    ] as const) {
      await go(path);
      await page.getByText(words).waitFor();
    }
    expect(pageErrors).toEqual([]);
  });
});
