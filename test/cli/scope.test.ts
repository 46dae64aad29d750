import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

describe('agentry scope: namespaces for MCP server names', () => {
  let server: TestServer;
  let ws: CliWorkspace;
  let aliceToken: string;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    ws = new CliWorkspace(server.url);
    await ws.ok(['login', '--token', server.adminToken]);
    aliceToken = (await ws.json<{ token: string }>(['user', 'add', 'alice'])).token;
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('registers a reverse-DNS namespace to an account and lists it', async () => {
    expect((await ws.ok(['scope', 'add', 'io.github.alice', '--owner', 'alice'])).trim()).toBe('Registered @io.github.alice to @alice');
    const listed = await ws.json<{ scopes: Array<{ name: string; owner: string }> }>(['scope', 'ls', 'alice']);
    expect(listed.scopes.map((s) => s.name)).toEqual(['alice', 'io.github.alice']);
    const who = await ws.json<{ scopes: string[] }>(['whoami', '--token', aliceToken]);
    expect(who.scopes).toEqual(['@alice', '@io.github.alice']);
  });

  it('says why it refuses', async () => {
    const again = await ws.run(['scope', 'add', 'io.github.alice', '--owner', 'alice']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already registered to @alice/);
    const plain = await ws.run(['scope', 'add', 'alice2', '--owner', 'alice']);
    expect(plain.stderr).toMatch(/not a namespace/);
    const notAdmin = await ws.run(['scope', 'add', 'com.example', '--owner', 'alice', '--token', aliceToken]);
    expect(notAdmin.code).not.toBe(0);
    expect(notAdmin.stderr).toMatch(/admin/);
    const noOwner = await ws.run(['scope', 'add', 'com.example']);
    expect(noOwner.stderr).toMatch(/--owner/);
  });
});
