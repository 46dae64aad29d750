import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * A HEAD is a look, not a download: it answers a GET's headers without counting a download and
 * without reading the bytes (Fastify's automatic HEAD runs the GET handler, which did both on the
 * native download route, the PraisonAI bundle download and the managed files' bytes).
 */

/** Bytes this process has read through read(2)/pread(2) so far (the server runs in this process). */
const bytesRead = (): number => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

describe.each(testStores)('HEAD requests count no download and read no bytes (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let bob: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    expect((await alice.publish('/api/v1/agents/@alice/tool', await agentTarball({ name: 'tool', version: '1.0.0', scope: 'alice' }))).status).toBe(200);
    expect((await admin.req('PUT', '/api/v1/orgs/recipes/members/alice', { role: 'maintainer' })).status).toBe(200);
    const bundle = await praisonBundle({ name: 'looked-at', version: '1.0.0', author: 'alice' });
    expect((await alice.req('POST', '/v1/recipes/looked-at/1.0.0', { bundle: bundle.toString('base64') })).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const total = async (path: string): Promise<number> => {
    const r = await alice.req('GET', path);
    expect(r.status).toBe(200);
    return r.body.total as number;
  };

  it('native door: a HEAD of download/:version resolves it (404 when missing) but counts nothing; a GET counts one', async () => {
    for (let i = 0; i < 3; i++) expect((await alice.req('HEAD', '/api/v1/agents/@alice/tool/download/latest')).status).toBe(200);
    expect((await alice.req('HEAD', '/api/v1/agents/@alice/tool/download/9.9.9')).status).toBe(404);
    expect(await total('/api/v1/agents/@alice/tool/downloads')).toBe(0);
    const got = await alice.req('GET', '/api/v1/agents/@alice/tool/download/latest');
    expect(got.status).toBe(200);
    expect(got.body.size).toEqual(expect.any(Number));
    expect(await total('/api/v1/agents/@alice/tool/downloads')).toBe(1);
  });

  it('PraisonAI door: a HEAD of the bundle download answers its length and checksum, counts nothing; a GET counts one', async () => {
    const head = await fetch(`${server.url}/v1/recipes/looked-at/1.0.0/download`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const length = Number(head.headers.get('content-length'));
    expect(length).toBeGreaterThan(0);
    expect(head.headers.get('x-checksum-sha256')).toMatch(/^[a-f0-9]{64}$/);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    expect((await fetch(`${server.url}/v1/recipes/looked-at/9.9.9/download`, { method: 'HEAD' })).status).toBe(404);
    expect(await total('/api/v1/recipes/@recipes/looked-at/downloads')).toBe(0);
    const got = await fetch(`${server.url}/v1/recipes/looked-at/1.0.0/download`);
    expect(got.status).toBe(200);
    expect((await got.arrayBuffer()).byteLength).toBe(length);
    expect(await total('/api/v1/recipes/@recipes/looked-at/downloads')).toBe(1);
  });

  it.runIf(process.platform === 'linux')("managed files: a HEAD of a file's bytes answers its length without reading it, and only to its account", async () => {
    const bytes = randomBytes(8 << 20);
    const form = new FormData();
    form.set('file', new Blob([bytes]), 'big.bin');
    const up = await alice.req('POST', '/v1/files', form);
    expect(up.status).toBe(200);
    for (const path of [`/v1/files/${up.body.id}/content`, `/v1/files/${up.body.id}`]) {
      const before = bytesRead();
      const head = await alice.req('HEAD', path, undefined, { accept: 'application/octet-stream' });
      expect(head.status, path).toBe(200);
      expect(head.headers.get('content-length'), path).toBe(String(bytes.length));
      expect(head.headers.get('content-disposition'), path).toContain('big.bin');
      // A HEAD that ran the GET would read all 8 MB of the file in this process.
      expect(bytesRead() - before, path).toBeLessThan(bytes.length / 4);
      expect((await bob.req('HEAD', path, undefined, { accept: 'application/octet-stream' })).status, path).toBe(404);
    }
    const got = await alice.req('GET', `/v1/files/${up.body.id}/content`);
    expect(got.status).toBe(200);
  });
});
