import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { EVERYTHING_VERSION } from '../helpers/everything-server.js';
import { agentYaml, makeTarball } from '../helpers/packages.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * Issue 19: an agent.yaml package's `mcp_servers` run as sandboxed workloads of the caller. The
 * server is the reference "everything" server from npm (the version the dev dependencies hold, so
 * npm installs it from its cache), started by Agentry under bubblewrap with `${secrets.KEY}` filled
 * in from the session's vault; the dev model calls its tools.
 */

const SECRET = 'vault-secret-7f3a9c';
const SERVERS = [
  'secrets: [EV_TOKEN]',
  'mcp_servers:',
  '  everything:',
  '    command: npx',
  `    args: ["-y", "@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}", "stdio"]`,
  '    env:',
  '      EV_TOKEN: "tok-${secrets.EV_TOKEN}"',
  '      EV_PLAIN: plain',
].join('\n');

const publish = async (f: ManagedFixture, name: string, extra: string) => {
  const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name, version: '1.0.0', scope: 'alice', description: `The ${name} agent`, extra }), 'README.md': `# ${name}\n` });
  const r = await f.alice.publish(`/api/v1/agents/@alice/${name}`, tgz);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
};

/** Runs one user message in a session and returns its events. */
const turn = async (sdk: ManagedFixture['sdk'], sessionId: string, text: string) => {
  const stream = await sdk.beta.sessions.events.stream(sessionId);
  await sdk.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
  return collectSdk(stream);
};

const sharedLogs = (f: ManagedFixture): string[] => {
  try {
    return readdirSync(join(f.server.dataDir, 'workloads', 'shared-logs'));
  } catch {
    return [];
  }
};

/**
 * The data dirs of this file's servers. The second store's server starts with the npm packages the
 * first installed (as a server keeps them across restarts): npm's cache alone still takes seconds.
 */
