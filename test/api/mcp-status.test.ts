import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { OFFICIAL, enc, publish, userWithNamespace } from './mcp/helpers.js';

type Entry = {
  server: { name: string; version: string };
  _meta: Record<string, { status: string; statusMessage?: string; isLatest: boolean; updatedAt: string; publishedAt: string; statusChangedAt?: string }>;
};
const meta = (e: Entry) => e._meta[OFFICIAL];

describe.each(testStores)('MCP Registry API: status, latest and concurrency (%s)', (store) => {
  let server: TestServer;
  let bob: Api;
  let carol: Api;
  let anon: Api;
  const ns = 'com.example';
  const name = `${ns}/lifecycle`;
  const base = `/v0.1/servers/${enc(name)}`;

  beforeAll(async () => {
    server = await startTestServer({ store });
    bob = await userWithNamespace(server, 'bob', ns);
    carol = await userWithNamespace(server, 'carol', 'io.github.carol');
    anon = new Api(server.url);
    for (const version of ['1.0.0', '2.0.0', '1.5.0']) {
      expect((await publish(bob, { name, description: 'Lifecycle test server', version })).status).toBe(200);
    }
  });
  afterAll(() => server.close());

  const versionsOf = async (query = ''): Promise<Entry[]> => (await anon.req('GET', `${base}/versions${query}`)).body.servers;

  it('marks the highest semver as latest, not the last published, and lists versions newest published first', async () => {
    const list = await versionsOf();
    expect(list.map((e) => e.server.version)).toEqual(['1.5.0', '2.0.0', '1.0.0']);
    expect(list.filter((e) => meta(e).isLatest).map((e) => e.server.version)).toEqual(['2.0.0']);
  });

  it('deprecates a version with a message, keeps it listed and latest', async () => {
    const r = await bob.req('PATCH', `${base}/versions/2.0.0/status`, { status: 'deprecated', statusMessage: 'Use 3.0.0 when it ships' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(meta(r.body)).toMatchObject({ status: 'deprecated', statusMessage: 'Use 3.0.0 when it ships', isLatest: true });
    expect(meta(r.body).updatedAt).toBe(meta(r.body).statusChangedAt);
    expect(meta(r.body).updatedAt >= meta(r.body).publishedAt).toBe(true);
    const again = await bob.req('PATCH', `${base}/versions/2.0.0/status`, { status: 'deprecated', statusMessage: 'Use 3.0.0 when it ships' });
    expect(again.status).toBe(400);
    expect(again.body.detail).toMatch(/No changes to apply/);
  });

  it('deletes a version: hidden unless include_deleted, latest moves, the number is never reusable, and it can be restored', async () => {
    const del = await bob.req('PATCH', `${base}/versions/2.0.0/status`, { status: 'deleted', statusMessage: 'Leaked a secret' });
    expect(meta(del.body)).toMatchObject({ status: 'deleted', statusMessage: 'Leaked a secret', isLatest: false });
    expect((await versionsOf()).map((e) => e.server.version)).toEqual(['1.5.0', '1.0.0']);
    expect((await versionsOf('?include_deleted=true')).map((e) => e.server.version)).toEqual(['1.5.0', '2.0.0', '1.0.0']);
    expect((await anon.req('GET', `${base}/versions/latest`)).body.server.version).toBe('1.5.0');
    expect((await anon.req('GET', `${base}/versions/2.0.0`)).status).toBe(404);
    expect(meta((await anon.req('GET', `${base}/versions/2.0.0?include_deleted=true`)).body).status).toBe('deleted');
    const listed = (await anon.req('GET', '/v0.1/servers?limit=100')).body.servers as Entry[];
    expect(listed.map((e) => e.server.version).sort()).toEqual(['1.0.0', '1.5.0']);
    const withDeleted = (await anon.req('GET', '/v0.1/servers?limit=100&include_deleted=true')).body.servers as Entry[];
    expect(withDeleted).toHaveLength(3);

    const reuse = await publish(bob, { name, description: 'Again', version: '2.0.0' });
    expect(reuse.status).toBe(409);
    expect(reuse.body.detail).toMatch(/can never be reused/);

    const restore = await bob.req('PATCH', `${base}/versions/2.0.0/status`, { status: 'active' });
    expect(meta(restore.body)).toMatchObject({ status: 'active', isLatest: true });
    expect(meta(restore.body).statusMessage).toBeUndefined();
    expect((await anon.req('GET', `${base}/versions/latest`)).body.server.version).toBe('2.0.0');
    expect((await bob.req('PATCH', `${base}/versions/2.0.0/status`, { status: 'active', statusMessage: 'why' })).status).toBe(400);
  });

  it('sets the status of every version at once, and refuses others, strangers and bad bodies', async () => {
    expect((await anon.req('PATCH', `${base}/status`, { status: 'deprecated' })).status).toBe(401);
    const stranger = await carol.req('PATCH', `${base}/status`, { status: 'deprecated' });
    expect(stranger.status).toBe(403);
    expect(stranger.body.detail).toContain('@io.github.carol');
    expect((await bob.req('PATCH', `${base}/status`, { status: 'gone' })).status).toBe(422);
    expect((await bob.req('PATCH', `${base}/status`, { status: 'deprecated', statusMessage: 'x'.repeat(501) })).status).toBe(422);
    expect((await bob.req('PATCH', `${base}/versions/9.9.9/status`, { status: 'deprecated' })).status).toBe(404);
    expect((await bob.req('PATCH', `/v0.1/servers/${enc(`${ns}/nothing`)}/status`, { status: 'deprecated' })).status).toBe(404);

    const all = await bob.req('PATCH', `${base}/status`, { status: 'deprecated', statusMessage: 'Moved to com.example/lifecycle2' });
    expect(all.status).toBe(200);
    // 2.0.0 was already deprecated? No: restoring made it active. All three change.
    expect(all.body.updatedCount).toBe(3);
    expect(all.body.servers.every((e: Entry) => meta(e).status === 'deprecated')).toBe(true);

    const gone = await bob.req('PATCH', `/v0/servers/${enc(name)}/status`, { status: 'deleted' });
    expect(gone.body.updatedCount).toBe(3);
    expect(await versionsOf()).toEqual([]);
    expect((await anon.req('GET', `${base}/versions/latest`)).status).toBe(404);
    expect((await anon.req('GET', `/v0.1/servers?version=latest&search=lifecycle`)).body.servers).toEqual([]);
  });

  it('filters by updated_since (deleted included) and by exact version', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    await new Promise((r) => setTimeout(r, 5));
    expect((await publish(bob, { name: `${ns}/fresh`, description: 'Fresh', version: '0.0.1' })).status).toBe(200);
    const since = (await anon.req('GET', `/v0.1/servers?updated_since=${enc(before)}`)).body.servers as Entry[];
    expect(since.map((e) => `${e.server.name}@${e.server.version}`)).toContain(`${ns}/fresh@0.0.1`);
    const future = await anon.req('GET', `/v0.1/servers?updated_since=${enc('2999-01-01T00:00:00+02:00')}`);
    expect(future.body.servers).toEqual([]);
    const exact = (await anon.req('GET', '/v0.1/servers?version=0.0.1')).body.servers as Entry[];
    expect(exact.map((e) => e.server.name)).toEqual([`${ns}/fresh`]);
  });

  it('orders non-semver versions by publish time, below semver ones', async () => {
    const opaque = `${ns}/calver`;
    for (const version of ['2024.12', '2024.06', 'nightly-7']) {
      expect((await publish(bob, { name: opaque, description: 'Calendar versions', version })).status).toBe(200);
      expect((await anon.req('GET', `/v0.1/servers/${enc(opaque)}/versions/latest`)).body.server.version).toBe(version);
    }
    expect((await publish(bob, { name: opaque, description: 'Now semver', version: '0.1.0' })).status).toBe(200);
    expect((await anon.req('GET', `/v0.1/servers/${enc(opaque)}/versions/latest`)).body.server.version).toBe('0.1.0');
  });

  it('never makes two latest versions when publishes of one server race', async () => {
    const raced = `${ns}/raced`;
    const versions = Array.from({ length: 24 }, (_, i) => `1.${(i * 7) % 24}.0`);
    const results = await Promise.all(versions.map((version) => publish(bob, { name: raced, description: 'Raced', version })));
    expect(results.map((r) => r.status)).toEqual(versions.map(() => 200));
    const list = (await anon.req('GET', `/v0.1/servers/${enc(raced)}/versions`)).body.servers as Entry[];
    expect(list).toHaveLength(24);
    expect(list.filter((e) => meta(e).isLatest).map((e) => e.server.version)).toEqual(['1.23.0']);
    // The same version published concurrently: exactly one wins.
    const dupes = await Promise.all([1, 2, 3, 4].map(() => publish(bob, { name: raced, description: 'Raced', version: '9.0.0' })));
    expect(dupes.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    const latest = (await anon.req('GET', `/v0.1/servers?version=latest&search=raced`)).body.servers as Entry[];
    expect(latest.map((e) => e.server.version)).toEqual(['9.0.0']);
  });
});
