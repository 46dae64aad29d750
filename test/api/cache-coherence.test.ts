import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** The detail read is cached in memory: every write must show at once, in every process. */
describe.each(testStores)('cached package views stay fresh (%s)', (store) => {
  let a: TestServer;
  let adminA: Api;
  let eve: Api;
  const path = '/api/v1/agents/@eve/tracker';

  beforeAll(async () => {
    a = await startTestServer({ store });
    adminA = new Api(a.url, a.adminToken);
    eve = adminA.with((await adminA.req('POST', '/api/v1/users', { username: 'eve' })).body.token);
    expect((await eve.publish(path, await agentTarball({ name: 'tracker', version: '1.0.0', scope: 'eve' }))).status).toBe(200);
  });
  afterAll(() => a.close());

  it('shows publishes, tags, deprecations, unpublishes and downloads right after they happen', async () => {
    expect((await eve.req('GET', path)).body.latest_version).toBe('1.0.0');
    await eve.publish(path, await agentTarball({ name: 'tracker', version: '1.1.0', scope: 'eve', description: 'Now with more tracking' }));
    const after = (await eve.req('GET', path)).body;
    expect(after).toMatchObject({ latest_version: '1.1.0', description: 'Now with more tracking' });
    await eve.req('PUT', `${path}/dist-tags/stable`, { version: '1.0.0' });
    expect((await eve.req('GET', path)).body.dist_tags).toEqual({ latest: '1.1.0', stable: '1.0.0' });
    await eve.req('POST', `${path}/versions/1.1.0/deprecate`, { message: 'broken' });
    expect((await eve.req('GET', path)).body.deprecated).toBe('broken');
    await eve.req('GET', `${path}/download/1.1.0`);
    expect((await eve.req('GET', path)).body.download_count).toBe(1);
    await eve.req('DELETE', `${path}/1.1.0`);
    expect((await eve.req('GET', path)).body.latest_version).toBe('1.0.0');
  });

  /** Reads the detail enough times for the server to keep its view (a view is cached from its second read). */
  const readCached = async (api: Api, at: string) => {
    const first = await api.req('GET', at);
    const second = await api.req('GET', at);
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    return second;
  };

  it('tags each detail with an ETag, answers 304 to a current If-None-Match and a new document after every write', async () => {
    const at = '/api/v1/agents/@eve/tagged';
    expect((await eve.publish(at, await agentTarball({ name: 'tagged', version: '1.0.0', scope: 'eve' }))).status).toBe(200);
    const before = await readCached(eve, at);
    const etag = before.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(before.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(before.headers.get('vary')).toBe('Authorization, X-Api-Key');
    // The same document whoever reads it, with the same tag; a current tag (weak or in a list) is a 304 without a body.
    const anonymous = new Api(a.url);
    expect((await anonymous.req('GET', at)).headers.get('etag')).toBe(etag);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const hit = await anonymous.req('GET', at, undefined, { 'if-none-match': inm });
      expect(hit.status, inm).toBe(304);
      expect(hit.body, inm).toBeUndefined();
      expect(hit.headers.get('etag'), inm).toBe(etag);
    }
    for (const inm of ['"other"', etag.slice(0, -2) + '"', '']) expect((await anonymous.req('GET', at, undefined, { 'if-none-match': inm })).status, inm).toBe(200);

    // Every kind of write gives a new document (the cached one is dropped) with a new tag; the old tag is no longer current.
    let previous = etag;
    const afterWrite = async (write: () => Promise<{ status: number }>, check: (body: Record<string, unknown>) => void) => {
      expect((await readCached(eve, at)).headers.get('etag')).toBe(previous);
      expect((await write()).status).toBe(200);
      const res = await eve.req('GET', at, undefined, { 'if-none-match': previous });
      expect(res.status).toBe(200);
      check(res.body);
      const tag = res.headers.get('etag')!;
      expect(tag).not.toBe(previous);
      previous = tag;
      expect((await eve.req('GET', at, undefined, { 'if-none-match': tag })).status).toBe(304);
    };
    const version = '1.0.0';
    await afterWrite(
      () => eve.req('PUT', `${at}/dist-tags/beta`, { version }),
      (b) => expect(b.dist_tags).toMatchObject({ beta: version }),
    );
    await afterWrite(
      () => eve.req('POST', `${at}/versions/${version}/deprecate`, { message: 'use the next one' }),
      (b) => expect(b.deprecated).toBe('use the next one'),
    );
    await afterWrite(
      () => eve.req('POST', `${at}/versions/${version}/deprecate`, { message: '' }),
      (b) => expect(b.deprecated).toBeNull(),
    );
    await afterWrite(
      () => eve.req('DELETE', `${at}/dist-tags/beta`),
      (b) => expect(b.dist_tags).not.toHaveProperty('beta'),
    );
    await afterWrite(
      () => eve.req('GET', `${at}/download/${version}`),
      (b) => expect(b.download_count).toBe(1),
    );
    await afterWrite(
      async () => eve.publish(at, await agentTarball({ name: 'tagged', version: '1.1.0', scope: 'eve' })),
      (b) => expect(b.latest_version).toBe('1.1.0'),
    );
  });

  it('hides a package made private from others at once, current tag or not, and shows it again when made public', async () => {
    const at = '/api/v1/agents/@eve/secretive';
    expect((await eve.publish(at, await agentTarball({ name: 'secretive', version: '1.0.0', scope: 'eve' }))).status).toBe(200);
    const anonymous = new Api(a.url);
    const open = await readCached(anonymous, at);
    const etag = open.headers.get('etag')!;
    expect((await eve.req('PUT', '/api/v1/access/@eve/secretive', { visibility: 'private' })).status).toBe(200);
    // The access rule decides before any tag is compared: a hidden package is a 404, never a 304.
    for (const headers of [{}, { 'if-none-match': etag }, { 'if-none-match': '*' }] as Record<string, string>[]) {
      const hidden = await anonymous.req('GET', at, undefined, headers);
      expect(hidden.status).toBe(404);
      expect(hidden.headers.get('etag')).toBeNull();
    }
    // Its owner still reads it, and revalidates with the tag the document now has.
    const ownTag = (await readCached(eve, at)).headers.get('etag')!;
    expect((await eve.req('GET', at, undefined, { 'if-none-match': ownTag })).status).toBe(304);
    expect((await eve.req('PUT', '/api/v1/access/@eve/secretive', { visibility: 'public' })).status).toBe(200);
    const back = await anonymous.req('GET', at);
    expect(back.status).toBe(200);
    expect((await anonymous.req('GET', at, undefined, { 'if-none-match': back.headers.get('etag')! })).status).toBe(304);
  });

  it.runIf(store === 'postgres')('shows a write made through another server process on the same database', async () => {
    const b = await startTestServer({ store, dataDir: a.dataDir, adminToken: a.adminToken, postgresSchema: a.schema });
    try {
      const viaB = new Api(b.url);
      const before = await viaB.req('GET', path);
      expect(before.body.latest_version).toBe('1.0.0');
      const oldTag = before.headers.get('etag')!;
      expect((await viaB.req('GET', path, undefined, { 'if-none-match': oldTag })).status).toBe(304);
      await eve.publish(path, await agentTarball({ name: 'tracker', version: '2.0.0', scope: 'eve' }));
      let seen = '';
      for (let i = 0; i < 50 && seen !== '2.0.0'; i++) {
        seen = (await viaB.req('GET', path)).body.latest_version;
        if (seen !== '2.0.0') await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toBe('2.0.0');
      // The other process's tag moved with its document: the old one is no longer current there.
      const after = await viaB.req('GET', path, undefined, { 'if-none-match': oldTag });
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(oldTag);
    } finally {
      await b.close();
    }
  });
});
