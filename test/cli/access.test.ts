import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

describe.each(testStores)('agentry access and publish --access (%s)', (store) => {
  let server: TestServer;
  let ws: CliWorkspace;
  let aliceToken: string;
  let bobToken: string;
  const anon = () => new Api(server.url);

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ store });
    ws = new CliWorkspace(server.url);
    await ws.ok(['login', '--token', server.adminToken]);
    aliceToken = (await ws.json<{ token: string }>(['user', 'add', 'alice'])).token;
    bobToken = (await ws.json<{ token: string }>(['user', 'add', 'bob'])).token;
    await ws.ok(['login', '--token', aliceToken]);
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('publishes with --access, and a later publish keeps the visibility unless it is given again', async () => {
    await ws.ok(['init', 'hidden', '--kind', 'agent', '--name', 'hidden', '--scope', 'alice', '--description', 'Hidden agent']);
    expect((await ws.ok(['publish', 'hidden', '--access', 'private'])).trim()).toMatch(/^Published @alice\/hidden@0\.1\.0/);
    expect((await anon().req('GET', '/api/v1/agents/@alice/hidden')).status).toBe(404);
    expect((await ws.ok(['access', 'get', '@alice/hidden'])).trim()).toBe('@alice/hidden: private');

    const yaml = ws.path('hidden', 'agent.yaml');
    writeFileSync(yaml, (await import('node:fs')).readFileSync(yaml, 'utf8').replace('version: 0.1.0', 'version: 0.2.0'));
    await ws.ok(['publish', 'hidden']);
    expect(await ws.json(['access', 'get', '@alice/hidden'])).toEqual({ package: '@alice/hidden', kind: 'agent', visibility: 'private' });

    await ws.ok(['init', 'note-skill', '--kind', 'skill', '--name', 'note-skill', '--scope', 'alice', '--description', 'Notes skill']);
    await ws.ok(['skill', 'publish', 'note-skill', '--access', 'internal']);
    expect((await ws.json<{ visibility: string }>(['access', 'get', 'alice/note-skill'])).visibility).toBe('internal');
    expect((await anon().req('GET', '/api/v1/skills/@alice/note-skill')).status).toBe(404);
    expect((await new Api(server.url, bobToken).req('GET', '/api/v1/skills/@alice/note-skill')).status).toBe(200);
  });

  it('publishes a recipe with --access', async () => {
    const admin = new Api(server.url, server.adminToken);
    expect((await admin.req('PUT', '/api/v1/orgs/recipes/members/alice', { role: 'owner' })).status).toBe(200);
    writeFileSync(ws.path('secret.praison'), await praisonBundle({ name: 'secret-recipe', version: '1.0.0' }));
    await ws.ok(['recipe', 'publish', 'secret.praison', '--access', 'private']);
    expect((await anon().req('GET', '/v1/recipes/secret-recipe')).status).toBe(404);
    expect((await ws.ok(['access', 'get', '@recipes/secret-recipe'])).trim()).toBe('@recipes/secret-recipe: private');
  });

  it('sets and gets a package visibility and a scope default', async () => {
    expect((await ws.ok(['access', 'set', '@alice/hidden', 'public'])).trim()).toBe('@alice/hidden: public');
    expect((await anon().req('GET', '/api/v1/agents/@alice/hidden')).status).toBe(200);
    expect((await ws.ok(['access', 'get', '@alice'])).trim()).toBe('@alice: public (the default of its new packages)');
    expect(await ws.json(['access', 'set', '@alice', 'INTERNAL'])).toEqual({ scope: '@alice', visibility: 'internal' });
    await ws.ok(['init', 'later', '--kind', 'agent', '--name', 'later', '--scope', 'alice', '--description', 'Later agent']);
    await ws.ok(['publish', 'later']);
    expect((await ws.json<{ visibility: string }>(['access', 'get', '@alice/later'])).visibility).toBe('internal');
    expect((await ws.json<{ visibility: string }>(['access', 'get', '@alice/hidden'])).visibility).toBe('public');
  });

  it('says why it refuses', async () => {
    const bad = await ws.run(['access', 'set', '@alice/hidden', 'secret']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/public, internal, private/);
    const badPublish = await ws.run(['publish', 'hidden', '--access', 'everyone']);
    expect(badPublish.code).not.toBe(0);
    expect(badPublish.stderr).toMatch(/public, internal, private/);
    const badTarget = await ws.run(['access', 'get', 'a/b/c']);
    expect(badTarget.code).not.toBe(0);
    expect(badTarget.stderr).toMatch(/@scope\/name/);
    const notTheirs = await ws.run(['access', 'set', '@alice/hidden', 'private', '--token', bobToken]);
    expect(notTheirs.code).not.toBe(0);
    expect(notTheirs.stderr).toMatch(/@bob/);
    // Signed out, an internal package is as absent as a missing one.
    const anonymous = new CliWorkspace(server.url);
    try {
      const hidden = await anonymous.run(['access', 'get', '@alice/later']);
      expect(hidden.code).not.toBe(0);
      expect(hidden.stderr).toMatch(/not found/i);
      const unsigned = await anonymous.run(['access', 'set', '@alice', 'private']);
      expect(unsigned.code).not.toBe(0);
      expect(unsigned.stderr).toMatch(/log ?in|token/i);
    } finally {
      anonymous.cleanup();
    }
    const missing = await ws.run(['access', 'get', '@nobody-x']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found/i);
    const help = await ws.ok(['access', 'set', '--help']);
    expect(help).toMatch(/internal \(every signed-in account/);
    expect(await ws.ok(['publish', '--help'])).toMatch(/--access <visibility>/);
  });
});
