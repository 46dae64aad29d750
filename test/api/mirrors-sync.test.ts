import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient as RegistryClient } from '../../src/adapters/oci-client/index.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { startProxy, type TestProxy } from '../helpers/http-proxy.js';
import { OciClient, sha256 } from '../helpers/oci.js';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Sync jobs of OCI mirrors (issue 18 part 1): Debian's docker-registry on 127.0.0.1 as the upstream,
 * behind a small proxy that counts the requests the mirror makes and can hold one back (so a job is
 * seen, cancelled or interrupted mid-way, deterministically).
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the mirror sync tests: docker-registry is not installed');

const ARTIFACT = 'application/vnd.example.mirror-sync.v1';
const fast = { retries: 0, baseDelayMs: 10, maxDelayMs: 100 };

/** Everything the tests push: two repositories, six tags (an index among them); tags go in byte order. */
const ALL = ['lib/tool:latest', 'lib/tool:multi', 'lib/tool:v1', 'team/app:1.0', 'team/app:1.1', 'team/app:2.0'];

interface Upstream {
  reg: DockerRegistry;
  proxy: TestProxy;
  client: RegistryClient;
  /** Holds back requests whose path matches until `release()`. */
  hold(pattern: RegExp): void;
  release(): void;
  push(ref: string, content: string): Promise<{ digest: string; size: number; layer: Buffer }>;
  stop(): Promise<void>;
}

const startUpstream = async (): Promise<Upstream> => {
  const reg = await startDockerRegistry();
  let held: { pattern: RegExp; open: Promise<void>; release: () => void } | undefined;
  const proxy = await startProxy(reg.url, {
    intercept: async (req) => {
      if (held && held.pattern.test(req.url ?? '')) await held.open;
      return false;
    },
  });
  const client = new RegistryClient({ retry: fast });
  const push = async (ref: string, content: string) => {
    const layer = Buffer.from(content);
    const pushed = await client.pushArtifact({ ref: `${reg.host}/${ref}`, artifactType: ARTIFACT, layers: [{ mediaType: 'text/plain', data: layer, title: 'content.txt' }] });
    return { digest: pushed.digest, size: pushed.size, layer };
  };
  const up: Upstream = {
    reg,
    proxy,
    client,
    hold: (pattern) => {
      let release = () => undefined as void;
      const open = new Promise<void>((r) => (release = r));
      held = { pattern, open, release };
    },
    release: () => {
      held?.release();
      held = undefined;
    },
    push,
    stop: async () => {
      up.release();
      await proxy.close();
      await reg.stop();
    },
  };
  for (const ref of ALL.filter((r) => r !== 'lib/tool:multi')) await push(ref, `content of ${ref}`);
  // An index of two untagged artifacts: a sync copies its children and their blobs too.
  const a = await push('lib/tool', 'for arm');
  const b = await push('lib/tool', 'for amd');
  await client.pushIndex({
    ref: `${reg.host}/lib/tool:multi`,
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: a.digest, size: a.size, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: b.digest, size: b.size, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  });
  return up;
};

const waitFor = async <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests the mirror made for these tags' manifests or for these blobs, after `from`. */
const requestsFor = (up: Upstream, from: number, pattern: RegExp): string[] => up.proxy.seen.slice(from).filter((s) => pattern.test(s));

