import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient as RegistryClient } from '../../src/adapters/oci-client/index.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { OciClient, sha256 } from '../helpers/oci.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { expireMirrorChecks } from '../helpers/backdate.js';

/**
 * Pull-through OCI mirrors (issue 18 part 1): Debian's docker-registry on 127.0.0.1 as the upstream
 * (allow-listed in the egress policy, as a user would), Agentry's `/v2/<mirror>/…` in front of it.
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the OCI mirror tests: docker-registry is not installed');

const ARTIFACT = 'application/vnd.example.mirror-test.v1';
const fast = { retries: 0, baseDelayMs: 10, maxDelayMs: 100 };

/** Pushes one single-layer artifact to the upstream; answers its manifest digest and the layer. */
const pushUpstream = async (reg: DockerRegistry, ref: string, content: string, credentials?: { username: string; password: string }) => {
  const client = new RegistryClient({ retry: fast, ...(credentials ? { credentials: { [reg.host]: credentials } } : {}) });
  const layer = Buffer.from(content);
  const pushed = await client.pushArtifact({ ref: `${reg.host}/${ref}`, artifactType: ARTIFACT, layers: [{ mediaType: 'text/plain', data: layer, title: 'content.txt' }] });
  return { digest: pushed.digest, layer };
};

