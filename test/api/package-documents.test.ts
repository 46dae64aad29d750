import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { storeQuery } from '../helpers/on-store.js';

/**
 * Each package's detail document is kept in the store (migration 0045) and rewritten in the
 * transaction of every write to the package: after every kind of write, the stored document is
 * the one built from scratch, and it shows what the write changed.
 */
describe.each(testStores)('stored package detail documents (%s)', (store) => {
  let s: TestServer;
  let admin: Api;
  let eve: Api;
  let mallory: Api;
  const path = '/api/v1/agents/@eve/ledger';
  const key = 'eve/ledger';

  beforeAll(async () => {
    s = await startTestServer({ store });
    admin = new Api(s.url, s.adminToken);
    eve = admin.with((await admin.req('POST', '/api/v1/users', { username: 'eve' })).body.token);
    mallory = admin.with((await admin.req('POST', '/api/v1/users', { username: 'mallory' })).body.token);
  });
  afterAll(() => s.close());

  const stored = async (k: string): Promise<{ body: string; etag: string } | undefined> =>
    (await storeQuery(s, 'SELECT d.body, d.etag FROM package_documents d JOIN packages p ON p.id = d.package_id WHERE p.key = ?', [k])).rows[0] as { body: string; etag: string } | undefined;

  const getText = async (at: string, api: Api = eve, headers: Record<string, string> = {}) => {
    const res = await fetch(s.url + at, { headers: { ...(api.token ? { authorization: `Bearer ${api.token}` } : {}), ...headers } });
    return { status: res.status, body: await res.text(), etag: res.headers.get('etag') };
  };

  /** The stored document is what a read answers, and what the long way (view → serializer) builds once it is gone. */
  const expectCurrent = async (at: string, k: string): Promise<Record<string, unknown>> => {
    const doc = await stored(k);
    expect(doc, `a document is stored for ${k}`).toBeDefined();
    const served = await getText(at);
    expect(served.status).toBe(200);
    expect(served.body).toBe(doc!.body);
    expect(served.etag).toBe(doc!.etag);
    await storeQuery(s, 'DELETE FROM package_documents WHERE package_id = (SELECT id FROM packages WHERE key = ?)', [k]);
    const rebuilt = await getText(at);
    expect(rebuilt.status).toBe(200);
    expect(rebuilt.body, 'the stored document equals one built from scratch').toBe(doc!.body);
    expect(rebuilt.etag).toBe(doc!.etag);
    // The long way started the fill, which stores it again.
    await expect.poll(() => stored(k), { timeout: 20_000 }).toEqual(doc);
    return JSON.parse(doc!.body) as Record<string, unknown>;
  };

  it('rewrites the document with every kind of write to the package', async () => {
    expect((await eve.publish(path, await agentTarball({ name: 'ledger', version: '1.0.0', scope: 'eve', description: 'First' }))).status).toBe(200);
    expect(await expectCurrent(path, key)).toMatchObject({ latest_version: '1.0.0', description: 'First', dist_tags: { latest: '1.0.0' } });

    expect((await eve.publish(path, await agentTarball({ name: 'ledger', version: '1.1.0', scope: 'eve', description: 'Second', readme: '# Ledger\n\nNew readme' }))).status).toBe(200);
    expect(await expectCurrent(path, key)).toMatchObject({ latest_version: '1.1.0', description: 'Second', readme: '# Ledger\n\nNew readme' });

    expect((await eve.req('PUT', `${path}/dist-tags/stable`, { version: '1.0.0' })).status).toBe(200);
    expect((await expectCurrent(path, key)).dist_tags).toEqual({ latest: '1.1.0', stable: '1.0.0' });

    expect((await eve.req('DELETE', `${path}/dist-tags/stable`)).status).toBe(200);
    expect((await expectCurrent(path, key)).dist_tags).toEqual({ latest: '1.1.0' });

    expect((await eve.req('POST', `${path}/versions/1.1.0/deprecate`, { message: 'use 1.2' })).status).toBe(200);
    expect((await expectCurrent(path, key)).deprecated).toBe('use 1.2');

    expect((await eve.req('GET', `${path}/download/1.1.0`)).status).toBe(200);
    expect((await expectCurrent(path, key)).download_count).toBe(1);

    expect((await mallory.req('PUT', '/api/v1/agents/@eve/ledger/star')).status).toBe(200);
    expect((await expectCurrent(path, key)).star_count).toBe(1);
    expect((await mallory.req('DELETE', '/api/v1/agents/@eve/ledger/star')).status).toBe(200);
    expect((await expectCurrent(path, key)).star_count).toBe(0);

    expect((await eve.req('PUT', '/api/v1/access/@eve/ledger', { visibility: 'private' })).status).toBe(200);
    await expectCurrent(path, key);
    expect((await eve.req('PUT', '/api/v1/access/@eve/ledger', { visibility: 'public' })).status).toBe(200);
    await expectCurrent(path, key);

    expect((await eve.req('DELETE', `${path}/1.1.0`)).status).toBe(200);
    expect(await expectCurrent(path, key)).toMatchObject({ latest_version: '1.0.0', description: 'First' });
  });

  it('sets only the count of the stored document on a download, without rendering it again', async () => {
    const at = '/api/v1/agents/@eve/counted';
    // A count's text in the description and the readme: only the package's own count changes.
    const tricky = `'Counts ,"download_count":7 and "download_count":8'`;
    expect((await eve.publish(at, await agentTarball({ name: 'counted', version: '1.0.0', scope: 'eve', description: tricky, readme: 'x ,"download_count":9' }))).status).toBe(200);
    expect((await eve.req('GET', `${at}/download/1.0.0`)).status).toBe(200);
    expect(await expectCurrent(at, 'eve/counted')).toMatchObject({ download_count: 1, description: 'Counts ,"download_count":7 and "download_count":8', readme: 'x ,"download_count":9' });
    // The stored text is what a download starts from: a mark put in it stays (a rendering would drop it).
    await storeQuery(s, 'UPDATE package_documents SET body = replace(body, \'"license":"MIT"\', \'"license":"kept"\') WHERE package_id = (SELECT id FROM packages WHERE key = ?)', ['eve/counted']);
    expect((await eve.req('GET', `${at}/download/latest`)).status).toBe(200);
    const doc = (await stored('eve/counted'))!;
    expect(JSON.parse(doc.body)).toMatchObject({ download_count: 2, license: 'kept' });
    expect(doc.etag).toBe(`"${createHash('sha1').update(doc.body).digest('base64url')}"`);
    expect(await getText(at)).toEqual({ status: 200, body: doc.body, etag: doc.etag });
  });

  it('answers a hidden package exactly like a missing one from the stored document, and a current tag with 304', async () => {
    const at = '/api/v1/agents/@eve/hidden';
    expect((await eve.publish(at, await agentTarball({ name: 'hidden', version: '1.0.0', scope: 'eve' }))).status).toBe(200);
    const doc = (await stored('eve/hidden'))!;
    expect((await getText(at, eve, { 'if-none-match': doc.etag })).status).toBe(304);
    expect((await eve.req('PUT', '/api/v1/access/@eve/hidden', { visibility: 'private' })).status).toBe(200);
    expect(await stored('eve/hidden')).toBeDefined();
    const anonymous = new Api(s.url);
    const missing = await getText('/api/v1/agents/@eve/never-published', anonymous);
    for (const [who, headers] of [
      [anonymous, {}],
      [mallory, { 'if-none-match': doc.etag }],
      [anonymous, { 'if-none-match': '*' }],
    ] as Array<[Api, Record<string, string>]>) {
      const hidden = await getText(at, who, headers);
      expect(hidden.status).toBe(404);
      expect(hidden.etag).toBeNull();
      expect(JSON.parse(hidden.body).error).toEqual(JSON.parse(missing.body).error);
    }
    // Its owner and the administrator read it; another kind's route does not.
    expect((await getText(at, eve)).status).toBe(200);
    expect((await getText(at, admin)).status).toBe(200);
    expect((await getText('/api/v1/skills/@eve/hidden', eve)).status).toBe(404);
    expect((await getText('/api/v1/packages/@eve/hidden', eve)).status).toBe(200);
  });

  it('writes the documents missing at start-up (packages stored before them) and answers meanwhile', async () => {
    const at = '/api/v1/agents/@eve/older';
    expect((await eve.publish(at, await agentTarball({ name: 'older', version: '1.0.0', scope: 'eve' }))).status).toBe(200);
    const before = (await stored('eve/older'))!;
    await storeQuery(s, 'DELETE FROM package_documents');
    // A second server on the same store: its start-up writes the missing documents.
    const restarted = await startTestServer({ store, dataDir: s.dataDir, adminToken: s.adminToken, ...(s.schema ? { postgresSchema: s.schema } : {}) });
    try {
      await expect.poll(async () => stored('eve/older'), { timeout: 20_000 }).toEqual(before);
      expect((await getText(at, new Api(restarted.url))).body).toBe(before.body);
    } finally {
      await restarted.close();
    }
  });
});