describe.skipIf(!run).each(testStores)('mirror sync jobs (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let v2: OciClient;

  const job = async (api: Api, mirror: string, id: string) => (await api.req('GET', `/api/v1/mirrors/${mirror}/syncs/${id}`)).body;
  const finished = (api: Api, mirror: string, id: string) =>
    waitFor(
      `sync ${id} to end`,
      () => job(api, mirror, id),
      (j) => j.progress?.phase === 'finished',
    );

  beforeAll(async () => {
    server = await startTestServer({ store, egressAllow: '127.0.0.1' });
    admin = new Api(server.url, server.adminToken);
    v2 = new OciClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('copies two repositories with their tags, showing progress; one sync at a time; a second sync reports what changed; pulls work with the upstream stopped', async () => {
    const up = await startUpstream();
    try {
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'up', url: up.proxy.url })).status).toBe(201);
      up.hold(/\/team\/app\/manifests\/1\.1$/);
      const started = await admin.req('POST', '/api/v1/mirrors/up/sync');
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      expect(started.body).toMatchObject({ mirror: 'up', kind: 'oci', status: 'queued', filter: null, progress: { done: 0, total: null, phase: 'queued' }, report: null, requested_by: 'admin' });
      expect(started.headers.get('location')).toBe(`/api/v1/mirrors/up/syncs/${started.body.id}`);
      const id = started.body.id as string;

      // Mid-way (the upstream holds team/app:1.1 back): lib/tool's three tags and team/app:1.0 are done.
      const mid = await waitFor(
        'progress',
        () => job(admin, 'up', id),
        (j) => j.progress.done === 4,
      );
      expect(mid).toMatchObject({ status: 'running', progress: { done: 4, total: 6, phase: 'copying' }, report: null, started_at: expect.any(String), finished_at: null });
      const again = await admin.req('POST', '/api/v1/mirrors/up/sync', { filter: 'team/app' });
      expect(again.status).toBe(409);
      expect(again.body.error).toContain(id);
      up.release();

      const done = await finished(admin, 'up', id);
      expect(done).toMatchObject({ status: 'succeeded', progress: { done: 6, total: 6, phase: 'finished' }, error: null, finished_at: expect.any(String) });
      expect(done.report).toEqual({ added: ALL, updated: [], unchanged: 0, removed: [], failed: [] });

      // What changed upstream is what the next sync reports.
      const moved = await up.push('team/app:2.0', 'two, again');
      await up.push('team/app:3.0', 'three');
      const v1 = await up.client.resolve(`${up.reg.host}/lib/tool:v1`);
      expect((await fetch(`${up.reg.url}/v2/lib/tool/manifests/${v1!.digest}`, { method: 'DELETE' })).status).toBe(202);
      const second = await admin.req('POST', '/api/v1/mirrors/up/sync', {});
      expect(second.status).toBe(202);
      expect((await finished(admin, 'up', second.body.id)).report).toEqual({
        added: ['team/app:3.0'],
        updated: ['team/app:2.0'],
        unchanged: 4,
        removed: ['lib/tool:v1'],
        failed: [],
      });
      expect((await v2.req('GET', '/v2/up/lib/tool/manifests/v1')).status).not.toBe(200);

      // Nothing changed: nothing is fetched again.
      const mark = up.proxy.seen.length;
      const third = await admin.req('POST', '/api/v1/mirrors/up/sync');
      expect((await finished(admin, 'up', third.body.id)).report).toEqual({ added: [], updated: [], unchanged: 6, removed: [], failed: [] });
      expect(requestsFor(up, mark, /^GET .*\/(blobs|manifests)\//)).toEqual([]);

      const list = await admin.req('GET', '/api/v1/mirrors/up/syncs');
      expect(list.status).toBe(200);
      expect(list.body.syncs.map((j: { id: string }) => j.id)).toEqual([third.body.id, second.body.id, id]);
      expect((await admin.req('GET', '/api/v1/mirrors/up/syncs?limit=1')).body.syncs).toHaveLength(1);

      // The upstream gone, every synced tag still pulls, an index's children and blobs included.
      await up.stop();
      const puller = new RegistryClient({ retry: fast });
      const host = new URL(server.url).host;
      for (const ref of ['team/app:1.0', 'team/app:1.1', 'lib/tool:latest', 'team/app:3.0']) {
        const pulled = await puller.pullArtifact(`${host}/up/${ref}`);
        expect(Buffer.from(pulled.layers[0].data as Uint8Array).toString()).toBe(`content of ${ref}`.replace('content of team/app:3.0', 'three'));
      }
      expect(Buffer.from((await puller.pullArtifact(`${host}/up/team/app:2.0`)).layers[0].data as Uint8Array).toString()).toBe('two, again');
      expect((await v2.req('HEAD', '/v2/up/team/app/manifests/2.0')).headers.get('docker-content-digest')).toBe(moved.digest);
      const index = await v2.req('GET', '/v2/up/lib/tool/manifests/multi', undefined, { accept: 'application/vnd.oci.image.index.v1+json' });
      expect(index.status).toBe(200);
      for (const child of JSON.parse(index.body.toString()).manifests as { digest: string }[]) {
        const m = await v2.req('GET', `/v2/up/lib/tool/manifests/${child.digest}`, undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
        expect(m.status).toBe(200);
        const layer = (JSON.parse(m.body.toString()) as { layers: { digest: string }[] }).layers[0].digest;
        expect(['for arm', 'for amd']).toContain((await v2.req('GET', `/v2/up/lib/tool/blobs/${layer}`)).body.toString());
      }
      expect((await v2.req('GET', `/v2/up/team/app/blobs/${sha256('content of team/app:1.0')}`)).body.toString()).toBe('content of team/app:1.0');
    } finally {
      await up.stop();
    }
  });

  it('a cancelled job stops; the next sync with its filter takes up from its checkpoint without fetching again what was done', async () => {
    const up = await startUpstream();
    try {
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'cx', url: up.proxy.url })).status).toBe(201);
      up.hold(/\/team\/app\/manifests\/1\.1$/);
      const first = (await admin.req('POST', '/api/v1/mirrors/cx/sync', { filter: 'lib/tool,team/app' })).body;
      expect(first.filter).toBe('lib/tool,team/app');
      await waitFor(
        'progress',
        () => job(admin, 'cx', first.id),
        (j) => j.progress.done === 4,
      );
      const cancelled = await admin.req('DELETE', `/api/v1/mirrors/cx/syncs/${first.id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: 'cancelled', progress: { done: 4, total: 6, phase: 'finished' }, finished_at: expect.any(String) });
      expect((await admin.req('DELETE', `/api/v1/mirrors/cx/syncs/${first.id}`)).status).toBe(409);
      await sleep(300);
      up.release();
      await sleep(300);
      expect(await job(admin, 'cx', first.id)).toMatchObject({ status: 'cancelled', progress: { done: 4 }, report: null });

      const mark = up.proxy.seen.length;
      const resumed = await admin.req('POST', '/api/v1/mirrors/cx/sync', { filter: 'lib/tool,team/app' });
      expect(resumed.status).toBe(202);
      expect(resumed.body).toMatchObject({ resumed_from: first.id, progress: { done: 4, total: 6 } });
      const done = await finished(admin, 'cx', resumed.body.id);
      expect(done).toMatchObject({ status: 'succeeded', progress: { done: 6, total: 6 } });
      expect(done.report).toEqual({ added: ALL, updated: [], unchanged: 0, removed: [], failed: [] });
      expect(requestsFor(up, mark, /\/lib\/tool\/(manifests|blobs)\/|\/team\/app\/manifests\/1\.0$/)).toEqual([]);
      expect(requestsFor(up, mark, new RegExp(`/blobs/${sha256('content of team/app:1.0')}`))).toEqual([]);

      // --fresh starts over (everything is there: unchanged); a tag pattern narrows the tags.
      const fresh = await admin.req('POST', '/api/v1/mirrors/cx/sync', { filter: 'lib/tool,team/app', fresh: true });
      expect((await finished(admin, 'cx', fresh.body.id)).report).toMatchObject({ added: [], unchanged: 6 });
      expect(fresh.body.resumed_from).toBe(null);
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'pat', url: up.proxy.url })).status).toBe(201);
      const pattern = await admin.req('POST', '/api/v1/mirrors/pat/sync', { filter: ':1.*' });
      expect((await finished(admin, 'pat', pattern.body.id)).report).toEqual({ added: ['team/app:1.0', 'team/app:1.1'], updated: [], unchanged: 0, removed: [], failed: [] });
      const missing = await admin.req('POST', '/api/v1/mirrors/pat/sync', { filter: 'team/nothing,team/app:2.*' });
      expect((await finished(admin, 'pat', missing.body.id)).report).toEqual({
        added: ['team/app:2.0'],
        updated: [],
        unchanged: 0,
        removed: [],
        failed: [{ name: 'team/nothing', error: expect.stringContaining('no repository team/nothing') }],
      });
    } finally {
      await up.stop();
    }
  });

  it('a job whose server stopped mid-way is taken up by the next process from its checkpoint', async () => {
    const up = await startUpstream();
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-sync-'));
    const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
    const opts = { store, dataDir, adminToken: `agentry_${randomBytes(32).toString('base64url')}`, postgresSchema: schema, egressAllow: '127.0.0.1' };
    let first: TestServer | undefined = await startTestServer(opts);
    let second: TestServer | undefined;
    try {
      const a = new Api(first.url, first.adminToken);
      expect((await a.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'hub', url: up.proxy.url })).status).toBe(201);
      up.hold(/\/team\/app\/manifests\/1\.1$/);
      const id = (await a.req('POST', '/api/v1/mirrors/hub/sync')).body.id as string;
      await waitFor(
        'progress',
        () => job(a, 'hub', id),
        (j) => j.progress.done === 4,
      );
      // The server stops while the upstream holds team/app:1.1 back: its worker lets go of the job.
      const closing = first.close();
      await sleep(500);
      up.release();
      await closing;
      first = undefined;
      const mark = up.proxy.seen.length;

      second = await startTestServer(opts);
      const b = new Api(second.url, second.adminToken);
      const done = await finished(b, 'hub', id);
      expect(done).toMatchObject({ status: 'succeeded', progress: { done: 6, total: 6 } });
      expect(done.report).toEqual({ added: ALL, updated: [], unchanged: 0, removed: [], failed: [] });
      expect(requestsFor(up, mark, /\/lib\/tool\/(manifests|blobs)\/|\/team\/app\/manifests\/1\.0$/)).toEqual([]);
      expect(requestsFor(up, mark, new RegExp(`/blobs/${sha256('content of team/app:1.0')}`))).toEqual([]);
      expect(requestsFor(up, mark, /\/team\/app\/manifests\/2\.0$/).length).toBeGreaterThan(0);
    } finally {
      await first?.close();
      await second?.close();
      await up.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (schema) await dropTestSchema(schema);
    }
  });

  it('refuses bad input, unknown mirrors and jobs, kinds without a syncer, and anyone but administrators', async () => {
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'bad', url: 'http://127.0.0.1:9' })).status).toBe(201);
    for (const [body, problem] of [
      [{ filter: 'Team/App' }, /not a repository name/],
      [{ filter: 'team/app:bad pattern!' }, /tag pattern/],
      [{ filter: 'team//app' }, /not a repository name/],
      [{ filter: `${Array.from({ length: 101 }, (_, i) => `r${i}`).join(',')}` }, /at most 100/],
      [{ extra: 1 }, /Validation failed/],
      [{ fresh: 'yes' }, /Validation failed/],
      [{ filter: 5 }, /Validation failed/],
    ] as const) {
      const r = await admin.req('POST', '/api/v1/mirrors/bad/sync', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body), JSON.stringify(body)).toMatch(problem);
    }
    expect((await admin.req('GET', '/api/v1/mirrors/bad/syncs')).body.syncs).toEqual([]);
    expect((await admin.req('POST', '/api/v1/mirrors/nope/sync')).status).toBe(404);
    expect((await admin.req('GET', '/api/v1/mirrors/nope/syncs')).status).toBe(404);
    expect((await admin.req('GET', '/api/v1/mirrors/bad/syncs/msync_nope')).status).toBe(404);
    expect((await admin.req('DELETE', '/api/v1/mirrors/bad/syncs/msync_nope')).status).toBe(404);
    expect((await admin.req('GET', '/api/v1/mirrors/bad/syncs?limit=0')).status).toBe(400);

    // An upstream that cannot be reached: the job fails as a whole, with the reason, and no stack.
    const failing = await admin.req('POST', '/api/v1/mirrors/bad/sync');
    expect(failing.status).toBe(202);
    const failed = await finished(admin, 'bad', failing.body.id);
    expect(failed).toMatchObject({ status: 'failed', report: null, error: expect.stringContaining('http://127.0.0.1:9') });
    expect(failed.error).not.toMatch(/\.ts:\d+/);
    // A job of one mirror is not found under another.
    expect((await admin.req('GET', `/api/v1/mirrors/up/syncs/${failing.body.id}`)).status).toBe(404);
    expect((await admin.req('DELETE', `/api/v1/mirrors/bad/syncs/${failing.body.id}`)).status).toBe(409);

    // An MCP mirror syncs the upstream's whole listing: a filter is refused, nothing queued.
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'other', url: 'https://mcp.example.com' })).status).toBe(201);
    const filtered = await admin.req('POST', '/api/v1/mirrors/other/sync', { filter: 'io.github.x' });
    expect(filtered.status).toBe(400);
    expect(filtered.body.error).toMatch(/whole listing/);
    expect((await admin.req('GET', '/api/v1/mirrors/other/syncs')).body.syncs).toEqual([]);

    const user = await admin.req('POST', '/api/v1/users', { username: 'sam' });
    const sam = new Api(server.url, user.body.token);
    const anonymous = new Api(server.url);
    for (const [method, path] of [
      ['POST', '/api/v1/mirrors/bad/sync'],
      ['GET', '/api/v1/mirrors/bad/syncs'],
      ['GET', `/api/v1/mirrors/bad/syncs/${failing.body.id}`],
      ['DELETE', `/api/v1/mirrors/bad/syncs/${failing.body.id}`],
    ] as const) {
      expect((await sam.req(method, path)).status, `${method} ${path}`).toBe(403);
      expect((await anonymous.req(method, path)).status, `${method} ${path}`).toBe(401);
    }
  });
});
