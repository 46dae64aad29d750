import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { OciClient, imageManifest, sha256 } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe.each(testStores)('OCI distribution: discovery, deletion and garbage collection (%s)', (store) => {
  let server: TestServer;
  let admin: OciClient;
  let anon: OciClient;
  const repo = 'admin/disco';

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new OciClient(server.url).withToken(server.adminToken);
    anon = new OciClient(server.url);
    await admin.pushBlob(repo, '{}');
    await admin.pushBlob(repo, 'base layer');
  });
  afterAll(() => server.close());

  it('lists tags in lexical order and pages them with n, last and Link (end-8a, end-8b)', async () => {
    for (const tag of ['b', 'a', 'd', 'c', 'e']) {
      expect((await admin.pushManifest(repo, tag, imageManifest([{ data: 'base layer' }], { annotations: { tag } }))).status).toBe(201);
    }
    const all = await anon.req('GET', `/v2/${repo}/tags/list`);
    expect(all.status).toBe(200);
    expect(all.json).toEqual({ name: repo, tags: ['a', 'b', 'c', 'd', 'e'] });
    expect(all.headers.get('link')).toBeNull();
    const first = await anon.req('GET', `/v2/${repo}/tags/list?n=2`);
    expect(first.json.tags).toEqual(['a', 'b']);
    expect(first.headers.get('link')).toBe(`</v2/${repo}/tags/list?n=2&last=b>; rel="next"`);
    const second = await anon.req('GET', `/v2/${repo}/tags/list?n=2&last=b`);
    expect(second.json.tags).toEqual(['c', 'd']);
    const last = await anon.req('GET', `/v2/${repo}/tags/list?n=2&last=d`);
    expect(last.json.tags).toEqual(['e']);
    expect(last.headers.get('link')).toBeNull();
    expect((await anon.req('GET', `/v2/${repo}/tags/list?n=0`)).json.tags).toEqual([]);
    const bad = await anon.req('GET', `/v2/${repo}/tags/list?n=-1`);
    expect(bad.status).toBe(400);
  });

  it('lists repositories and packages in the catalog, paged with n, last and Link', async () => {
    await admin.pushBlob('admin/another', 'base layer');
    await admin.pushBlob('admin/another', '{}');
    expect((await admin.pushManifest('admin/another', 'x', imageManifest([{ data: 'base layer' }]))).status).toBe(201);
    const all = await anon.req('GET', '/v2/_catalog');
    expect(all.status).toBe(200);
    expect(all.json.repositories).toEqual([...all.json.repositories].sort());
    expect(all.json.repositories).toEqual(expect.arrayContaining([repo, 'admin/another']));
    const first = await anon.req('GET', '/v2/_catalog?n=1');
    expect(first.json.repositories).toHaveLength(1);
    expect(first.headers.get('link')).toBe(`</v2/_catalog?n=1&last=${encodeURIComponent(first.json.repositories[0])}>; rel="next"`);
    const rest = await anon.req('GET', `/v2/_catalog?last=${encodeURIComponent(first.json.repositories[0])}`);
    expect([...first.json.repositories, ...rest.json.repositories]).toEqual(all.json.repositories);
  });

  it('lists referrers (end-12a), filters them by artifactType (end-12b), and answers OCI-Subject on push', async () => {
    const subject = JSON.stringify(imageManifest([{ data: 'base layer' }], { annotations: { role: 'subject' } }));
    await admin.pushManifest(repo, 'subject', subject);
    const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(subject), size: Buffer.byteLength(subject) };
    const sig = JSON.stringify({ ...imageManifest([{ data: 'base layer' }]), artifactType: 'application/vnd.example.signature', subject: descriptor, annotations: { kind: 'sig' } });
    const sbom = JSON.stringify({ ...imageManifest([{ data: 'base layer' }]), artifactType: 'application/vnd.example.sbom', subject: descriptor });
    const p1 = await admin.pushManifest(repo, sha256(sig), sig);
    expect(p1.status).toBe(201);
    expect(p1.headers.get('oci-subject')).toBe(sha256(subject));
    await admin.pushManifest(repo, sha256(sbom), sbom);
    const all = await anon.req('GET', `/v2/${repo}/referrers/${sha256(subject)}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe(OCI_INDEX);
    expect(all.json.schemaVersion).toBe(2);
    expect(all.json.mediaType).toBe(OCI_INDEX);
    expect(all.json.manifests).toHaveLength(2);
    expect(all.json.manifests).toContainEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(sig),
      size: Buffer.byteLength(sig),
      artifactType: 'application/vnd.example.signature',
      annotations: { kind: 'sig' },
    });
    expect(all.headers.get('oci-filters-applied')).toBeNull();
    const sigs = await anon.req('GET', `/v2/${repo}/referrers/${sha256(subject)}?artifactType=application/vnd.example.sbom`);
    expect(sigs.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(sigs.json.manifests.map((m: { digest: string }) => m.digest)).toEqual([sha256(sbom)]);
    // A subject that is not there (yet) still answers 200 with an empty index; a bad digest is 400.
    const none = await anon.req('GET', `/v2/${repo}/referrers/${sha256('no subject')}`);
    expect(none.status).toBe(200);
    expect(none.json.manifests).toEqual([]);
    const bad = await anon.req('GET', `/v2/${repo}/referrers/sha256:nothex`);
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].code).toBe('DIGEST_INVALID');
    // A referrer pushed before its subject is accepted.
    const early = JSON.stringify({ ...imageManifest([{ data: 'base layer' }]), artifactType: 'application/vnd.example.early', subject: { ...descriptor, digest: sha256('later') } });
    expect((await admin.pushManifest(repo, sha256(early), early)).status).toBe(201);
    expect((await anon.req('GET', `/v2/${repo}/referrers/${sha256('later')}`)).json.manifests).toHaveLength(1);
  });

  it('deletes a tag, then a manifest by digest with the tags on it (end-9)', async () => {
    const m = JSON.stringify(imageManifest([{ data: 'base layer' }], { annotations: { del: 'yes' } }));
    await admin.pushManifest(repo, 'del1', m);
    await admin.pushManifest(repo, 'del2', m);
    const tag = await admin.req('DELETE', `/v2/${repo}/manifests/del1`);
    expect(tag.status).toBe(202);
    expect((await anon.req('GET', `/v2/${repo}/manifests/del1`)).status).toBe(404);
    expect((await anon.req('GET', `/v2/${repo}/manifests/del2`)).status).toBe(200);
    const byDigest = await admin.req('DELETE', `/v2/${repo}/manifests/${sha256(m)}`);
    expect(byDigest.status).toBe(202);
    const gone = await anon.req('GET', `/v2/${repo}/manifests/${sha256(m)}`);
    expect(gone.status).toBe(404);
    expect(gone.json.errors[0].code).toBe('MANIFEST_UNKNOWN');
    expect((await anon.req('GET', `/v2/${repo}/manifests/del2`)).status).toBe(404);
    const again = await admin.req('DELETE', `/v2/${repo}/manifests/${sha256(m)}`);
    expect(again.status).toBe(404);
    expect(again.json.errors[0].code).toBe('MANIFEST_UNKNOWN');
    expect((await anon.req('GET', `/v2/${repo}/tags/list`)).json.tags).not.toContain('del2');
  });

  it('deletes a blob from a repository (end-10) without touching other repositories', async () => {
    await admin.pushBlob(repo, 'to delete');
    await admin.pushBlob('admin/keeper', 'to delete');
    const del = await admin.req('DELETE', `/v2/${repo}/blobs/${sha256('to delete')}`);
    expect(del.status).toBe(202);
    const gone = await anon.req('GET', `/v2/${repo}/blobs/${sha256('to delete')}`);
    expect(gone.status).toBe(404);
    expect(gone.json.errors[0].code).toBe('BLOB_UNKNOWN');
    expect((await anon.req('GET', `/v2/admin/keeper/blobs/${sha256('to delete')}`)).body.toString()).toBe('to delete');
    const again = await admin.req('DELETE', `/v2/${repo}/blobs/${sha256('to delete')}`);
    expect(again.status).toBe(404);
    expect(again.json.errors[0].code).toBe('BLOB_UNKNOWN');
  });

  it('garbage-collects only blobs nothing uses: never one an upload or a manifest is using', async () => {
    const api = new Api(server.url, server.adminToken);
    // A manifest's layer, a blob deleted from its repository, and an upload in progress.
    await admin.pushBlob('admin/gc', 'kept layer');
    await admin.pushBlob('admin/gc', '{}');
    await admin.pushManifest('admin/gc', 'v1', imageManifest([{ data: 'kept layer' }]));
    await admin.pushBlob('admin/gc', 'orphan');
    await admin.req('DELETE', `/v2/admin/gc/blobs/${sha256('orphan')}`);
    const loc = (await admin.req('POST', '/v2/admin/gc/blobs/uploads/')).headers.get('location')!;
    await admin.req('PATCH', loc, 'in progress ', { 'content-range': '0-11', 'content-type': 'application/octet-stream' });

    const gc = await api.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 });
    expect(gc.status).toBe(200);
    expect(gc.body.removed).toContain(sha256('orphan'));
    expect(gc.body.removed).not.toContain(sha256('kept layer'));

    // The upload goes on and completes; the manifest's layer and the manifest are still there.
    await admin.req('PATCH', loc, 'and done', { 'content-range': '12-19', 'content-type': 'application/octet-stream' });
    const done = await admin.req('PUT', `${loc}?digest=${sha256('in progress and done')}`);
    expect(done.status).toBe(201);
    expect((await anon.req('GET', `/v2/admin/gc/blobs/${sha256('kept layer')}`)).body.toString()).toBe('kept layer');
    expect((await anon.req('GET', '/v2/admin/gc/manifests/v1')).status).toBe(200);
    // A freshly pushed blob no manifest uses yet is kept for the grace period.
    const graced = await api.req('POST', '/api/v1/admin/gc', { grace_seconds: 3600 });
    expect(graced.body.removed).not.toContain(sha256('in progress and done'));
    expect((await anon.req('GET', `/v2/admin/gc/blobs/${sha256('in progress and done')}`)).status).toBe(200);
    // Once the manifest is deleted, its layer is collectable (past the grace period).
    const v1 = (await anon.req('HEAD', '/v2/admin/gc/manifests/v1')).headers.get('docker-content-digest')!;
    expect((await admin.req('DELETE', `/v2/admin/gc/manifests/${v1}`)).status).toBe(202);
    await admin.req('DELETE', `/v2/admin/gc/blobs/${sha256('kept layer')}`);
    const after = await api.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 });
    expect(after.body.removed).toContain(sha256('kept layer'));
  });
});
