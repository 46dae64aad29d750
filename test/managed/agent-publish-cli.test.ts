import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliWorkspace, assertBuilt } from '../cli/cli-harness.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('agentry agent publish (%s)', (store) => {
  let server: TestServer;
  let ws: CliWorkspace;
  let alice: Api;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ store });
    ws = new CliWorkspace(server.url);
    const user = await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', server.adminToken]);
    await ws.ok(['login', '--token', user.token]);
    alice = new Api(server.url, user.token);
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('publishes a managed agent version as a semver agent package, pullable like any other', async () => {
    const a = await alice.req('POST', '/v1/agents', { name: 'Support Bot', model: 'claude-sonnet-4-6', system: 'Be kind.', description: 'Answers support questions' });
    await alice.req('PATCH', `/v1/agents/${a.body.id}`, { system: 'Be kind and brief.' });

    const r = await ws.json<{ package: string; version: string; agent_version: number }>(['agent', 'publish', a.body.id]);
    expect(r).toMatchObject({ package: '@alice/support-bot', version: '2.0.0', agent_version: 2 });
    const first = await ws.json<{ version: string }>(['agent', 'publish', a.body.id, '--agent-version', '1']);
    expect(first.version).toBe('1.0.0');

    const info = await alice.req('GET', '/api/v1/agents/@alice/support-bot');
    expect(info.status).toBe(200);
    expect(JSON.stringify(info.body)).toContain('Answers support questions');
    const versions = await alice.req('GET', '/api/v1/packages/@alice/support-bot/versions');
    expect(JSON.stringify(versions.body)).toMatch(/2\.0\.0[\s\S]*1\.0\.0/);

    const again = await ws.run(['agent', 'publish', a.body.id]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/Version 2\.0\.0 already exists/);
    const missing = await ws.run(['agent', 'publish', 'agent_nope']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/Agent agent_nope not found/);
    const custom = await ws.json<{ package: string; version: string }>(['agent', 'publish', a.body.id, '--name', 'helpdesk', '--package-version', '0.3.0']);
    expect(custom).toMatchObject({ package: '@alice/helpdesk', version: '0.3.0' });
    expect((await ws.run(['agent', 'publish', a.body.id, '--package-version', 'banana'])).stderr).toMatch(/not valid semver/);
  });
});
