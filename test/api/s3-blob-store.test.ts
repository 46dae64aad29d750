import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../src/storage/blobs/s3-blob-store.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { OciClient, bytePattern as pattern, imageManifest, sha256, EMPTY_CONFIG } from '../helpers/oci.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

describe.each(testStores)('blobs in S3-compatible storage (s3rver stand-in) (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let dana: Api;
  let oci: OciClient;
  let bucket: S3BlobStore;
  const prefix = `agentry-${store}`;
  const path = '/api/v1/agents/@dana/notes';

  beforeAll(async () => {
    server = await startTestServer({ store, blobStore: s3.url(prefix), env: s3.env });
    admin = new Api(server.url, server.adminToken);
    dana = admin.with((await admin.req('POST', '/api/v1/users', { username: 'dana' })).body.token);
    oci = new OciClient(server.url).withToken(server.adminToken);
    // A second client on the same bucket and prefix: what the server stored, seen from outside.
    bucket = new S3BlobStore({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });
  /** Every key under a prefix of the test bucket. */
  const bucketKeys = async function* (under: string): AsyncIterable<string> {
    const page = await bucket.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: under }));
    for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
  };
  afterAll(async () => {
    bucket?.close();
    await server?.close();
  });

  it('publishes a package into the bucket and serves its tarball back from it', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      expect((await dana.publish(path, await agentTarball({ name: 'notes', version, scope: 'dana', readme: `# notes ${version}` }))).status).toBe(200);
    }
    const dl = await dana.req('GET', `${path}/download/1.1.0`);
    expect(dl.status).toBe(200);
    const digest = `sha256:${dl.body.sha256}`;
    const res = await fetch(dl.body.tarball_url);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${digest}"`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(digest);
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    // The blob is in the bucket, under <prefix>/sha256/<hex>, and nothing is in the data dir.
    expect((await bucket.stat(digest))?.size).toBe(body.length);
    expect(existsSync(join(server.dataDir, 'blobs'))).toBe(false);
    // Readiness probes the bucket with a write.
    const ready = await fetch(`${server.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { checks: expect.arrayContaining([{ name: 'blobs', ok: true }]) } });
    // Not-modified answers and unknown digests behave as on the filesystem.
    expect((await fetch(dl.body.tarball_url, { headers: { 'if-none-match': `"${digest}"` } })).status).toBe(304);
    expect((await dana.req('GET', `/api/v1/blobs/${sha256('nothing like it')}`)).status).toBe(404);
  });

  it('takes an OCI blob in chunks, commits it to the bucket at its digest and serves it whole and by range', async () => {
    const layer = pattern(3 * 1024 * 1024 + 17, 5);
    const repo = 'admin/s3-app';
    const start = await oci.req('POST', `/v2/${repo}/blobs/uploads/`);
    expect(start.status).toBe(202);
    let loc = start.headers.get('location')!;
    const chunk = 1024 * 1024;
    for (let at = 0; at < layer.length; at += chunk) {
      const part = layer.subarray(at, at + chunk);
      const r = await oci.req('PATCH', loc, part, { 'content-type': 'application/octet-stream', 'content-range': `${at}-${at + part.length - 1}` });
      expect(r.status).toBe(202);
      expect(r.headers.get('range')).toBe(`0-${at + part.length - 1}`);
      loc = r.headers.get('location')!;
    }
    // A wrong digest is refused and stores nothing.
    const wrong = await oci.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256('something else')}`);
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors[0].code).toBe('DIGEST_INVALID');
    expect(await bucket.stat(sha256('something else'))).toBeUndefined();
    const done = await oci.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256(layer)}`);
    expect(done.status).toBe(201);
    expect((await bucket.stat(sha256(layer)))?.size).toBe(layer.length);

    const whole = await oci.req('GET', `/v2/${repo}/blobs/${sha256(layer)}`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(layer)).toBe(true);
    const part = await oci.req('GET', `/v2/${repo}/blobs/${sha256(layer)}`, undefined, { range: 'bytes=1048570-1048585' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1048570-1048585/${layer.length}`);
    expect(part.body.equals(layer.subarray(1048570, 1048586))).toBe(true);
    const head = await oci.req('HEAD', `/v2/${repo}/blobs/${sha256(layer)}`);
    expect(head.headers.get('content-length')).toBe(String(layer.length));

    // A manifest over it (and the config pushed monolithically) keeps it through gc.
    expect((await oci.pushBlob(repo, '{}')).status).toBe(201);
    expect((await oci.pushManifest(repo, 'v1', imageManifest([{ data: layer }]))).status).toBe(201);
    expect(await bucket.stat(EMPTY_CONFIG.digest)).toBeDefined();
  });

  it('keeps an upload in progress in the bucket, so another process on the same database and bucket takes the next chunk', async () => {
    const other = await startTestServer({
      store,
      blobStore: s3.url(prefix),
      env: s3.env,
      adminToken: server.adminToken,
      // The same database (and secret key file); the upload's bytes are only in the bucket.
      dataDir: server.dataDir,
      ...(store === 'postgres' ? { postgresSchema: server.schema } : {}),
    });
    try {
      const data = pattern(2 * 1024 * 1024 + 3, 11);
      const repo = 'admin/s3-shared';
      const viaOther = new OciClient(other.url).withToken(server.adminToken);
      const loc = (await oci.req('POST', `/v2/${repo}/blobs/uploads/`)).headers.get('location')!;
      const first = await oci.req('PATCH', loc, data.subarray(0, 1024 * 1024), { 'content-type': 'application/octet-stream', 'content-range': `0-${1024 * 1024 - 1}` });
      expect(first.status).toBe(202);
      const id = loc.split('?')[0].split('/').pop()!;
      const parts: string[] = [];
      for await (const b of bucketKeys(`${prefix}/uploads/${id}/`)) parts.push(b);
      expect(parts).toEqual([`${prefix}/uploads/${id}/${'0'.repeat(16)}`, `${prefix}/uploads/${id}/session`]);
      expect(existsSync(join(server.dataDir, 'uploads'))).toBe(false);
      // The other process sees the progress, refuses a chunk out of place, takes the next one and finishes.
      const status = await viaOther.req('GET', loc);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe(`0-${1024 * 1024 - 1}`);
      const gap = await viaOther.req('PATCH', loc, data.subarray(1024 * 1024 + 1), { 'content-type': 'application/octet-stream', 'content-range': `${1024 * 1024 + 1}-${data.length - 1}` });
      expect(gap.status).toBe(416);
      const second = await viaOther.req('PATCH', loc, data.subarray(1024 * 1024), { 'content-type': 'application/octet-stream', 'content-range': `${1024 * 1024}-${data.length - 1}` });
      expect(second.status).toBe(202);
      expect(second.headers.get('range')).toBe(`0-${data.length - 1}`);
      const done = await oci.req('PUT', `${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256(data)}`);
      expect(done.status).toBe(201);
      expect((await viaOther.req('GET', `/v2/${repo}/blobs/${sha256(data)}`)).body.equals(data)).toBe(true);
      // The session's objects are gone once the blob is committed.
      const left: string[] = [];
      for await (const b of bucketKeys(`${prefix}/uploads/${id}/`)) left.push(b);
      expect(left).toEqual([]);
      expect((await viaOther.req('GET', loc)).status).toBe(404);
      // Referenced by a manifest, so the gc below keeps it.
      expect((await oci.pushManifest(repo, 'v1', imageManifest([{ data }]))).status).toBe(201);
    } finally {
      await other.close();
    }
  });

  it('collects garbage in the bucket: an unpublished version goes, everything referenced stays', async () => {
    const gone = `sha256:${(await dana.req('GET', `${path}/download/1.0.0`)).body.sha256}`;
    const kept = `sha256:${(await dana.req('GET', `${path}/download/1.1.0`)).body.sha256}`;
    expect((await dana.req('DELETE', `${path}/1.0.0`)).status).toBe(200);
    const dry = await admin.req('POST', '/api/v1/admin/gc', { dry_run: true, grace_seconds: 0 });
    expect(dry.status).toBe(200);
    expect(dry.body.removed).toEqual([gone]);
    expect(await bucket.stat(gone)).toBeDefined();
    const gc = await admin.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 });
    expect(gc.body).toMatchObject({ removed: [gone], dry_run: false });
    expect(gc.body.freed_bytes).toBeGreaterThan(0);
    expect(await bucket.stat(gone)).toBeUndefined();
    expect(await bucket.stat(kept)).toBeDefined();
    const listed: string[] = [];
    for await (const b of bucket.list()) listed.push(b.digest);
    const manifest = sha256(JSON.stringify(imageManifest([{ data: pattern(3 * 1024 * 1024 + 17, 5) }])));
    const shared = pattern(2 * 1024 * 1024 + 3, 11);
    const sharedManifest = sha256(JSON.stringify(imageManifest([{ data: shared }])));
    expect(listed.sort()).toEqual([kept, EMPTY_CONFIG.digest, sha256(pattern(3 * 1024 * 1024 + 17, 5)), manifest, sha256(shared), sharedManifest].sort());
    expect((await fetch(`${server.url}/api/v1/blobs/${gone}`)).status).toBe(404);
    expect((await admin.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 })).body.removed).toEqual([]);
    // No temporary object is left in the bucket.
    const tmp: string[] = [];
    for await (const k of bucket.temporaryKeys()) tmp.push(k);
    expect(tmp).toEqual([]);
    const uploads: string[] = [];
    for await (const k of bucketKeys(`${prefix}/uploads/`)) uploads.push(k);
    expect(uploads).toEqual([]);
  });
});

