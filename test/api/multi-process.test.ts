import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { OciClient, bytePattern as pattern, imageManifest, sha256 } from '../helpers/oci.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';

const DATABASE = process.env.AGENTRY_TEST_DATABASE_URL;
const REDIS = process.env.AGENTRY_TEST_REDIS_URL;

const ANONYMOUS_LIMIT = 20;
const PUBLISH_LIMIT = 6;

const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Three `agentry serve` processes on one PostgreSQL schema, one Redis and one S3 bucket (s3rver),
 * as behind a load balancer: every request goes to the next process round-robin, and every read,
 * on every process, must see every write acknowledged before it (no retry, no waiting).
 */
describe.runIf(DATABASE && REDIS)('three server processes as one registry (PostgreSQL, Redis, S3)', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const redisPrefix = `agentry-test:${randomBytes(6).toString('hex')}:`;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const dirs: string[] = [];
  const servers: ServeProcess[] = [];
  let s3: TestS3;
  let redis: Redis;
  let next = 0;
  /** The next process, round-robin, as a load balancer would pick it. */
  const pick = (): string => servers[next++ % servers.length].url;
  const api = (token?: string) => new Api(pick(), token);
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    s3 = await startTestS3();
    redis = new Redis(REDIS!);
    const blobStore = s3.url(`multi-${schema}`);
    const env = {
      ...s3.env,
      AGENTRY_ADMIN_TOKEN: adminToken,
      AGENTRY_DATABASE_SCHEMA: schema,
      // Processes on one database share the secrets' root key.
      AGENTRY_SECRET_KEY: randomBytes(32).toString('hex'),
      AGENTRY_REDIS_PREFIX: redisPrefix,
      AGENTRY_LOG_LEVEL: 'warn',
    };
    const args = [
      '--database-url',
      DATABASE!,
      '--blob-store',
      blobStore,
      '--redis-url',
      REDIS!,
      '--rate-limits',
      'custom',
      '--rate-limit-anonymous',
      `${ANONYMOUS_LIMIT}/min`,
      '--rate-limit-publish',
      `${PUBLISH_LIMIT}/hour`,
      // The load balancer in front of them (here: the test, on loopback) names each client.
      '--trust-proxy',
      'loopback',
    ];
    // One after the other: the first migrates the schema and creates the admin, the others find both.
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), `agentry-multi-${i}-`));
      dirs.push(dir);
      servers.push(await startServeProcess([...args, '--data-dir', dir], env));
    }
    const admin = new Api(servers[0].url, adminToken);
    for (const user of ['u0', 'u1', 'u2', 'u3', 'burst', 'reader']) {
      const res = await admin.req('POST', '/api/v1/users', { username: user });
      expect(res.status).toBe(201);
      tokens[user] = res.body.token;
    }
  }, 240_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (redis) {
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    await s3?.close();
    await dropTestSchema(schema);
  }, 120_000);

  /**
   * The same GET on every process, signed in (as `reader` unless told) so that only the rate-limit
   * test spends the anonymous budget.
   */
  const everywhere = async (path: string, token = tokens.reader) => Promise.all(servers.map((s) => new Api(s.url, token).req('GET', path)));

  it('publishes through any process and every process serves every acknowledged version at once', async () => {
    const acked: { user: string; version: string; sha: string }[] = [];
    // Four accounts publish four versions each, concurrently, each publish through the next process.
    await Promise.all(
      ['u0', 'u1', 'u2', 'u3'].map(async (user, u) => {
        const path = `/api/v1/agents/@${user}/tool`;
        for (let v = 0; v < 4; v++) {
          const version = `1.${v}.0`;
          const tgz = await agentTarball({ name: 'tool', version, scope: user, description: `tool ${u}.${v}` });
          const res = await api(tokens[user]).publish(path, tgz);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          acked.push({ user, version, sha: hex(tgz) });
          // Right after the acknowledgement: every process has it, as the latest, with its description.
          for (const r of await everywhere(path)) {
            expect(r.status).toBe(200);
            expect(r.body).toMatchObject({ latest_version: version, description: `tool ${u}.${v}` });
          }
          for (const r of await everywhere(`${path}/download/${version}`)) expect(r.body.sha256).toBe(hex(tgz));
        }
      }),
    );
    expect(acked).toHaveLength(16);
    // Every tarball from every process, byte-exact, out of the shared bucket.
    for (const a of acked) {
      const dl = await api(tokens.reader).req('GET', `/api/v1/agents/@${a.user}/tool/download/${a.version}`);
      for (const s of servers) {
        const res = await fetch(`${s.url}/api/v1/blobs/sha256:${a.sha}`, { headers: { authorization: `Bearer ${tokens.reader}` } });
        expect(res.status).toBe(200);
        expect(hex(Buffer.from(await res.arrayBuffer()))).toBe(a.sha);
      }
      expect(dl.body.sha256).toBe(a.sha);
    }
    // Search and versions agree everywhere.
    for (const r of await everywhere('/api/v1/agents/@u2/tool/versions')) {
      expect((r.body.versions as { version: string }[]).map((v) => v.version).sort()).toEqual(['1.0.0', '1.1.0', '1.2.0', '1.3.0']);
    }
  }, 240_000);

  it('shows every cache-invalidating write on every process right after it is acknowledged', async () => {
    const path = '/api/v1/agents/@u1/tool';
    const owner = tokens.u1;
    /** Warms every process's cached view, writes through the next process, reads everywhere. */
    const writeThenRead = async (write: () => Promise<{ status: number }>, expectOk: number, check: (views: { status: number; body: any }[]) => void, token = tokens.reader) => {
      await everywhere(path, token);
      const res = await write();
      expect(res.status).toBe(expectOk);
      check(await everywhere(path, token));
    };
    await writeThenRead(
      () => api(owner).req('PUT', `${path}/dist-tags/stable`, { version: '1.1.0' }),
      200,
      (views) => views.forEach((v) => expect(v.body.dist_tags).toMatchObject({ latest: '1.3.0', stable: '1.1.0' })),
    );
    await writeThenRead(
      () => api(owner).req('POST', `${path}/versions/1.3.0/deprecate`, { message: 'use 1.2.0' }),
      200,
      (views) => views.forEach((v) => expect(v.body.deprecated).toBe('use 1.2.0')),
    );
    await writeThenRead(
      () => api(owner).req('DELETE', `${path}/1.3.0`),
      200,
      (views) => views.forEach((v) => expect(v.body.latest_version).toBe('1.2.0')),
    );
    for (const r of await everywhere(`${path}/download/1.3.0`)) expect(r.status).toBe(404);
    // Made private through one process: no process shows it to another account, at once; then public again.
    await writeThenRead(
      () => api(owner).req('PUT', '/api/v1/access/u1/tool', { visibility: 'private' }),
      200,
      (views) => views.forEach((v) => expect(v.status).toBe(404)),
    );
    for (const r of await everywhere(path, owner)) expect(r.body.latest_version).toBe('1.2.0');
    await writeThenRead(
      () => api(owner).req('PUT', '/api/v1/access/u1/tool', { visibility: 'public' }),
      200,
      (views) => views.forEach((v) => expect(v.status).toBe(200)),
    );
    // A new version published through one process is the latest on the others, whose views were warm.
    await writeThenRead(
      async () => api(owner).publish(path, await agentTarball({ name: 'tool', version: '2.0.0', scope: 'u1', description: 'tool two' })),
      200,
      (views) => views.forEach((v) => expect(v.body).toMatchObject({ latest_version: '2.0.0', description: 'tool two' })),
    );
  }, 240_000);

  it('takes OCI uploads chunk by chunk through different processes and loses none', async () => {
    const uploads = 6;
    const chunk = 256 * 1024 + 3;
    const layers = Array.from({ length: uploads }, (_, k) => pattern(3 * chunk + 100 + k, k + 1));
    await Promise.all(
      layers.map(async (layer, k) => {
        const repo = `u${k % 4}/images`;
        const client = () => new OciClient(pick()).withToken(tokens[`u${k % 4}`]);
        const start = await client().req('POST', `/v2/${repo}/blobs/uploads/`);
        expect(start.status).toBe(202);
        let loc = start.headers.get('location')!;
        // Each chunk through the next process: the session lives in the database and the bucket.
        for (let at = 0; at < layer.length; at += chunk) {
          const part = layer.subarray(at, at + chunk);
          const r = await client().req('PATCH', loc, part, { 'content-type': 'application/octet-stream', 'content-range': `${at}-${at + part.length - 1}` });
          expect(r.status, r.body.toString()).toBe(202);
          expect(r.headers.get('range')).toBe(`0-${at + part.length - 1}`);
          loc = r.headers.get('location')!;
        }
        const done = await client().req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256(layer)}`);
        expect(done.status, done.body.toString()).toBe(201);
        expect((await client().pushBlob(repo, '{}')).status).toBe(201);
        const pushed = await client().req('PUT', `/v2/${repo}/manifests/v${k}`, JSON.stringify(imageManifest([{ data: layer }])), {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
        });
        expect(pushed.status, pushed.body.toString()).toBe(201);
      }),
    );
    // Every blob and every tag, from every process.
    for (const [k, layer] of layers.entries()) {
      const repo = `u${k % 4}/images`;
      for (const s of servers) {
        const oci = new OciClient(s.url).withToken(tokens[`u${k % 4}`]);
        const blob = await oci.req('GET', `/v2/${repo}/blobs/${sha256(layer)}`);
        expect(blob.status).toBe(200);
        expect(blob.body.equals(layer)).toBe(true);
        const manifest = await oci.req('GET', `/v2/${repo}/manifests/v${k}`, undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
        expect(manifest.status).toBe(200);
        expect(manifest.json.layers[0].digest).toBe(sha256(layer));
      }
    }
    for (let u = 0; u < 4; u++) {
      const want = layers
        .map((_, k) => k)
        .filter((k) => k % 4 === u)
        .map((k) => `v${k}`)
        .sort();
      for (const s of servers) {
        const tags = await new OciClient(s.url).withToken(tokens[`u${u}`]).req('GET', `/v2/u${u}/images/tags/list`);
        expect(tags.status).toBe(200);
        expect((tags.json.tags as string[]).filter((t) => t.startsWith('v')).sort()).toEqual(want);
      }
    }
    // No session is left behind in the bucket.
    for (const s of servers) expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  }, 240_000);

  it('holds the request and publish limits across the processes, through Redis', async () => {
    // Well inside one minute window, so the anonymous budget does not reset half-way.
    const left = 60 - ((Date.now() / 1000) % 60);
    if (left < 20) await new Promise((r) => setTimeout(r, left * 1000 + 200));
    // Anonymous clients as the load balancer forwards them: one budget per client address, across processes.
    const anonymous = async (client: string) => {
      const res = await fetch(`${pick()}/api/v1/agents/@u0/tool`, { headers: { 'x-forwarded-for': client } });
      await res.arrayBuffer();
      return res;
    };
    const statuses: number[] = [];
    for (let i = 0; i < ANONYMOUS_LIMIT + 9; i++) statuses.push((await anonymous('203.0.113.7')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(ANONYMOUS_LIMIT);
    expect(statuses.slice(ANONYMOUS_LIMIT).every((s) => s === 429)).toBe(true);
    const refused = await anonymous('203.0.113.7');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another client behind the same balancer has a budget of its own.
    const other = await anonymous('203.0.113.8');
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe(String(ANONYMOUS_LIMIT - 1));
    // The balancer's own probes are never counted nor refused.
    for (const s of servers) {
      for (const probe of ['/readyz', '/livez', '/healthz']) expect((await fetch(`${s.url}${probe}`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(200);
    }
    // A signed-in account is not bound by the anonymous budget (no per-user limit is set).
    expect((await api(tokens.u0).req('GET', '/api/v1/agents/@u0/tool')).status).toBe(200);

    // Publishes: one budget per account, shared by every process; concurrent attempts cannot overshoot it.
    const results = await Promise.all(
      Array.from(
        { length: PUBLISH_LIMIT + 4 },
        async (_, v) => (await api(tokens.burst).publish('/api/v1/agents/@burst/many', await agentTarball({ name: 'many', version: `0.${v}.0`, scope: 'burst' }))).status,
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(PUBLISH_LIMIT);
    expect(results.filter((s) => s === 429)).toHaveLength(4);
    const versions = await everywhere('/api/v1/agents/@burst/many/versions', tokens.burst);
    for (const r of versions) expect(r.body.versions).toHaveLength(PUBLISH_LIMIT);
  }, 240_000);
});

describe('the load balancer setting (--trust-proxy)', () => {
  it('is off by default and takes IPs, CIDRs and the proxy-addr keywords only', () => {
    expect(resolveConfig({}, {}).trustProxy).toEqual([]);
    expect(resolveConfig({ trustProxy: 'loopback, 10.0.0.0/8,::1,fd00::/8' }, {}).trustProxy).toEqual(['loopback', '10.0.0.0/8', '::1', 'fd00::/8']);
    expect(resolveConfig({}, { AGENTRY_TRUST_PROXY: '192.168.1.10' }).trustProxy).toEqual(['192.168.1.10']);
    for (const bad of ['1.2.3.4/33', 'lb.internal', '::g', '10.0.0.0/8/1', '256.1.1.1']) {
      expect(() => resolveConfig({ trustProxy: bad }, {})).toThrow(/--trust-proxy takes IP addresses, CIDRs and loopback, linklocal or uniquelocal/);
    }
    expect(() => resolveConfig({}, { AGENTRY_TRUST_PROXY: '*' })).toThrow(/AGENTRY_TRUST_PROXY takes/);
  });
});
