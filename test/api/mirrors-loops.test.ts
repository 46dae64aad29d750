import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores, type TestServer } from '../helpers/server.js';
import { enc, publish, userWithNamespace } from './mcp/helpers.js';

/**
 * Two registries mirroring each other (issue 18): A mirrors B and B mirrors A, for the agentry, mcp
 * and oci kinds, both Agentry child processes on 127.0.0.1. Every upstream request carries
 * `X-Agentry-Mirror-Via`; a lookup that already passed through a server (or made 8 hops) is answered
 * from that server's own data. Without it, a missing name made each ask the other until the request
 * timed out (30 s for Agentry upstreams, 15 s for MCP listings).
 */
const VIA = 'x-agentry-mirror-via';
const MIRROR = 'dev.agentry/mirror';
/** Well under the upstream timeouts a loop would run into. */
const QUICK_MS = 10_000;

interface Peer {
  child: ChildServer;
  url: string;
  admin: Api;
  anon: Api;
  server: TestServer;
  dataDir: string;
  schema?: string;
}

const timed = async <T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
};

describe.each(testStores)('registries mirroring each other (%s)', (store) => {
  const peers: Peer[] = [];
  let a: Peer;
  let b: Peer;

  const startPeer = async (): Promise<Peer> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-loop-'));
    const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
    const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
    const child = await startChildServer({
      dataDir,
      adminToken,
      databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined,
      databaseSchema: schema,
      extra: { AGENTRY_EGRESS_ALLOW: '127.0.0.1' },
    });
    const peer: Peer = {
      child,
      url: child.url,
      admin: new Api(child.url, adminToken),
      anon: new Api(child.url),
      server: { url: child.url, adminToken } as TestServer,
      dataDir,
      ...(schema ? { schema } : {}),
    };
    peers.push(peer);
    return peer;
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([startPeer(), startPeer()]);
    // Each publishes an agent and an MCP server of its own.
    for (const [peer, who] of [
      [a, 'alpha'],
      [b, 'beta'],
    ] as const) {
      const user = await userWithNamespace(peer.server, who, `io.github.${who}`);
      expect((await user.publish(`/api/v1/agents/@${who}/tool`, await agentTarball({ name: 'tool', version: '1.0.0', scope: who }))).status).toBe(200);
      expect((await user.publish(`/api/v1/agents/@${who}/other`, await agentTarball({ name: 'other', version: '1.0.0', scope: who }))).status).toBe(200);
      const r = await publish(user, { name: `io.github.${who}/weather`, description: `${who}'s weather`, version: '1.0.0' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    // A mirrors B and B mirrors A, for every kind.
    for (const [here, there] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const [kind, name] of [
        ['agentry', 'peer'],
        ['mcp', 'peer-mcp'],
        ['oci', 'peer-oci'],
      ] as const) {
        const r = await here.admin.req('POST', '/api/v1/mirrors', { kind, name, url: there.url, ttl_seconds: 60 });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
    }
  }, 90_000);

  afterAll(async () => {
    for (const p of peers) {
      await p.child.kill();
      rmSync(p.dataDir, { recursive: true, force: true });
      if (p.schema) await dropTestSchema(p.schema);
    }
  });

  it('agentry: a missing package is a 404 at once on both; each finds the other’s packages', async () => {
    for (const peer of [a, b]) {
      const { value, ms } = await timed(() => peer.anon.req('GET', '/api/v1/agents/@nobody/none'));
      expect(value.status, JSON.stringify(value.body)).toBe(404);
      expect(ms).toBeLessThan(QUICK_MS);
    }
    const onA = await a.anon.req('GET', '/api/v1/agents/@beta/tool');
    expect(onA.status, JSON.stringify(onA.body)).toBe(200);
    expect(onA.body).toMatchObject({ full_name: '@beta/tool', latest_version: '1.0.0', mirror: { upstream: b.url } });
    const onB = await b.anon.req('GET', '/api/v1/agents/@alpha/tool');
    expect(onB.status, JSON.stringify(onB.body)).toBe(200);
    expect(onB.body).toMatchObject({ full_name: '@alpha/tool', mirror: { upstream: a.url } });
    // A version that exists nowhere, of a mirrored package: asked at once, answered at once.
    const { value, ms } = await timed(() => a.anon.req('GET', '/api/v1/agents/@beta/tool/download/9.9.9'));
    expect(value.status).toBe(404);
    expect(ms).toBeLessThan(QUICK_MS);
  }, 60_000);

  it('agentry: a lookup that made the most hops is answered from local data only', async () => {
    const hops = { [VIA]: 'r1, r2, r3, r4, r5, r6, r7, r8' };
    expect((await a.anon.req('GET', '/api/v1/agents/@beta/other', undefined, hops)).status).toBe(404);
    // One hop fewer still asks the upstream.
    const seven = await a.anon.req('GET', '/api/v1/agents/@beta/other', undefined, { [VIA]: 'r1, r2, r3, r4, r5, r6, r7' });
    expect(seven.status, JSON.stringify(seven.body)).toBe(200);
    expect(seven.body.mirror).toEqual({ upstream: b.url });
    // What is here is served whatever the header says.
    expect((await a.anon.req('GET', '/api/v1/agents/@beta/other', undefined, hops)).status).toBe(200);
    expect((await a.anon.req('GET', '/api/v1/agents/@alpha/tool', undefined, hops)).status).toBe(200);
  }, 60_000);

  it('mcp: each lists the other’s servers beside its own without waiting on a loop; a missing server is a 404 at once', async () => {
    for (const [peer, own, other, otherUrl] of [
      [a, 'io.github.alpha/weather', 'io.github.beta/weather', b.url],
      [b, 'io.github.beta/weather', 'io.github.alpha/weather', a.url],
    ] as const) {
      const { value, ms } = await timed(() => peer.anon.req('GET', '/v0.1/servers?limit=100'));
      expect(value.status, JSON.stringify(value.body)).toBe(200);
      expect(ms).toBeLessThan(QUICK_MS);
      const entries = value.body.servers as Array<{ server: { name: string }; _meta: Record<string, unknown> }>;
      expect(entries.map((e) => e.server.name).sort()).toEqual([own, other].sort());
      expect(entries.find((e) => e.server.name === other)?._meta[MIRROR]).toEqual({ upstream: otherUrl });
      expect(entries.find((e) => e.server.name === own)?._meta[MIRROR]).toBeUndefined();
      expect(value.headers.get('x-agentry-mirror-stale')).toBeNull();
      const missing = await timed(() => peer.anon.req('GET', `/v0.1/servers/${enc('io.github.nobody/none')}/versions/latest`));
      expect(missing.value.status).toBe(404);
      expect(missing.ms).toBeLessThan(QUICK_MS);
    }
    // A lookup that passed through too many servers sees this registry's own servers only.
    const local = await a.anon.req('GET', '/v0.1/servers?limit=100', undefined, { [VIA]: 'r1,r2,r3,r4,r5,r6,r7,r8' });
    expect((local.body.servers as Array<{ server: { name: string } }>).map((e) => e.server.name)).toEqual(['io.github.alpha/weather']);
  }, 60_000);

  it('oci: a missing manifest is a 404 at once on both; a package artifact of the other is pulled through the mirror', async () => {
    for (const peer of [a, b]) {
      const { value, ms } = await timed(() => peer.anon.req('GET', '/v2/peer-oci/peer-oci/peer-oci/peer-oci/nobody/none/manifests/1.0.0'));
      expect(value.status).toBe(404);
      expect(ms).toBeLessThan(QUICK_MS);
    }
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    // A lookup over the hop limit does not fetch what is not here yet…
    const limited = await a.anon.req('GET', '/v2/peer-oci/beta/tool/manifests/1.0.0', undefined, { ...accept, [VIA]: 'r1,r2,r3,r4,r5,r6,r7,r8' });
    expect(limited.status).toBe(404);
    // …an ordinary one does.
    const pulled = await a.anon.req('GET', '/v2/peer-oci/beta/tool/manifests/1.0.0', undefined, accept);
    expect(pulled.status, JSON.stringify(pulled.body)).toBe(200);
    const direct = await b.anon.req('GET', '/v2/beta/tool/manifests/1.0.0', undefined, accept);
    expect(pulled.headers.get('docker-content-digest')).toBe(direct.headers.get('docker-content-digest'));
  }, 60_000);
});