const dataDirs: string[] = [];
afterAll(() => {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

describe.each(testStores)('sessions: MCP servers of agent.yaml packages (%s)', { timeout: 60_000 }, (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let env: string;
  let vaultId: string;

  beforeAll(async () => {
    model = await startTestModel();
    const installed = dataDirs.map((d) => join(d, 'workloads', 'packages')).find((d) => existsSync(d));
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-package-mcp-'));
    dataDirs.push(dataDir);
    if (installed) cpSync(installed, join(dataDir, 'workloads', 'packages'), { recursive: true });
    f = await startManagedFixture(store, {
      dataDir,
      egressAllow: '127.0.0.1',
      env: { AGENTRY_RUNTIME_RETRY_BASE_MS: '20' },
      workloadTimings: { initTimeoutMs: 30_000, healthTimeoutMs: 10_000, healthIntervalMs: 5_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 1 },
    });
    env = (await setUpAgent(f.alice, model)).environmentId;
    await publish(f, 'tools', ['config:', '  model: dev-ant', 'permissions:', '  network: false', SERVERS].join('\n'));
    const vault = await f.sdk.beta.vaults.create({ display_name: 'keys' });
    const cred = await f.alice.req('POST', `/v1/vaults/${vault.id}/credentials`, {
      auth: { type: 'environment_variable', secret_name: 'EV_TOKEN', secret_value: SECRET, networking: { type: 'unrestricted' } },
    });
    expect(cred.status, JSON.stringify(cred.body)).toBe(200);
    vaultId = vault.id;
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('runs the server sandboxed for the caller with the vault secret; the model calls its tools; a second session shares it', async () => {
    model.script([{ toolCalls: [{ name: 'mcp__everything__get-env', input: {} }] }, { toolCalls: [{ name: 'mcp__everything__echo', input: { message: 'via npx' } }] }, { text: 'done' }]);
    const s: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/tools' }, environment_id: env, vault_ids: [vaultId] } as any);
    expect(s.agent.mcp_servers).toEqual([{ name: 'everything', type: 'package', package: '@alice/tools', version: '1.0.0' }]);
    // The definition names the server, never its environment or the secret.
    expect(JSON.stringify(s.agent)).not.toMatch(/EV_TOKEN|vault-secret/);
    const events = await turn(f.sdk, s.id, 'what is your environment?');
    const results = events.filter((e) => e.type === 'agent.mcp_tool_result');
    expect(
      results.map((r) => r.is_error),
      JSON.stringify(events.filter((e) => e.type === 'session.error')),
    ).toEqual([false, false]);
    expect(results[1].content).toEqual([{ type: 'text', text: 'Echo: via npx' }]);
    // get-env prints the server's environment: the secret reached it, and nothing else of the host did.
    const printed = JSON.parse(results[0].content[0].text) as Record<string, string>;
    expect(printed).toMatchObject({ EV_TOKEN: `tok-${SECRET}`, EV_PLAIN: 'plain', HOME: '/tmp' });
    expect(Object.keys(printed).sort()).toEqual(['EV_PLAIN', 'EV_TOKEN', 'HOME', 'PATH', 'PWD']);
    const offered = (model.requests.find((r) => r.path === '/v1/messages')!.body as any).tools.map((t: any) => t.name);
    expect(offered).toEqual(expect.arrayContaining(['mcp__everything__echo', 'mcp__everything__get-env', 'read']));

    // A second session of the same caller, package version and vaults uses the same process.
    model.script([{ toolCalls: [{ name: 'mcp__everything__get-sum', input: { a: 2, b: 40 } }] }, { text: 'ok' }]);
    const s2: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/tools', version: '1.0.0' }, environment_id: env, vault_ids: [vaultId] } as any);
    const again = await turn(f.sdk, s2.id, 'sum');
    expect(again.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ is_error: false, content: [{ type: 'text', text: expect.stringContaining('42') }] });
    const logs = sharedLogs(f);
    expect(logs).toHaveLength(1);
    const proxy = readFileSync(join(f.server.dataDir, 'workloads', 'shared-logs', logs[0], 'proxy.log'), 'utf8');
    expect(proxy.match(/"status":"running"/g)).toHaveLength(1);
    // The secret's value is in no log Agentry writes, and not in the session's stored agent.
    const server = readFileSync(join(f.server.dataDir, 'workloads', 'shared-logs', logs[0], 'server.log'), 'utf8');
    expect(proxy + server).not.toContain(SECRET);
    expect(JSON.stringify((await f.alice.req('GET', `/v1/agents/${s.agent.id}`)).body)).not.toContain(SECRET);
  });

  it('sandboxes the server: no network unless permissions.network is true, and then only the egress proxy', async () => {
    const hits: string[] = [];
    const http = createServer((req, res) => {
      hits.push(String(req.url));
      res.end('reachable');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/file.txt`;
    try {
      const server = (net: boolean) =>
        [
          'config:',
          '  model: dev-ant',
          `permissions:\n  network: ${net}`,
          'mcp_servers:',
          '  ev:',
          '    command: npx',
          `    args: ["@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}", "stdio"]`,
        ].join('\n');
      await publish(f, 'offline', server(false));
      await publish(f, 'online', server(true));
      model.script([
        { toolCalls: [{ name: 'mcp__ev__get-env', input: {} }] },
        { toolCalls: [{ name: 'mcp__ev__gzip-file-as-resource', input: { data: url, outputType: 'resource' } }] },
        { text: 'ok' },
      ]);
      const s: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/offline' }, environment_id: env } as any);
      const results = (await turn(f.sdk, s.id, 'fetch')).filter((e) => e.type === 'agent.mcp_tool_result');
      // No secrets asked for (no vault needed), no proxy given; the server's own fetch of a host address fails.
      expect(Object.keys(JSON.parse(results[0].content[0].text)).sort()).toEqual(['HOME', 'PATH', 'PWD']);
      expect(results[1].is_error).toBe(true);
      expect(hits).toEqual([]);

      model.script([{ toolCalls: [{ name: 'mcp__ev__get-env', input: {} }] }, { text: 'ok' }]);
      const online: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/online' }, environment_id: env } as any);
      const printed = JSON.parse((await turn(f.sdk, online.id, 'env')).find((e) => e.type === 'agent.mcp_tool_result').content[0].text) as Record<string, string>;
      expect(printed.HTTPS_PROXY).toMatch(/^http:\/\/.*127\.0\.0\.1:\d+/);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });

  it('a secret missing from the session vaults is a session error naming the key; the session stays usable', async () => {
    model.script([{ text: 'never reached' }]);
    const s: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/tools' }, environment_id: env } as any);
    const events = await turn(f.sdk, s.id, 'hi');
    const error = events.find((e) => e.type === 'session.error');
    expect(error.error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'everything', message: expect.stringMatching(/secret 'EV_TOKEN'.*none of the session's vaults/) });
    expect(events.some((e) => e.type === 'agent.mcp_tool_result')).toBe(false);
    expect(events.at(-1).type).toBe('session.status_idle');
    expect((await f.alice.req('GET', `/v1/sessions/${s.id}`)).body.status).toBe('idle');
  });

  it("another account's private package is refused at create, and at run time through a hand-made agent", async () => {
    await publish(f, 'hidden', ['config:', '  model: dev-ant', SERVERS].join('\n'));
    expect((await f.alice.req('PUT', '/api/v1/access/@alice/hidden', { visibility: 'private' })).status).toBe(200);
    const bob = await setUpAgent(f.bob, model, { tools: [{ type: 'mcp_toolset', mcp_server_name: 'everything' }] });
    expectManagedError(await f.bob.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/hidden' }, environment_id: bob.environmentId }), 404, 'not_found_error');
    // Naming it in a managed agent of bob's does not run it either: the package is read as bob.
    const patched = await f.bob.req('POST', `/v1/agents/${bob.agentId}`, { version: 1, mcp_servers: [{ type: 'package', name: 'everything', package: '@alice/hidden', version: '1.0.0' }] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    model.script([{ text: 'never reached' }]);
    const s = await f.bobSdk.beta.sessions.create({ agent: bob.agentId, environment_id: bob.environmentId });
    const events = await turn(f.bobSdk, s.id, 'hi');
    expect(events.find((e) => e.type === 'session.error').error).toMatchObject({ type: 'mcp_connection_failed_error', message: expect.stringMatching(/@alice\/hidden@1\.0\.0: .*not found/i) });
    // A bad package reference is refused when the agent is written.
    const bad = await f.bob.req('POST', `/v1/agents/${bob.agentId}`, { version: 2, mcp_servers: [{ type: 'package', name: 'x', package: 'hidden', version: '1.0.0' }] });
    expectManagedError(bad, 400, 'invalid_request_error', /'package' server names an agent package/);
  });
});
