import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { expireMirrorChecks } from '../helpers/backdate.js';
import { enc, publish, userWithNamespace } from './mcp/helpers.js';

/**
 * MCP upstreams (issue 18 part 1): second Agentry processes on 127.0.0.1 (allow-listed in the egress
 * policy, as a user would) publish MCP servers; the server under test shows them beside its own in
 * its MCP (/v0.1, /v0) and ToolHive views.
 */
const OFFICIAL = 'io.modelcontextprotocol.registry/official';
const MIRROR = 'dev.agentry/mirror';
const STALE = 'x-agentry-mirror-stale';

type Entry = { server: { name: string; version: string; description?: string }; _meta: Record<string, { upstream?: string; isLatest?: boolean; status?: string }> };

/** A server.json ToolHive can run (an npm package). */
const serverJson = (name: string, version: string, description: string) => ({
  name,
  description,
  version,
  packages: [{ registryType: 'npm', identifier: `@test/${name.split('/')[1]}`, version, transport: { type: 'stdio' } }],
});

interface Upstream {
  child: ChildServer;
  url: string;
  adminToken: string;
  dataDir: string;
  stop(): Promise<void>;
}

const startUpstream = async (extra: Record<string, string> = {}): Promise<Upstream> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-mcp-upstream-'));
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const child = await startChildServer({ dataDir, adminToken, extra });
  let stopped = false;
  return {
    child,
    url: child.url,
    adminToken,
    dataDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await child.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

/** Publishes each server.json to the upstream, as a user owning `namespace`. */
const publishAll = async (up: { url: string; adminToken: string }, user: string, namespace: string, servers: object[]): Promise<Api> => {
  const api = await userWithNamespace({ url: up.url, adminToken: up.adminToken } as TestServer, user, namespace);
  for (const s of servers) {
    const r = await publish(api, s);
    if (r.status !== 200) throw new Error(`publishing upstream: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return api;
};

/** Every entry of the listing, following nextCursor. */
const walk = async (api: Api, query: string, prefix = '/v0.1'): Promise<{ entries: Entry[]; pages: number; stale: string | null }> => {
  const entries: Entry[] = [];
  let cursor: string | undefined;
  let stale: string | null = null;
  for (let pages = 1; pages < 200; pages++) {
    const r = await api.req('GET', `${prefix}/servers?${query}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.metadata.count).toBe(r.body.servers.length);
    entries.push(...(r.body.servers as Entry[]));
    stale = r.headers.get(STALE) ?? stale;
    cursor = r.body.metadata.nextCursor;
    if (!cursor) return { entries, pages, stale };
  }
  throw new Error('the cursor never ended');
};

/** Asks until `check` passes (a refresh past the TTL runs beside the answer that started it), at most ~15 s. */
const eventually = async <T>(ask: () => Promise<T>, check: (v: T) => void): Promise<T> => {
  for (let i = 0; ; i++) {
    const v = await ask();
    try {
      check(v);
      return v;
    } catch (e) {
      if (i >= 60) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
};

const ids = (entries: Entry[]) => entries.map((e) => `${e.server.name}@${e.server.version}`);

describe.each(testStores)('MCP upstream mirrors (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let mia: Api;
  let open: Upstream;
  let locked: Upstream;
  let upstreamAlice: Api;
  let lockedToken: string;
  const logs = new PassThrough();
  let logText = '';

  const upstreamServers = [
    serverJson('io.github.up/alpha', '1.0.0', 'Alpha reads the weather'),
    serverJson('io.github.up/alpha', '1.1.0', 'Alpha reads the weather'),
    serverJson('io.github.up/beta', '1.0.0', 'Beta does things'),
    ...Array.from({ length: 9 }, (_, i) => serverJson(`io.github.up/p-${String(i).padStart(2, '0')}`, '0.1.0', 'A paging filler')),
  ];

  beforeAll(async () => {
    logs.on('data', (c: Buffer) => (logText += c.toString()));
    [open, locked] = await Promise.all([startUpstream(), startUpstream({ AGENTRY_AUTH_REQUIRED_FOR_READS: 'true' })]);
    upstreamAlice = await publishAll(open, 'alice', 'io.github.up', upstreamServers);
    await publishAll(open, 'clasher', 'io.github.shared', [serverJson('io.github.shared/clash', '9.9.9', 'The upstream clash')]);
    await publishAll(open, 'pinner', 'com.pinned', [serverJson('com.pinned/evil', '1.0.0', 'Must never show')]);
    await publishAll(open, 'subpinner', 'com.pinned.sub', [serverJson('com.pinned.sub/evil', '1.0.0', 'Must never show either')]);
    const lockedUser = await publishAll(locked, 'priv', 'io.github.priv', [serverJson('io.github.priv/secret', '1.0.0', 'Behind a login')]);
    lockedToken = lockedUser.token as string;

    server = await startTestServer({ store, egressAllow: '127.0.0.1', env: { AGENTRY_MCP_PINNED_NAMESPACES: 'com.pinned' }, log: { level: 'warn', stream: logs } });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    const local = await userWithNamespace(server, 'lou', 'io.github.shared');
    for (const s of [serverJson('io.github.shared/clash', '1.0.0', 'The local clash'), serverJson('io.github.shared/gamma', '1.0.0', 'Local weather station')]) {
      expect((await publish(local, s)).status).toBe(200);
    }
    const pinnedOwner = await userWithNamespace(server, 'pia', 'com.pinned');
    expect((await publish(pinnedOwner, serverJson('com.pinned/own', '1.0.0', 'Pinned and local'))).status).toBe(200);
    mia = admin.with((await admin.req('POST', '/api/v1/users', { username: 'mia' })).body.token);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await Promise.all([open?.stop(), locked?.stop()]);
  });

  it('merges upstream servers into /v0.1 and /v0: local wins, pinned namespaces stay local, every mirrored one is marked, cursors and search behave', async () => {
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'up', url: open.url, ttl_seconds: 3600 })).status).toBe(201);

    const all = await walk(anon, 'limit=4');
    const expected = [
      'com.pinned/own@1.0.0',
      'io.github.shared/clash@1.0.0',
      'io.github.shared/gamma@1.0.0',
      'io.github.up/alpha@1.0.0',
      'io.github.up/alpha@1.1.0',
      'io.github.up/beta@1.0.0',
      ...Array.from({ length: 9 }, (_, i) => `io.github.up/p-${String(i).padStart(2, '0')}@0.1.0`),
    ];
    expect(ids(all.entries)).toEqual(expected);
    expect(all.pages).toBe(4);
    expect(all.stale).toBeNull();
    for (const e of all.entries) {
      const mirrored = e.server.name.startsWith('io.github.up/');
      expect(e._meta[MIRROR], e.server.name).toEqual(mirrored ? { upstream: open.url } : undefined);
      expect(e._meta[OFFICIAL].status).toBe('active');
    }
    // Local wins: the local clash, not the upstream's 9.9.9.
    expect(all.entries.find((e) => e.server.name === 'io.github.shared/clash')?.server.description).toBe('The local clash');
    expect(JSON.stringify(all.entries)).not.toContain('Must never show');

    // One page with the largest limit is the same list; /v0 is the same API.
    const big = await anon.req('GET', '/v0.1/servers?limit=100');
    expect(ids(big.body.servers)).toEqual(expected);
    expect(big.body.metadata.nextCursor).toBeUndefined();
    expect(ids((await walk(anon, 'limit=7', '/v0')).entries)).toEqual(expected);

    // Search over names and descriptions on both sides; latest only; one exact version.
    expect(ids((await walk(anon, 'search=WEATHER&limit=2')).entries)).toEqual(['io.github.shared/gamma@1.0.0', 'io.github.up/alpha@1.0.0', 'io.github.up/alpha@1.1.0']);
    const latest = ids((await walk(anon, 'version=latest&limit=5')).entries);
    expect(latest).toContain('io.github.up/alpha@1.1.0');
    expect(latest).not.toContain('io.github.up/alpha@1.0.0');
    expect(ids((await walk(anon, 'version=1.0.0&search=alpha')).entries)).toEqual(['io.github.up/alpha@1.0.0']);
    expect((await anon.req('GET', '/v0.1/servers?cursor=bm90LWEtY3Vyc29y')).status).toBe(400);

    // One server's versions, and one version, come from the upstream when not local.
    const versions = await anon.req('GET', `/v0.1/servers/${enc('io.github.up/alpha')}/versions`);
    expect(versions.status).toBe(200);
    expect(versions.body.servers.map((e: Entry) => e.server.version).sort()).toEqual(['1.0.0', '1.1.0']);
    expect(versions.body.servers[0]._meta[MIRROR]).toEqual({ upstream: open.url });
    const one = await anon.req('GET', `/v0.1/servers/${enc('io.github.up/alpha')}/versions/latest`);
    expect(one.body.server.version).toBe('1.1.0');
    expect(one.body._meta[OFFICIAL].isLatest).toBe(true);
    expect((await anon.req('GET', `/v0.1/servers/${enc('io.github.up/alpha')}/versions/1.0.0`)).body._meta[MIRROR]).toEqual({ upstream: open.url });
    expect((await anon.req('GET', `/v0.1/servers/${enc('io.github.up/alpha')}/versions/7.0.0`)).status).toBe(404);
    const clash = await anon.req('GET', `/v0.1/servers/${enc('io.github.shared/clash')}/versions`);
    expect(clash.body.servers.map((e: Entry) => e.server.version)).toEqual(['1.0.0']);
    expect(clash.body.servers[0]._meta[MIRROR]).toBeUndefined();
    for (const pinned of ['com.pinned/evil', 'com.pinned.sub/evil']) {
      expect((await anon.req('GET', `/v0.1/servers/${enc(pinned)}/versions`)).status, pinned).toBe(404);
      expect((await anon.req('GET', `/v0.1/servers/${enc(pinned)}/versions/latest`)).status, pinned).toBe(404);
    }
  });

  it("shows upstream servers in ToolHive's registry views, marked, with local ones winning", async () => {
    const list = await anon.req('GET', '/api/v1beta/registry/default/servers');
    expect(list.status).toBe(200);
    const byName = new Map<string, { custom_metadata?: Record<string, unknown>; description: string }>(list.body.servers.map((s: { name: string }) => [s.name, s]));
    expect(byName.get('beta')?.custom_metadata).toEqual({ [MIRROR]: { upstream: open.url } });
    expect(byName.get('alpha')?.description).toBe('Alpha reads the weather');
    expect(byName.get('gamma')?.custom_metadata).toBeUndefined();
    expect(byName.get('clash')?.description).toBe('The local clash');
    expect([...byName.keys()].some((n) => n.includes('evil'))).toBe(false);
    const one = await anon.req('GET', '/api/v1beta/registry/default/servers/io.github.up%2Fbeta');
    expect(one.status).toBe(200);
    expect(one.body.server.image).toBe('npx://@test/beta@1.0.0');
    const doc = await anon.req('GET', '/api/v1beta/registry/default');
    expect(Object.keys(doc.body.registry.servers)).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma', 'clash', 'own']));
    expect(doc.body.server_count).toBe(byName.size);
  });

  it("lists upstream servers in ToolHive's MCP-format catalogue and at GET /api/v1/mirrors/:name/servers, marked", async () => {
    const fillers = Array.from({ length: 9 }, (_, i) => `io.github.up/p-${String(i).padStart(2, '0')}`);
    const merged = ['com.pinned/own', 'io.github.shared/clash', 'io.github.shared/gamma', 'io.github.up/alpha', 'io.github.up/beta', ...fillers];
    type Doc = { name: string; version: string; description: string; _meta?: Record<string, { upstream?: string }> };
    const seen: Doc[] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await anon.req('GET', `/registry/default/v0.1/servers?limit=5&page=${page}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.metadata).toEqual({ total: merged.length, page, limit: 5 });
      seen.push(...(r.body.servers as Doc[]));
    }
    expect(seen.map((d) => d.name)).toEqual(merged);
    const alpha = seen.find((d) => d.name === 'io.github.up/alpha');
    expect(alpha).toMatchObject({ version: '1.1.0', description: 'Alpha reads the weather' });
    expect(alpha?._meta?.[MIRROR]).toEqual({ upstream: open.url });
    expect(seen.find((d) => d.name === 'io.github.shared/gamma')?._meta?.[MIRROR]).toBeUndefined();
    expect(seen.find((d) => d.name === 'io.github.shared/clash')?.description).toBe('The local clash');
    const searched = await anon.req('GET', '/registry/default/v0.1/servers?q=WEATHER');
    expect(searched.body.metadata.total).toBe(2);
    expect((searched.body.servers as Doc[]).map((d) => d.name)).toEqual(['io.github.shared/gamma', 'io.github.up/alpha']);
    expect((await anon.req('GET', '/registry/default/v0.1/servers?page=4&limit=5')).body.servers).toEqual([]);
    const beta = await anon.req('GET', `/registry/default/v0.1/servers/${enc('io.github.up/beta')}/versions/latest`);
    expect(beta.status).toBe(200);
    expect(beta.body).toMatchObject({ name: 'io.github.up/beta', version: '1.0.0', _meta: { [MIRROR]: { upstream: open.url } } });
    for (const missing of ['io.github.up/none', 'com.pinned/evil', 'io.github.nobody/x']) {
      expect((await anon.req('GET', `/registry/default/v0.1/servers/${enc(missing)}/versions/latest`)).status, missing).toBe(404);
    }

    // The native route: the servers one mirror brings, latest versions, cursor pages.
    type Item = { name: string; version: string; status: string; server: { name: string }; mirror: { upstream: string } };
    const items: Item[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const r = await anon.req('GET', `/api/v1/mirrors/up/servers?limit=4${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ mirror: 'up', upstream: open.url });
      items.push(...(r.body.servers as Item[]));
      cursor = r.body.next_cursor;
      if (!cursor) break;
    }
    expect(items.map((i) => i.name)).toEqual(['io.github.up/alpha', 'io.github.up/beta', ...fillers]);
    expect(items[0]).toMatchObject({ version: '1.1.0', status: 'active', server: { name: 'io.github.up/alpha' }, mirror: { upstream: open.url } });
    expect(items.every((i) => i.mirror.upstream === open.url)).toBe(true);
    expect((await anon.req('GET', '/api/v1/mirrors/up/servers?search=weather')).body.servers.map((i: Item) => i.name)).toEqual(['io.github.up/alpha']);
    expect((await anon.req('GET', '/api/v1/mirrors/nope/servers')).status).toBe(404);
    expect((await anon.req('GET', '/api/v1/mirrors/up/servers?cursor=bm90LWEtY3Vyc29y')).status).toBe(400);
    expect((await anon.req('GET', '/api/v1/mirrors/up/servers?limit=0')).status).toBe(400);
    expect((await anon.req('GET', '/api/v1/mirrors/up/servers?limit=101')).status).toBe(400);
  });

  it('PUT /api/v1beta/registry/default sets the MCP upstream as ToolHive does (admin only), GET reflects it, an empty body resets it', async () => {
    const before = await anon.req('GET', '/api/v1beta/registry');
    expect(before.body.registries[0].source).toBe(`${server.url}/registry/default`);

    expect((await anon.req('PUT', '/api/v1beta/registry/default', { api_url: open.url })).status).toBe(401);
    const refused = await mia.req('PUT', '/api/v1beta/registry/default', { api_url: open.url });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/text\/plain/);
    for (const [body, problem] of [
      [{ api_url: 'ftp://example.com' }, /http/],
      [{ api_url: 'not a url' }, /not a URL/],
      [{ api_url: 'https://u:p@example.com' }, /login/],
      [{ api_url: open.url, bogus: true }, /bogus|additional/i],
      [{ api_url: open.url, url: open.url }, /more than one/],
      [{ local_path: '/etc/registry.json' }, /local_path/],
      [{ url: 'https://example.com/registry.json' }, /\.json/],
      [{ api_url: open.url, auth: { issuer: 'https://id.example.com', client_id: 'x' } }, /auth/],
    ] as const) {
      const r = await admin.req('PUT', '/api/v1beta/registry/default', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.body), JSON.stringify(body)).toMatch(problem);
    }
    expect((await admin.req('PUT', '/api/v1beta/registry/other', { api_url: open.url })).status).toBe(404);
    expect((await admin.req('GET', '/api/v1/mirrors/default')).status).toBe(404);

    const set = await admin.req('PUT', '/api/v1beta/registry/default', { api_url: `${open.url}/v0.1`, allow_private_ip: true });
    expect(set.status, String(set.body)).toBe(200);
    expect(set.body).toEqual({ type: 'api' });
    expect((await admin.req('GET', '/api/v1/mirrors/default')).body).toMatchObject({ kind: 'mcp', url: `${open.url}/v0.1`, has_password: false });
    const info = await anon.req('GET', '/api/v1beta/registry/default');
    expect(info.body.source).toBe(`${open.url}/v0.1`);
    // 'default' sorts before 'up': it now answers for the upstream's servers (the same ones).
    const beta = await anon.req('GET', `/v0.1/servers/${enc('io.github.up/beta')}/versions/latest`);
    expect(beta.body._meta[MIRROR]).toEqual({ upstream: `${open.url}/v0.1` });

    // Replaced, not added: one 'default'.
    expect((await admin.req('PUT', '/api/v1beta/registry/default', { url: open.url })).status).toBe(200);
    const mirrors = (await admin.req('GET', '/api/v1/mirrors')).body.mirrors as { name: string; url: string }[];
    expect(mirrors.filter((m) => m.name === 'default')).toEqual([expect.objectContaining({ url: open.url })]);

    const reset = await admin.req('PUT', '/api/v1beta/registry/default', {});
    expect(reset.body).toEqual({ type: 'default' });
    expect((await admin.req('GET', '/api/v1/mirrors/default')).status).toBe(404);
    expect((await anon.req('GET', '/api/v1beta/registry')).body.registries[0].source).toBe(`${server.url}/registry/default`);
    expect((await anon.req('GET', `/v0.1/servers/${enc('io.github.up/beta')}/versions/latest`)).body._meta[MIRROR]).toEqual({ upstream: open.url });
  });

  it('reads an upstream that requires a login with the stored token; without it the upstream is marked stale; the TTL expires', async () => {
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'nologin', url: locked.url })).status).toBe(201);
    const without = await anon.req('GET', '/v0.1/servers?search=secret');
    expect(without.status).toBe(200);
    expect(without.body.servers).toEqual([]);
    expect(without.headers.get(STALE)).toBe('nologin');
    expect((await admin.req('DELETE', '/api/v1/mirrors/nologin')).status).toBe(200);

    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'locked', url: locked.url, username: 'token', password: lockedToken, ttl_seconds: 2, visibility: 'public' })).status).toBe(
      201,
    );
    const withLogin = await anon.req('GET', '/v0.1/servers?search=secret');
    expect(ids(withLogin.body.servers)).toEqual(['io.github.priv/secret@1.0.0']);
    expect(withLogin.body.servers[0]._meta[MIRROR]).toEqual({ upstream: locked.url });
    expect(withLogin.headers.get(STALE)).toBeNull();

    // A new upstream version appears once the listing is older than the TTL (read again beside the first answer after it).
    const priv = new Api(locked.url, lockedToken);
    expect((await publish(priv, serverJson('io.github.priv/secret', '2.0.0', 'Behind a login'))).status).toBe(200);
    await expireMirrorChecks(server, 'locked');
    await eventually(
      () => anon.req('GET', '/v0.1/servers?search=secret'),
      (r) => expect(ids(r.body.servers)).toEqual(['io.github.priv/secret@1.0.0', 'io.github.priv/secret@2.0.0']),
    );

    expect(JSON.stringify((await admin.req('GET', '/api/v1/mirrors')).body)).not.toContain(lockedToken);
    expect(logText).toContain('MCP upstream could not be read');
    expect(logText).not.toContain(lockedToken);
  });

  it('goes through the egress policy: a server that does not allow loopback never lists the upstream, and says so', async () => {
    const closed = await startTestServer({ store });
    try {
      const api = new Api(closed.url, closed.adminToken);
      expect((await api.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'up', url: open.url })).status).toBe(201);
      const r = await api.req('GET', '/v0.1/servers');
      expect(r.status).toBe(200);
      expect(r.body.servers).toEqual([]);
      expect(r.headers.get(STALE)).toBe('up');
    } finally {
      await closed.close();
    }
  });

  it('a sync job resumed after its upstream failed mid-way reports the whole sync', async () => {
    // A proxy in front of the open upstream: pages of 2 (so the listing takes several pages), and one failure of page 3.
    let pagesAsked = 0;
    let failPage: number | null = 3;
    const proxy = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', open.url);
        url.searchParams.set('limit', '2');
        pagesAsked++;
        if (failPage !== null && pagesAsked === failPage) {
          failPage = null;
          res.writeHead(500).end('down for a moment');
          return;
        }
        const up = await fetch(url);
        res.writeHead(up.status, { 'content-type': 'application/json' }).end(Buffer.from(await up.arrayBuffer()));
      })().catch(() => res.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const whole = (await walk(new Api(open.url), 'limit=100')).entries.map((e) => `${e.server.name}@${e.server.version}`).sort();
      expect(whole.length).toBeGreaterThan(6);
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'paged', url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` })).status).toBe(201);
      const finished = async (id: string) => {
        for (let i = 0; i < 300; i++) {
          const job = (await admin.req('GET', `/api/v1/mirrors/paged/syncs/${id}`)).body;
          if (!['queued', 'running'].includes(job.status)) return job;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`sync job ${id} did not finish`);
      };
      const first = await finished((await admin.req('POST', '/api/v1/mirrors/paged/sync')).body.id);
      expect(first.status).toBe('failed');
      expect(first.error).toMatch(/answered 500/);
      expect(first.progress.done).toBe(4);
      const second = await admin.req('POST', '/api/v1/mirrors/paged/sync');
      expect(second.body.resumed_from).toBe(first.id);
      const resumed = await finished(second.body.id);
      expect(resumed.status, JSON.stringify(resumed)).toBe('succeeded');
      // The two pages read before the failure are in the report, with the rest.
      expect([...resumed.report.added].sort()).toEqual(whole);
      expect(resumed.report).toMatchObject({ updated: [], unchanged: 0, removed: [], failed: [] });
      expect(resumed.progress.done).toBe(whole.length);
    } finally {
      await admin.req('DELETE', '/api/v1/mirrors/paged');
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('serves the cached listing with the upstreams stopped: within the TTL silently, past it marked stale', async () => {
    // Within the TTL the cache answers without asking: a version published now is not seen.
    expect((await publish(upstreamAlice, serverJson('io.github.up/beta', '2.0.0', 'Beta does more'))).status).toBe(200);
    await open.stop();
    const cached = await walk(anon, 'search=beta');
    expect(ids(cached.entries)).toEqual(['io.github.up/beta@1.0.0']);
    expect(cached.stale).toBeNull();
    expect((await anon.req('GET', '/api/v1beta/registry/default/servers/beta')).status).toBe(200);

    // Past the TTL with the upstream down: still served, and said to be stale.
    await locked.stop();
    await expireMirrorChecks(server, 'locked');
    const stale = await eventually(
      () => anon.req('GET', '/v0.1/servers?search=secret'),
      (r) => expect(r.headers.get(STALE)).toBe('locked'),
    );
    expect(ids(stale.body.servers)).toEqual(['io.github.priv/secret@1.0.0', 'io.github.priv/secret@2.0.0']);
    const th = await anon.req('GET', '/api/v1beta/registry/default/servers/secret');
    expect(th.status).toBe(200);
    expect(th.headers.get(STALE)).toBe('locked');
    expect(logText).toMatch(/"mirror":"locked".*MCP upstream could not be read|MCP upstream could not be read.*"mirror":"locked"/);

    // Removing the mirror removes what it cached.
    expect((await admin.req('DELETE', '/api/v1/mirrors/locked')).status).toBe(200);
    expect((await anon.req('GET', '/v0.1/servers?search=secret')).body.servers).toEqual([]);
  });
});
