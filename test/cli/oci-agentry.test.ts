import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

/** `agentry oci` against Agentry's own /v2/, logged in with the Agentry token `agentry login` saved. */
describe.each(testStores)('agentry oci against Agentry (%s)', (store) => {
  let server: TestServer;
  let ws: CliWorkspace;
  let host: string;
  let token: string;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ store });
    host = new URL(server.url).host;
    ws = new CliWorkspace(server.url);
    token = (await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', server.adminToken])).token;
    writeFileSync(ws.path('notes.md'), '# Notes\n');
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('uses the saved Agentry login for the Docker token flow', async () => {
    const anonymous = await ws.run(['oci', 'push', `${host}/alice/notes:1.0.0`, 'notes.md'], { env: { DOCKER_CONFIG: ws.path('none') } });
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toMatch(new RegExp(`^agentry: .* failed on ${host.replace(/\./g, '\\.')}/alice/notes: the registry answered 401 Unauthorized.*the registry requires credentials`));

    await ws.ok(['login', '--token', token]);
    const pushed = await ws.ok(['oci', 'push', `${host}/alice/notes:1.0.0`, 'notes.md', '--artifact-type', 'application/vnd.alquimia.registry.v1']);
    expect(pushed).toMatch(new RegExp(`^Pushed ${host.replace(/\./g, '\\.')}/alice/notes:1\\.0\\.0@sha256:[0-9a-f]{64} \\(1 file, 8 B; 2 blobs uploaded`));
    await ws.ok(['oci', 'pull', `${host}/alice/notes:1.0.0`, '--out', 'pulled']);
    expect(readFileSync(ws.path('pulled', 'notes.md'), 'utf8')).toBe('# Notes\n');
    expect(await ws.json(['oci', 'tags', `${host}/alice/notes`])).toEqual({ repository: `${host}/alice/notes`, tags: ['1.0.0'] });
    expect(pushed).not.toContain(token);
  }, 120_000);

  it('takes AGENTRY_TOKEN with AGENTRY_REGISTRY when nothing is saved', async () => {
    const fresh = new CliWorkspace();
    try {
      writeFileSync(fresh.path('b.txt'), 'b\n');
      const out = await fresh.json<{ reference: string }>(['oci', 'push', `${host}/alice/envtoken:1.0.0`, 'b.txt'], { env: { AGENTRY_REGISTRY: server.url, AGENTRY_TOKEN: token } });
      expect(out.reference).toMatch(/\/alice\/envtoken:1\.0\.0@sha256:/);
    } finally {
      fresh.cleanup();
    }
  }, 120_000);
});
