import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { EMPTY_CONFIG, OciClient, imageManifest, sha256 } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Pushes a one-layer artifact to `repo` with the client's credentials, chunked; returns the layer's digest. */
const pushArtifact = async (client: OciClient, repo: string, tag: string, layer: Buffer, canonical = repo): Promise<string> => {
  const start = await client.req('POST', `/v2/${repo}/blobs/uploads/`);
  expect(start.status, start.body.toString()).toBe(202);
  expect(start.headers.get('location')).toMatch(new RegExp(`^/v2/${canonical}/blobs/uploads/`));
  const half = Math.floor(layer.length / 2);
  const first = await client.req('PATCH', start.headers.get('location')!, layer.subarray(0, half), { 'content-type': 'application/octet-stream', 'content-range': `0-${half - 1}` });
  expect(first.status).toBe(202);
  const loc = first.headers.get('location')!;
  const done = await client.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256(layer)}`, layer.subarray(half), { 'content-type': 'application/octet-stream' });
  expect(done.status, done.body.toString()).toBe(201);
  expect(done.headers.get('location')).toBe(`/v2/${canonical}/blobs/${sha256(layer)}`);
  expect((await client.pushBlob(repo, '{}')).status).toBe(201);
  const m = await client.pushManifest(repo, tag, imageManifest([{ data: layer }]));
  expect(m.status, m.body.toString()).toBe(201);
  return sha256(layer);
};

describe.each(testStores)('OCI repository names of any depth, owned by their first component (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let aliceToken: string;
  let alice: OciClient;
  let bob: OciClient;
  let anon: OciClient;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    aliceToken = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token;
    const bobToken = (await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token;
    alice = new OciClient(server.url).withToken(aliceToken);
    bob = new OciClient(server.url).withToken(bobToken);
    anon = new OciClient(server.url);
  });
  afterAll(() => server.close());

  it('pushes and pulls alice/team/app and deeper names, with every route (blobs, uploads, manifests, tags, referrers)', async () => {
    const layer = Buffer.from('nested layer '.repeat(5000));
    for (const repo of ['alice/team/app', 'alice/a/b/c/d/e', 'alice/blobs/manifests/tags']) {
      const digest = await pushArtifact(alice, repo, 'v1', layer);
      const blob = await anon.req('GET', `/v2/${repo}/blobs/${digest}`);
      expect(blob.status).toBe(200);
      expect(blob.body.equals(layer)).toBe(true);
      expect((await anon.req('HEAD', `/v2/${repo}/blobs/${digest}`)).headers.get('content-length')).toBe(String(layer.length));
      const manifest = await anon.req('GET', `/v2/${repo}/manifests/v1`, undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
      expect(manifest.status).toBe(200);
      expect(manifest.json.layers[0].digest).toBe(digest);
      const tags = await anon.req('GET', `/v2/${repo}/tags/list`);
      expect(tags.json).toEqual({ name: repo, tags: ['v1'] });
      const referrers = await anon.req('GET', `/v2/${repo}/referrers/${sha256(manifest.body)}`);
      expect(referrers.status).toBe(200);
      expect(referrers.json.manifests).toEqual([]);
    }
    // A mount from one nested repository into another of the same scope.
    const mount = await alice.req('POST', `/v2/alice/other/deep/blobs/uploads/?mount=${sha256(layer)}&from=alice/team/app`);
    expect(mount.status).toBe(201);
    expect(mount.headers.get('location')).toBe(`/v2/alice/other/deep/blobs/${sha256(layer)}`);
    // The catalog lists those with manifests under their full names.
    const catalog = await alice.req('GET', '/v2/_catalog?n=100');
    expect(catalog.json.repositories).toEqual(expect.arrayContaining(['alice/team/app', 'alice/a/b/c/d/e', 'alice/blobs/manifests/tags']));
    // Blob downloads through the native door follow the same read rule.
    expect((await fetch(`${server.url}/api/v1/blobs/${sha256(layer)}`)).status).toBe(200);
    // Deleting a tag and a blob at depth.
    expect((await alice.req('DELETE', '/v2/alice/a/b/c/d/e/manifests/v1')).status).toBe(202);
    expect((await anon.req('GET', '/v2/alice/a/b/c/d/e/manifests/v1')).status).toBe(404);
    expect((await alice.req('DELETE', `/v2/alice/other/deep/blobs/${sha256(layer)}`)).status).toBe(202);
  });

  it('applies the owning scope’s rules at every depth, through the token flow too', async () => {
    // Bob may not push under alice, however deep: the same refusal as for alice/app.
    const denied = await bob.req('POST', '/v2/alice/team/bobs/blobs/uploads/');
    const flat = await bob.req('POST', '/v2/alice/bobs/blobs/uploads/');
    expect(denied.status).toBe(flat.status);
    expect(denied.json.errors[0].code).toBe(flat.json.errors[0].code);
    expect([401, 403]).toContain(denied.status);
    // An anonymous push is challenged for the full name, and the token endpoint grants it to the owner.
    const push = await anon.req('POST', '/v2/alice/team/tool/blobs/uploads/');
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:alice/team/tool:pull,push"');
    const q = new URLSearchParams([
      ['service', 'agentry'],
      ['scope', 'repository:alice/team/tool:pull,push'],
    ]);
    const token = await anon.withAuth(basic('alice', aliceToken)).req('GET', `/v2/token?${q.toString()}`);
    expect(token.status).toBe(200);
    const bearer = anon.withAuth(`Bearer ${token.json.token}`);
    await pushArtifact(bearer, 'alice/team/tool', '1.0', Buffer.from('with a registry token'));
    // That token is for alice/team/tool only.
    expect((await bearer.req('POST', '/v2/alice/team/other/blobs/uploads/')).status).toBe(401);
    // A private scope default makes every depth private.
    expect((await admin.req('PUT', '/api/v1/access/alice', { visibility: 'private' })).status).toBe(200);
    await pushArtifact(alice, 'alice/private/deep', 'v1', Buffer.from('secret layer'));
    expect((await anon.req('GET', '/v2/alice/private/deep/tags/list')).status).toBe(401);
    expect((await bob.req('GET', '/v2/alice/private/deep/tags/list')).status).toBe(404);
    expect((await alice.req('GET', '/v2/alice/private/deep/tags/list')).status).toBe(200);
    expect((await fetch(`${server.url}/api/v1/blobs/${sha256('secret layer')}`)).status).toBe(404);
  });

  it('refuses names the distribution spec does not allow, and single-level names, with NAME_INVALID', async () => {
    const refused = async (path: string) => {
      const r = await alice.req('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.json.errors[0].code, path).toBe('NAME_INVALID');
      return r;
    };
    const single = await refused('/v2/app/tags/list');
    expect(single.json.errors[0].message).toMatch(/needs an owner, as in <account or organisation>\/app/);
    await refused(`/v2/app/blobs/${sha256('x')}`);
    await refused('/v2/app/manifests/latest');
    expect((await alice.req('POST', '/v2/app/blobs/uploads/')).json.errors[0].code).toBe('NAME_INVALID');
    await refused('/v2/alice/Team/app/tags/list');
    await refused('/v2/alice/-team/app/tags/list');
    await refused('/v2/alice/team_/app/tags/list');
    await refused('/v2/alice/team..x/app/tags/list');
    await refused(`/v2/alice/${'a/'.repeat(125)}end/tags/list`);
    // Up to 255 characters in all.
    const longest = `alice/${'x'.repeat(255 - 'alice/'.length)}`;
    expect((await alice.req('GET', `/v2/${longest}/tags/list`)).json.errors[0].code).toBe('NAME_UNKNOWN');
    await refused(`/v2/${longest}y/tags/list`);
  });
});

describe('OCI single-level names with a default scope', () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it('maps app onto <default scope>/app, one repository under both names', async () => {
    server = await startTestServer({ env: { AGENTRY_OCI_DEFAULT_SCOPE: 'library' } });
    const admin = new Api(server.url, server.adminToken);
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'library' })).status).toBe(201);
    const oci = new OciClient(server.url).withToken(server.adminToken);
    // Locations name the repository by its full name.
    const digest = await pushArtifact(oci, 'app', 'v1', Buffer.from('library layer'), 'library/app');
    const viaFull = await oci.req('GET', '/v2/library/app/tags/list');
    expect(viaFull.json).toEqual({ name: 'library/app', tags: ['v1'] });
    const viaShort = await oci.req('GET', `/v2/app/blobs/${digest}`);
    expect(viaShort.status).toBe(200);
    expect((await oci.req('GET', '/v2/library/app/manifests/v1', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' })).json.config.digest).toBe(EMPTY_CONFIG.digest);
    // A default scope that is not a scope name is refused at start.
    await expect(startTestServer({ env: { AGENTRY_OCI_DEFAULT_SCOPE: 'Not/A/Scope' } })).rejects.toThrow(/AGENTRY_OCI_DEFAULT_SCOPE must be a scope name/);
  });
});
