import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient, EMPTY_CONFIG, imageManifest, sha256 } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe.each(testStores)('OCI distribution: pull and push (%s)', (store) => {
  let server: TestServer;
  let admin: OciClient;
  let anon: OciClient;
  const repo = 'admin/images';

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new OciClient(server.url).withToken(server.adminToken);
    anon = new OciClient(server.url);
  });
  afterAll(() => server.close());

  it('answers GET /v2/ (end-1): 200 with credentials, 401 with a Bearer challenge without', async () => {
    const ok = await admin.req('GET', '/v2/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const no = await anon.req('GET', '/v2/');
    expect(no.status).toBe(401);
    expect(no.headers.get('www-authenticate')).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/v2\/token",service="127\.0\.0\.1:\d+"$/);
    expect(no.json.errors[0].code).toBe('UNAUTHORIZED');
  });

  it('pushes a blob monolithically (end-4b) and pulls it back with GET and HEAD (end-2)', async () => {
    const data = Buffer.from('layer one\n');
    const r = await admin.pushBlob(repo, data);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/v2/${repo}/blobs/${sha256(data)}`);
    expect(r.headers.get('docker-content-digest')).toBe(sha256(data));
    const get = await anon.req('GET', `/v2/${repo}/blobs/${sha256(data)}`);
    expect(get.status).toBe(200);
    expect(get.body.equals(data)).toBe(true);
    expect(get.headers.get('docker-content-digest')).toBe(sha256(data));
    expect(get.headers.get('content-length')).toBe(String(data.length));
    const head = await anon.req('HEAD', `/v2/${repo}/blobs/${sha256(data)}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect(head.body.length).toBe(0);
  });

  it('refuses a monolithic push whose digest does not match with DIGEST_INVALID, and stores nothing', async () => {
    const r = await admin.req('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256('other')}`, 'not other', { 'content-type': 'application/octet-stream' });
    expect(r.status).toBe(400);
    expect(r.json.errors[0].code).toBe('DIGEST_INVALID');
    expect((await anon.req('HEAD', `/v2/${repo}/blobs/${sha256('not other')}`)).status).toBe(404);
    expect((await anon.req('HEAD', `/v2/${repo}/blobs/${sha256('other')}`)).status).toBe(404);
    const bad = await admin.req('POST', `/v2/${repo}/blobs/uploads/?digest=sha256:xyz`, 'x');
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].code).toBe('DIGEST_INVALID');
    const algo = await admin.req('POST', `/v2/${repo}/blobs/uploads/?digest=sha512:${'a'.repeat(128)}`, 'x');
    expect(algo.status).toBe(405);
    expect(algo.json.errors[0].code).toBe('UNSUPPORTED');
  });

  it('serves byte ranges of a blob (206, 416)', async () => {
    const data = Buffer.from('0123456789');
    await admin.pushBlob(repo, data);
    const path = `/v2/${repo}/blobs/${sha256(data)}`;
    const mid = await anon.req('GET', path, undefined, { range: 'bytes=2-5' });
    expect(mid.status).toBe(206);
    expect(mid.body.toString()).toBe('2345');
    expect(mid.headers.get('content-range')).toBe('bytes 2-5/10');
    const tail = await anon.req('GET', path, undefined, { range: 'bytes=7-' });
    expect(tail.body.toString()).toBe('789');
    const suffix = await anon.req('GET', path, undefined, { range: 'bytes=-3' });
    expect(suffix.body.toString()).toBe('789');
    const beyond = await anon.req('GET', path, undefined, { range: 'bytes=10-20' });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10');
  });

  it('pushes in chunks (end-4a, end-5, end-13, end-6) and refuses out-of-order chunks with 416', async () => {
    const start = await admin.req('POST', `/v2/${repo}/blobs/uploads/`);
    expect(start.status).toBe(202);
    const loc = start.headers.get('location')!;
    expect(loc).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]{36}$`));
    expect(start.headers.get('docker-upload-uuid')).toBe(loc.split('/').pop());
    const p1 = await admin.req('PATCH', loc, 'abc', { 'content-range': '0-2', 'content-type': 'application/octet-stream' });
    expect(p1.status).toBe(202);
    expect(p1.headers.get('range')).toBe('0-2');
    const ooo = await admin.req('PATCH', loc, 'xyz', { 'content-range': '5-7', 'content-type': 'application/octet-stream' });
    expect(ooo.status).toBe(416);
    expect(ooo.json.errors[0].code).toBe('BLOB_UPLOAD_INVALID');
    const status = await admin.req('GET', loc);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-2');
    expect(status.headers.get('location')).toBe(loc);
    const p2 = await admin.req('PATCH', loc, 'def', { 'content-range': '3-5', 'content-type': 'application/octet-stream' });
    expect(p2.headers.get('range')).toBe('0-5');
    const done = await admin.req('PUT', `${loc}?digest=${sha256('abcdefgh')}`, 'gh', { 'content-type': 'application/octet-stream' });
    expect(done.status).toBe(201);
    expect(done.headers.get('location')).toBe(`/v2/${repo}/blobs/${sha256('abcdefgh')}`);
    expect((await anon.req('GET', `/v2/${repo}/blobs/${sha256('abcdefgh')}`)).body.toString()).toBe('abcdefgh');
    // The session is gone once it is committed.
    const gone = await admin.req('GET', loc);
    expect(gone.status).toBe(404);
    expect(gone.json.errors[0].code).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('refuses a final PUT with a wrong digest or none, and a chunk whose length differs from its range', async () => {
    const start = await admin.req('POST', `/v2/${repo}/blobs/uploads/`);
    const loc = start.headers.get('location')!;
    await admin.req('PATCH', loc, 'hello', { 'content-type': 'application/octet-stream' });
    const wrong = await admin.req('PUT', `${loc}?digest=${sha256('bye')}`);
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors[0].code).toBe('DIGEST_INVALID');
    const none = await admin.req('PUT', loc);
    expect(none.status).toBe(400);
    expect(none.json.errors[0].code).toBe('DIGEST_INVALID');
    const size = await admin.req('PATCH', loc, 'abcd', { 'content-range': '5-6', 'content-type': 'application/octet-stream' });
    expect(size.status).toBe(400);
    expect(size.json.errors[0].code).toBe('SIZE_INVALID');
    // Nothing of the refused chunk stays.
    expect((await admin.req('GET', loc)).headers.get('range')).toBe('0-4');
    const ok = await admin.req('PUT', `${loc}?digest=${sha256('hello')}`);
    expect(ok.status).toBe(201);
  });

  it('cancels an upload (end-14) and answers BLOB_UPLOAD_UNKNOWN for unknown sessions', async () => {
    const loc = (await admin.req('POST', `/v2/${repo}/blobs/uploads/`)).headers.get('location')!;
    expect((await admin.req('DELETE', loc)).status).toBe(204);
    const again = await admin.req('DELETE', loc);
    expect(again.status).toBe(404);
    expect(again.json.errors[0].code).toBe('BLOB_UPLOAD_UNKNOWN');
    const patch = await admin.req('PATCH', loc, 'x');
    expect(patch.json.errors[0].code).toBe('BLOB_UPLOAD_UNKNOWN');
    const bogus = await admin.req('GET', `/v2/${repo}/blobs/uploads/not-a-session`);
    expect(bogus.status).toBe(404);
    expect(bogus.json.errors[0].code).toBe('BLOB_UPLOAD_UNKNOWN');
    // A session belongs to its repository.
    const other = (await admin.req('POST', `/v2/${repo}/blobs/uploads/`)).headers.get('location')!;
    const elsewhere = await admin.req('GET', other.replace(repo, 'admin/elsewhere'));
    expect(elsewhere.status).toBe(404);
  });

  it('mounts a blob from another repository (end-11), and falls back to an upload when it is not there', async () => {
    const data = 'shared layer';
    await admin.pushBlob(repo, data);
    const m = await admin.req('POST', `/v2/admin/mounted/blobs/uploads/?mount=${sha256(data)}&from=${repo}`);
    expect(m.status).toBe(201);
    expect(m.headers.get('location')).toBe(`/v2/admin/mounted/blobs/${sha256(data)}`);
    expect((await anon.req('GET', `/v2/admin/mounted/blobs/${sha256(data)}`)).body.toString()).toBe(data);
    const miss = await admin.req('POST', `/v2/admin/mounted/blobs/uploads/?mount=${sha256('nothing')}&from=${repo}`);
    expect(miss.status).toBe(202);
    expect(miss.headers.get('location')).toMatch(/\/blobs\/uploads\//);
  });

  it('pushes manifests by tag and by digest (end-7a, end-7b) and pulls them by tag and digest (end-3)', async () => {
    await admin.pushBlob(repo, '{}');
    await admin.pushBlob(repo, 'layer one\n');
    const manifest = JSON.stringify(imageManifest([{ data: 'layer one\n' }]));
    const put = await admin.pushManifest(repo, 'v1', manifest);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(put.headers.get('location')).toBe(`/v2/${repo}/manifests/${sha256(manifest)}`);
    for (const ref of ['v1', sha256(manifest)]) {
      const get = await anon.req('GET', `/v2/${repo}/manifests/${ref}`, undefined, { accept: OCI_MANIFEST });
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(get.headers.get('docker-content-digest')).toBe(sha256(manifest));
      expect(get.body.toString()).toBe(manifest);
      const head = await anon.req('HEAD', `/v2/${repo}/manifests/${ref}`);
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(manifest)));
    }
    const byDigest = JSON.stringify(imageManifest([{ data: 'layer one\n' }], { annotations: { n: '2' } }));
    const put2 = await admin.pushManifest(repo, `${sha256(byDigest)}?tag=t1&tag=t2`, byDigest);
    expect(put2.status).toBe(201);
    expect((await anon.req('GET', `/v2/${repo}/manifests/t2`)).headers.get('docker-content-digest')).toBe(sha256(byDigest));
    const mismatch = await admin.pushManifest(repo, sha256('other'), byDigest);
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.errors[0].code).toBe('DIGEST_INVALID');
  });

  it('pushes an image index and an artifact with artifactType and the empty config', async () => {
    const child = JSON.stringify(imageManifest([{ data: 'layer one\n' }], { annotations: { platform: 'x' } }));
    await admin.pushManifest(repo, sha256(child), child);
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(child), size: Buffer.byteLength(child) }] });
    const put = await admin.pushManifest(repo, 'multi', index, OCI_INDEX);
    expect(put.status).toBe(201);
    const get = await anon.req('GET', `/v2/${repo}/manifests/multi`);
    expect(get.headers.get('content-type')).toBe(OCI_INDEX);
    const artifact = JSON.stringify({ ...imageManifest([{ data: 'layer one\n', mediaType: 'text/plain' }]), artifactType: 'application/vnd.example.thing.v1' });
    expect((await admin.pushManifest(repo, 'artifact', artifact)).status).toBe(201);
    const cfg = await anon.req('GET', `/v2/${repo}/blobs/${EMPTY_CONFIG.digest}`);
    expect(cfg.body.toString()).toBe('{}');
  });

  it('refuses bad manifests: MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN, TAG_INVALID, SIZE_INVALID, 413', async () => {
    const notJson = await admin.pushManifest(repo, 'bad', '{nope');
    expect(notJson.status).toBe(400);
    expect(notJson.json.errors[0].code).toBe('MANIFEST_INVALID');
    const noSchema = await admin.pushManifest(repo, 'bad', { mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: [] });
    expect(noSchema.json.errors[0].code).toBe('MANIFEST_INVALID');
    const badDesc = await admin.pushManifest(repo, 'bad', { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...EMPTY_CONFIG, digest: 'sha256:zz' }, layers: [] });
    expect(badDesc.json.errors[0].code).toBe('MANIFEST_INVALID');
    const typeMismatch = await admin.pushManifest(repo, 'bad', imageManifest([]), OCI_INDEX);
    expect(typeMismatch.json.errors[0].code).toBe('MANIFEST_INVALID');
    const unknownType = await admin.pushManifest(repo, 'bad', { ...imageManifest([]), mediaType: 'application/x-nope' }, 'application/x-nope');
    expect(unknownType.json.errors[0].code).toBe('MANIFEST_INVALID');
    const missing = await admin.pushManifest(repo, 'bad', imageManifest([{ data: 'never pushed' }]));
    expect(missing.status).toBe(400);
    expect(missing.json.errors[0].code).toBe('MANIFEST_BLOB_UNKNOWN');
    const wrongSize = await admin.pushManifest(repo, 'bad', { ...imageManifest([]), layers: [{ mediaType: 'x/y', digest: sha256('layer one\n'), size: 3 }] });
    expect(wrongSize.json.errors[0].code).toBe('SIZE_INVALID');
    const missingChild = await admin.pushManifest(repo, 'bad', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('x'), size: 1 }] }, OCI_INDEX);
    expect(missingChild.json.errors[0].code).toBe('MANIFEST_BLOB_UNKNOWN');
    const badTag = await admin.pushManifest(repo, '-bad-tag', imageManifest([]));
    expect(badTag.status).toBe(400);
    expect(badTag.json.errors[0].code).toBe('TAG_INVALID');
    const huge = await admin.pushManifest(repo, 'huge', JSON.stringify({ ...imageManifest([]), annotations: { big: 'x'.repeat(4 * 1024 * 1024) } }));
    expect(huge.status).toBe(413);
    expect((await anon.req('GET', `/v2/${repo}/manifests/bad`)).status).toBe(404);
  });

  it('answers unknown names, manifests and blobs with NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN and bad names with NAME_INVALID', async () => {
    // Asked by a member of the scope: anonymous callers get the 401 challenge a private repository gets (issue 12).
    const name = await admin.req('GET', '/v2/admin/nothing-here/manifests/latest');
    expect(name.status).toBe(404);
    expect(name.json.errors[0].code).toBe('NAME_UNKNOWN');
    const tags = await admin.req('GET', '/v2/admin/nothing-here/tags/list');
    expect(tags.json.errors[0].code).toBe('NAME_UNKNOWN');
    // A reference that cannot be a tag names nothing: 404, as for any unknown manifest.
    const malformed = await anon.req('GET', `/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`);
    expect(malformed.status).toBe(404);
    expect(malformed.json.errors[0].code).toBe('MANIFEST_UNKNOWN');
    const manifest = await anon.req('GET', `/v2/${repo}/manifests/nope`);
    expect(manifest.status).toBe(404);
    expect(manifest.json.errors[0].code).toBe('MANIFEST_UNKNOWN');
    const blob = await anon.req('GET', `/v2/${repo}/blobs/${sha256('nope')}`);
    expect(blob.status).toBe(404);
    expect(blob.json.errors[0].code).toBe('BLOB_UNKNOWN');
    const invalid = await anon.req('GET', '/v2/Admin/UPPER/tags/list');
    expect(invalid.status).toBe(400);
    expect(invalid.json.errors[0].code).toBe('NAME_INVALID');
    // Names of any depth are repositories of their first component's scope: unknown here.
    const deep = await admin.req('GET', '/v2/a/b/c/tags/list');
    expect(deep.status).toBe(404);
    expect(deep.json.errors[0].code).toBe('NAME_UNKNOWN');
    const deepAnon = await anon.req('GET', '/v2/a/b/c/tags/list');
    expect(deepAnon.status).toBe(401);
    expect(deepAnon.headers.get('www-authenticate')).toContain('scope="repository:a/b/c:pull"');
    // A single-level name has no owner on a server without a default scope: NAME_INVALID, not 404.
    const single = await admin.req('GET', '/v2/app/tags/list');
    expect(single.status).toBe(400);
    expect(single.json.errors[0].code).toBe('NAME_INVALID');
  });

  it('stores a blob pushed concurrently by many clients once, and every push succeeds', async () => {
    const data = Buffer.alloc(256 * 1024, 7);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => admin.pushBlob(i % 2 ? repo : 'admin/concurrent', data)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    const chunked = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const loc = (await admin.req('POST', `/v2/${repo}/blobs/uploads/`)).headers.get('location')!;
        await admin.req('PATCH', loc, data.subarray(0, 1000), { 'content-range': '0-999', 'content-type': 'application/octet-stream' });
        return admin.req('PUT', `${loc}?digest=${sha256(data)}`, data.subarray(1000), { 'content-type': 'application/octet-stream' });
      }),
    );
    expect(chunked.map((r) => r.status)).toEqual(Array(4).fill(201));
    const got = await anon.req('GET', `/v2/admin/concurrent/blobs/${sha256(data)}`);
    expect(got.body.equals(data)).toBe(true);
  });
});
