import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { OciClient, imageManifest } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Issue 12 point 2: blobs are reached only through what owns them. `/api/v1/blobs/<digest>` opens a
 * digest only for a caller who may read some object referring to it (a package version, an OCI
 * repository, the caller's own managed file or skill); anything else is the 404 of a missing digest.
 */
const digestOf = (bytes: Buffer | Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A GET whose body is always read (an unread body keeps the connection, and so the server, busy). */
const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers });
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, bytes: body };
};

const skillMd = (name: string) => `---\nname: ${name}\ndescription: The ${name} skill\n---\n\n# ${name}\n`;

/** The parts of an error answer that must not tell a hidden blob from a missing one. */
const shape = (r: { status: number; body: any; headers: Headers }) => ({
  status: r.status,
  body: r.body,
  type: r.headers.get('content-type'),
  etag: r.headers.get('etag'),
});

describe.each(testStores)('blob access (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let alice: Api;
  let bob: Api;
  let aliceToken: string;

  beforeAll(async () => {
    // New scopes start private: alice's packages are hers alone.
    server = await startTestServer({ store, defaultVisibility: 'private' });
    admin = new Api(server.url, server.adminToken);
    anon = admin.with(undefined);
    const a = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    const b = await admin.req('POST', '/api/v1/users', { username: 'bob' });
    expect([a.status, b.status]).toEqual([201, 201]);
    aliceToken = a.body.token;
    alice = admin.with(aliceToken);
    bob = admin.with(b.body.token);
  });
  afterAll(() => server?.close());

  const missing = () => `sha256:${randomBytes(32).toString('hex')}`;

  it('answers a digest nobody refers to with 404, the same for everyone', async () => {
    const d = missing();
    const r = await anon.req('GET', `/api/v1/blobs/${d}`);
    expect(r.status).toBe(404);
    expect(shape(await alice.req('GET', `/api/v1/blobs/${d}`))).toEqual(shape(r));
    expect((await anon.req('GET', '/api/v1/blobs/sha256:XYZ')).status).toBe(400);
    expect((await anon.req('GET', '/api/v1/blobs/md5:abc')).status).toBe(400);
  });

  it("serves a private package's tarball only to those who may read the package", async () => {
    const tgz = await agentTarball({ name: 'secret-agent', version: '1.0.0', scope: 'alice' });
    expect((await alice.publish('/api/v1/agents/@alice/secret-agent', tgz)).status).toBe(200);
    const d = digestOf(tgz);
    const absent = shape(await anon.req('GET', `/api/v1/blobs/${missing()}`));
    // Anonymous callers and other accounts: exactly the 404 of a missing digest.
    expect(shape(await anon.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
    expect(shape(await bob.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
    // The owner and administrators read it, with ETag and 304.
    const own = await get(`${server.url}/api/v1/blobs/${d}`, { authorization: `Bearer ${aliceToken}` });
    expect(own.status).toBe(200);
    expect(own.bytes.equals(tgz)).toBe(true);
    expect(own.headers.get('etag')).toBe(`"${d}"`);
    expect(own.headers.get('cache-control')).toMatch(/^private/);
    const again = await get(`${server.url}/api/v1/blobs/${d}`, { authorization: `Bearer ${aliceToken}`, 'if-none-match': `"${d}"` });
    expect(again.status).toBe(304);
    // A conditional request from an outsider learns nothing either.
    const probe = await get(`${server.url}/api/v1/blobs/${d}`, { 'if-none-match': `"${d}"` });
    expect(probe.status).toBe(404);
    expect((await admin.req('GET', `/api/v1/blobs/${d}`)).status).toBe(200);
  });

  it('serves a public package tarball to anyone, and nothing once its version is unpublished', async () => {
    // A server whose scopes start public (the default): today's flows keep working.
    const pub = await startTestServer({ store });
    try {
      const root = new Api(pub.url, pub.adminToken);
      const c = await root.req('POST', '/api/v1/users', { username: 'carol' });
      const carol = root.with(c.body.token);
      const tgz = await agentTarball({ name: 'open-agent', version: '1.0.0', scope: 'carol' });
      expect((await carol.publish('/api/v1/agents/@carol/open-agent', tgz)).status).toBe(200);
      const d = digestOf(tgz);
      const r = await get(`${pub.url}/api/v1/blobs/${d}`);
      expect(r.status).toBe(200);
      expect(r.bytes.equals(tgz)).toBe(true);
      expect(r.headers.get('cache-control')).toMatch(/^public/);
      expect(r.headers.get('content-length')).toBe(String(tgz.length));
      expect((await get(`${pub.url}/api/v1/blobs/${d}`, { 'if-none-match': `W/"${d}", "other"` })).status).toBe(304);
      expect((await carol.req('DELETE', '/api/v1/agents/@carol/open-agent/1.0.0')).status).toBe(200);
      expect((await root.with(undefined).req('GET', `/api/v1/blobs/${d}`)).status).toBe(404);
      expect((await carol.req('GET', `/api/v1/blobs/${d}`)).status).toBe(404);
    } finally {
      await pub.close();
    }
  });

  it("serves an OCI repository's blobs only to those who may pull from it", async () => {
    const oci = new OciClient(server.url).withToken(aliceToken);
    const layer = randomBytes(300);
    expect((await oci.pushBlob('alice/images', layer)).status).toBe(201);
    expect((await oci.pushBlob('alice/images', '{}')).status).toBe(201);
    const manifest = JSON.stringify(imageManifest([{ data: layer }]));
    expect((await oci.pushManifest('alice/images', 'v1', manifest)).status).toBe(201);
    const absent = shape(await anon.req('GET', `/api/v1/blobs/${missing()}`));
    for (const d of [digestOf(layer), digestOf(Buffer.from(manifest))]) {
      // alice's scope is private: her repository too.
      expect(shape(await anon.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
      expect(shape(await bob.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
      expect((await alice.req('GET', `/api/v1/blobs/${d}`)).status).toBe(200);
    }
    expect((await get(`${server.url}/api/v1/blobs/${digestOf(layer)}`, { authorization: `Bearer ${aliceToken}` })).bytes.equals(layer)).toBe(true);
  });

  it('never serves a managed file to anyone but its account', async () => {
    const bytes = randomBytes(512);
    const form = new FormData();
    form.set('file', new Blob([bytes]), 'private.bin');
    const up = await alice.req('POST', '/v1/files', form);
    expect(up.status).toBe(200);
    const d = digestOf(bytes);
    const absent = shape(await anon.req('GET', `/api/v1/blobs/${missing()}`));
    expect(shape(await anon.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
    expect(shape(await bob.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
    const own = await get(`${server.url}/api/v1/blobs/${d}`, { authorization: `Bearer ${aliceToken}` });
    expect(own.status).toBe(200);
    expect(own.bytes.equals(bytes)).toBe(true);
    // The managed door itself: another account's file is not found.
    expect((await bob.req('GET', `/v1/files/${up.body.id}/content`)).status).toBe(404);
    // Once deleted, nothing refers to the bytes: gone for the owner too.
    expect((await alice.req('DELETE', `/v1/files/${up.body.id}`)).status).toBe(200);
    expect(shape(await alice.req('GET', `/api/v1/blobs/${d}`))).toEqual(shape(await alice.req('GET', `/api/v1/blobs/${missing()}`)));
  });

  it('keeps an uploaded managed skill out of every package door and its bytes private', async () => {
    const form = new FormData();
    form.append('files', new Blob([skillMd('hidden-skill')]), 'hidden-skill/SKILL.md');
    form.append('files', new Blob(['print("x")\n']), 'hidden-skill/run.py');
    const up = await alice.req('POST', '/v1/skills', form);
    expect(up.status).toBe(200);
    const content = await get(`${server.url}/v1/skills/${up.body.id}/versions/1.0.0/content`, { 'x-api-key': aliceToken });
    expect(content.status).toBe(200);
    const tgz = content.bytes;
    const d = digestOf(tgz);
    const absent = shape(await anon.req('GET', `/api/v1/blobs/${missing()}`));
    expect(shape(await anon.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
    expect(shape(await bob.req('GET', `/api/v1/blobs/${d}`))).toEqual(absent);
    expect((await alice.req('GET', `/api/v1/blobs/${d}`)).status).toBe(200);

    // No package door knows it, not even for its owner: it is not a package.
    for (const who of [anon, bob, alice, admin]) {
      for (const path of ['/api/v1/skills?limit=100', '/api/v1/packages?limit=100', '/api/v1/search?q=hidden-skill', '/registry/default/v0.1/x/dev.toolhive/skills', '/v0.1/servers?limit=100']) {
        const r = await who.req('GET', path);
        expect(JSON.stringify(r.body ?? '')).not.toContain('hidden-skill');
      }
      expect((await who.req('GET', '/api/v1/skills/@alice/hidden-skill')).status).toBe(404);
      expect((await who.req('GET', '/registry/default/v0.1/x/dev.toolhive/skills/alice/hidden-skill')).status).toBe(404);
      expect((await who.req('GET', '/api/v1/skills/content?ref=@alice/hidden-skill')).status).not.toBe(200);
    }
    // The managed door keeps serving it to its owner, and to nobody else.
    expect((await alice.req('GET', `/v1/skills/${up.body.id}/files/run.py`)).body).toBe('print("x")\n');
    expect((await bob.req('GET', `/v1/skills/${up.body.id}/files/run.py`)).status).toBe(404);
    expect((await bob.req('GET', `/v1/skills/${up.body.id}/versions/1.0.0/content`)).status).toBe(404);

    // A deleted version's bytes are no one's any more.
    const v2 = new FormData();
    v2.append('files', new Blob([skillMd('hidden-skill') + '\nv2\n']), 'SKILL.md');
    expect((await alice.req('POST', `/v1/skills/${up.body.id}/versions`, v2)).status).toBe(200);
    expect((await alice.req('DELETE', `/v1/skills/${up.body.id}/versions/1.0.0`)).status).toBe(200);
    expect((await alice.req('GET', `/api/v1/blobs/${d}`)).status).toBe(404);
    const versions = await alice.req('GET', `/v1/skills/${up.body.id}/versions`);
    expect(versions.body.data.map((v: any) => v.id)).toEqual(['1.0.1']);
  });

  it('lets every signed-in account read a built-in skill, and no anonymous caller', async () => {
    const form = new FormData();
    form.append('files', new Blob([skillMd('house-rules')]), 'SKILL.md');
    form.set('built_in', 'true');
    const up = await admin.req('POST', '/v1/skills', form);
    expect(up.status).toBe(200);
    const content = await get(`${server.url}/v1/skills/${up.body.id}/versions/latest/content`, { authorization: `Bearer ${server.adminToken}` });
    const d = digestOf(content.bytes);
    expect((await bob.req('GET', `/api/v1/blobs/${d}`)).status).toBe(200);
    expect((await anon.req('GET', `/api/v1/blobs/${d}`)).status).toBe(404);
  });
});