describe('blob store configuration', () => {
  it('refuses a URL with credentials in it, an unknown scheme or parameter, and a bucket that does not answer', async () => {
    await expect(startTestServer({ blobStore: 's3://AKIAEXAMPLE:secret@bucket/blobs', env: {} })).rejects.toThrow(/must not carry credentials.*AWS_ACCESS_KEY_ID/);
    await expect(startTestServer({ blobStore: 'gs://bucket/blobs' })).rejects.toThrow(/must start with s3:\/\/ or file:\/\//);
    await expect(startTestServer({ blobStore: 's3://bucket/blobs?endpont=http://x' })).rejects.toThrow(/unknown blob store URL parameter 'endpont'/);
    await expect(startTestServer({ blobStore: 's3://bucket/blobs?endpoint=ftp://x' })).rejects.toThrow(/endpoint must be an http\(s\) URL/);
    await expect(startTestServer({ blobStore: 's3://B_ad/blobs' })).rejects.toThrow(/invalid bucket name/);
    await expect(startTestServer({ blobStore: 's3://bucket/a//b' })).rejects.toThrow(/invalid prefix/);
    await expect(startTestServer({ blobStore: 's3://no-such-bucket/x?endpoint=' + encodeURIComponent(s3.endpoint) + '&forcePathStyle=true', env: s3.env })).rejects.toThrow(
      /s3:\/\/no-such-bucket\/x\/ cannot be listed: NoSuchBucket/,
    );
  });

  it('takes file:///path as a blob folder of its own', async () => {
    const root = mkdtempSync(join(tmpdir(), 'agentry-own-blobs-'));
    const server = await startTestServer({ blobStore: pathToFileURL(root).href });
    try {
      const admin = new Api(server.url, server.adminToken);
      const dana = admin.with((await admin.req('POST', '/api/v1/users', { username: 'dana' })).body.token);
      expect((await dana.publish('/api/v1/agents/@dana/files', await agentTarball({ name: 'files', version: '1.0.0', scope: 'dana' }))).status).toBe(200);
      expect(existsSync(join(server.dataDir, 'blobs'))).toBe(false);
      expect(readdirSync(join(root, 'sha256'))).toHaveLength(1);
    } finally {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