/** The blob file docker-registry keeps for a digest (to make it lie about the bytes). */
const blobFile = (reg: DockerRegistry, digest: string): string => {
  const hex = digest.slice('sha256:'.length);
  return join(reg.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
};

describe.skipIf(!run).each(testStores)('OCI mirrors (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let upstream: DockerRegistry;
  let locked: DockerRegistry;
  const logs = new PassThrough();
  let logText = '';
  const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
  let v2: OciClient;
  let puller: RegistryClient;

  beforeAll(async () => {
    logs.on('data', (c: Buffer) => (logText += c.toString()));
    [upstream, locked] = await Promise.all([startDockerRegistry(), startDockerRegistry({ basicAuth: { username: 'mirror', password: PASSWORD } })]);
    server = await startTestServer({ store, egressAllow: '127.0.0.1', log: { level: 'debug', stream: logs } });
    admin = new Api(server.url, server.adminToken);
    v2 = new OciClient(server.url);
    puller = new RegistryClient({ retry: fast });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([upstream?.stop(), locked?.stop()]);
  });

  it('administrators add, list and remove mirrors; the password is never returned or logged; bad input is refused', async () => {
    const added = await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'locked', url: locked.url, username: 'mirror', password: PASSWORD, ttl_seconds: 60 });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ name: 'locked', kind: 'oci', url: locked.url, username: 'mirror', has_password: true, ttl_seconds: 60, visibility: 'private', created_at: expect.any(String) });
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'locked', url: locked.url })).status).toBe(409);
    const list = await admin.req('GET', '/api/v1/mirrors');
    expect(list.status).toBe(200);
    expect(list.body.mirrors.map((m: { name: string }) => m.name)).toContain('locked');
    expect(JSON.stringify(list.body)).not.toContain(PASSWORD);
    expect((await admin.req('GET', '/api/v1/mirrors/locked')).body.has_password).toBe(true);

    for (const [body, problem] of [
      [{ kind: 'npm', name: 'x', url: 'https://example.com' }, /kind/],
      [{ kind: 'oci', name: 'Bad_Name', url: 'https://example.com' }, /name/],
      [{ kind: 'oci', name: 'x', url: 'ftp://example.com' }, /http/],
      [{ kind: 'oci', name: 'x', url: 'https://u:p@example.com' }, /login/],
      [{ kind: 'oci', name: 'x', url: 'https://example.com/some/path' }, /no path/],
      [{ kind: 'oci', name: 'x', url: 'https://example.com', username: 'u' }, /together/],
      [{ kind: 'oci', name: 'x', url: 'https://example.com', ttl_seconds: 0 }, /ttl/],
      [{ kind: 'oci', name: 'admin', url: 'https://example.com' }, /scope/],
    ] as const) {
      const r = await admin.req('POST', '/api/v1/mirrors', body);
      expect([400, 409, 422], JSON.stringify(body)).toContain(r.status);
      expect(JSON.stringify(r.body), JSON.stringify(body)).toMatch(problem);
    }

    // Only administrators: anonymous callers and ordinary users are refused, and learn nothing.
    const user = await admin.req('POST', '/api/v1/users', { username: 'mia' });
    const mia = new Api(server.url, user.body.token);
    expect((await new Api(server.url).req('GET', '/api/v1/mirrors')).status).toBe(401);
    expect((await mia.req('GET', '/api/v1/mirrors')).status).toBe(403);
    expect((await mia.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'mine', url: upstream.url })).status).toBe(403);
    expect((await mia.req('DELETE', '/api/v1/mirrors/locked')).status).toBe(403);
    expect((await admin.req('DELETE', '/api/v1/mirrors/nope')).status).toBe(404);
  });

  it('fetches manifests and blobs on demand, stores them once, serves them with the upstream stopped', async () => {
    const other = await startDockerRegistry();
    const a = await pushUpstream(other, 'team/app:1.0', 'hello from upstream');
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'hub', url: other.url })).status).toBe(201);
    const host = new URL(server.url).host;

    const pulled = await puller.pullArtifact(`${host}/hub/team/app:1.0`);
    expect(pulled.digest).toBe(a.digest);
    expect(Buffer.from(pulled.layers[0].data as Uint8Array).toString()).toBe('hello from upstream');

    // A push into a mirror is refused: it is read-only.
    const admin2 = v2.withToken(server.adminToken);
    expect((await admin2.pushBlob('hub/team/app', 'nope')).status).toBe(403);
    expect((await admin2.req('DELETE', `/v2/hub/team/app/manifests/${a.digest}`)).status).toBe(403);

    await other.stop();
    const again = await puller.pullArtifact(`${host}/hub/team/app:1.0`);
    expect(again.digest).toBe(a.digest);
    expect((await v2.req('GET', `/v2/hub/team/app/blobs/${sha256(a.layer)}`)).body.toString()).toBe('hello from upstream');
    // What the upstream never served is an upstream failure, not a cache entry.
    const missing = await v2.req('GET', '/v2/hub/team/app/manifests/2.0');
    expect(missing.status).toBe(502);
    expect(missing.body.toString()).not.toMatch(/at .*\.ts:\d+/);
  });

  it('asks the upstream again after the TTL: a moved tag is followed, a digest is kept', async () => {
    const reg = await startDockerRegistry();
    let stopped: Promise<void> | undefined;
    const stopOnce = () => (stopped ??= reg.stop());
    try {
      const first = await pushUpstream(reg, 'lib/tool:latest', 'version one');
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'short', url: reg.url, ttl_seconds: 3600 })).status).toBe(201);
      const digestOf = async () => (await v2.req('HEAD', '/v2/short/lib/tool/manifests/latest')).headers.get('docker-content-digest');
      expect(await digestOf()).toBe(first.digest);
      const second = await pushUpstream(reg, 'lib/tool:latest', 'version two');
      expect(await digestOf()).toBe(first.digest); // within the TTL: the cache answers
      await expireMirrorChecks(server, 'short');
      expect(await digestOf()).toBe(second.digest);
      expect((await v2.req('GET', `/v2/short/lib/tool/manifests/${first.digest}`)).status).toBe(200);
      expect((await v2.req('GET', '/v2/short/lib/tool/manifests/absent')).status).toBe(404);
      // Past the TTL with the upstream down: the tag's last known digest is served.
      await stopOnce();
      await expireMirrorChecks(server, 'short');
      expect(await digestOf()).toBe(second.digest);
    } finally {
      await stopOnce();
    }
  });

  it('logs in to the upstream with the stored credentials; without them the upstream refuses', async () => {
    const a = await pushUpstream(locked, 'private/app:1.0', 'behind a login', { username: 'mirror', password: PASSWORD });
    // The mirror with a login is private (its default): an administrator pulls.
    const asAdmin = v2.withToken(server.adminToken);
    const ok = await asAdmin.req('GET', '/v2/locked/private/app/manifests/1.0', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-content-digest')).toBe(a.digest);
    expect((await asAdmin.req('GET', `/v2/locked/private/app/blobs/${sha256(a.layer)}`)).body.toString()).toBe('behind a login');

    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'nologin', url: locked.url })).status).toBe(201);
    const refused = await v2.req('GET', '/v2/nologin/private/app/manifests/1.0');
    expect(refused.status).toBe(502);
    expect(refused.body.toString()).not.toContain(PASSWORD);
    expect(logText).not.toContain(PASSWORD);
  });

  it('refuses a blob whose bytes do not match its digest, and keeps nothing of it', async () => {
    const reg = await startDockerRegistry();
    try {
      const a = await pushUpstream(reg, 'evil/app:1.0', 'the real bytes');
      writeFileSync(blobFile(reg, sha256(a.layer)), 'the fake bytes');
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'evil', url: reg.url })).status).toBe(201);
      expect((await v2.req('GET', '/v2/evil/evil/app/manifests/1.0')).status).toBe(200);
      const blob = await v2.req('GET', `/v2/evil/evil/app/blobs/${sha256(a.layer)}`);
      expect(blob.status).toBe(502);
      expect(blob.body.toString()).toMatch(/hash/);
      const stored = readdirSync(join(server.dataDir, 'blobs'), { recursive: true }).map(String);
      expect(stored.some((f) => f.includes(sha256(a.layer).slice(7)))).toBe(false);
      expect(stored.some((f) => f.includes(sha256('the fake bytes').slice(7)))).toBe(false);
    } finally {
      await reg.stop();
    }
  });
});
