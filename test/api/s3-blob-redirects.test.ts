import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { OciClient as AgentryOciClient } from '../../src/adapters/oci-client/index.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { OciClient, bytePattern as pattern, imageManifest, sha256 } from '../helpers/oci.js';
import { presignedUrlVerifies, startTestS3, type TestS3 } from '../helpers/s3.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

describe.each(testStores)('blob downloads redirected to presigned S3 URLs (s3rver stand-in) (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let dana: Api;
  let danaToken: string;
  let oci: OciClient;
  const path = '/api/v1/agents/@dana/secret-notes';

  beforeAll(async () => {
    server = await startTestServer({ store, blobStore: s3.url(), env: { ...s3.env, AGENTRY_BLOB_REDIRECTS: '2m' } });
    admin = new Api(server.url, server.adminToken);
    danaToken = (await admin.req('POST', '/api/v1/users', { username: 'dana' })).body.token;
    dana = admin.with(danaToken);
    oci = new OciClient(server.url).withToken(danaToken);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers a package download with 307 to a presigned URL only after the access check; the client follows it to the bytes', async () => {
    const tgz = await agentTarball({ name: 'secret-notes', version: '1.0.0', scope: 'dana' });
    expect((await dana.publish(path, tgz, { access: 'private' })).status).toBe(200);
    const dl = await dana.req('GET', `${path}/download/1.0.0`);
    const digest = `sha256:${dl.body.sha256}`;
    const url = dl.body.tarball_url as string;

    // Nobody else learns the URL: the same 404 as a missing digest, no Location.
    const anon = await fetch(url, { redirect: 'manual' });
    expect(anon.status).toBe(404);
    expect(anon.headers.get('location')).toBeNull();

    const auth = { authorization: `Bearer ${danaToken}` };
    const redirect = await fetch(url, { headers: auth, redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('cache-control')).toBe('no-store');
    expect(redirect.headers.get('etag')).toBeNull();
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(s3.endpoint);
    expect(location.pathname).toMatch(new RegExp(`^/${s3.bucket}/p-[0-9a-f]+/sha256/${digest.slice(7)}$`));
    expect(location.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    // A real client follows it (dropping the Agentry token at the other origin) and gets the bytes.
    const followed = await fetch(url, { headers: auth });
    expect(followed.status).toBe(200);
    // (Signed again for this request: the same object, a fresh signature.)
    expect(new URL(followed.url).origin + new URL(followed.url).pathname).toBe(location.origin + location.pathname);
    expect(followed.headers.get('content-type')).toBe('application/gzip');
    expect(followed.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const body = Buffer.from(await followed.arrayBuffer());
    expect(sha256(body)).toBe(digest);
    expect(body.equals(tgz)).toBe(true);

    // The URL is signed (signature v4) for that one object and lifetime: pointed at another blob or
    // made to last longer, the signature no longer holds, and S3 refuses it (s3rver does not check).
    expect(presignedUrlVerifies(location, s3.env.AWS_SECRET_ACCESS_KEY)).toBe(true);
    const other = new URL(location);
    other.pathname = other.pathname.replace(/[0-9a-f]{64}$/, sha256('another blob').slice(7));
    expect(presignedUrlVerifies(other, s3.env.AWS_SECRET_ACCESS_KEY)).toBe(false);
    const longer = new URL(location);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect(presignedUrlVerifies(longer, s3.env.AWS_SECRET_ACCESS_KEY)).toBe(false);
    // Past its lifetime, the store itself refuses it.
    const stale = new URL(location);
    stale.searchParams.set('X-Amz-Date', '20200101T000000Z');
    expect((await fetch(stale)).status).toBe(403);

    // What the server answers itself stays as it was: not-modified and HEAD.
    const notModified = await fetch(url, { headers: { ...auth, 'if-none-match': `"${digest}"` }, redirect: 'manual' });
    expect(notModified.status).toBe(304);
    const head = await fetch(url, { method: 'HEAD', headers: auth, redirect: 'manual' });
    expect(head.status).toBe(200);
    expect(head.headers.get('location')).toBeNull();
    expect(head.headers.get('content-length')).toBe(String(tgz.length));
  });

  it('redirects OCI blob GETs (Range kept by the client), answers HEAD and invalid ranges itself', async () => {
    const repo = 'dana/layers';
    const layer = pattern(2 * 1024 * 1024 + 5, 3);
    expect((await oci.pushBlob(repo, layer)).status).toBe(201);
    expect((await oci.pushBlob(repo, '{}')).status).toBe(201);
    expect((await oci.pushManifest(repo, 'v1', imageManifest([{ data: layer }]))).status).toBe(201);
    const blobUrl = `/v2/${repo}/blobs/${sha256(layer)}`;

    const redirect = await oci.req('GET', blobUrl);
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('docker-content-digest')).toBe(sha256(layer));
    expect(new URL(redirect.headers.get('location')!).origin).toBe(s3.endpoint);

    const auth = { authorization: `Bearer ${danaToken}` };
    const whole = await fetch(`${server.url}${blobUrl}`, { headers: auth });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(layer)).toBe(true);
    const part = await fetch(`${server.url}${blobUrl}`, { headers: { ...auth, range: 'bytes=1048570-1048585' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1048570-1048585/${layer.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(layer.subarray(1048570, 1048586))).toBe(true);

    const head = await fetch(`${server.url}${blobUrl}`, { method: 'HEAD', headers: auth, redirect: 'manual' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.length));
    expect(head.headers.get('docker-content-digest')).toBe(sha256(layer));
    const beyond = await fetch(`${server.url}${blobUrl}`, { headers: { ...auth, range: `bytes=${layer.length}-` }, redirect: 'manual' });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${layer.length}`);

    // A repository the caller may not pull (the private package's): the challenge, never a URL.
    const tarball = `/v2/dana/secret-notes/blobs/sha256:${(await dana.req('GET', `${path}/download/1.0.0`)).body.sha256}`;
    const stranger = await fetch(`${server.url}${tarball}`, { redirect: 'manual' });
    expect(stranger.status).toBe(401);
    expect(stranger.headers.get('location')).toBeNull();
    expect((await fetch(`${server.url}${tarball}`, { headers: auth, redirect: 'manual' })).status).toBe(307);

    // Agentry's own OCI client pulls the artifact through the redirects, verifying every digest.
    const host = new URL(server.url).host;
    const client = new AgentryOciClient({ credentials: { [host]: { username: 'dana', password: danaToken } } });
    const dir = mkdtempSync(join(tmpdir(), 'agentry-redirect-pull-'));
    try {
      const bytes = await client.fetchBlob(`${host}/${repo}`, { digest: sha256(layer), size: layer.length }, { toPath: join(dir, 'layer') });
      expect(bytes).toBeUndefined();
      expect(readFileSync(join(dir, 'layer')).equals(layer)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('blob redirect setting', () => {
  it('is off by default, takes on or a lifetime, and needs an S3 store', () => {
    const s3Url = 's3://bucket-x/p?endpoint=http://127.0.0.1:9&forcePathStyle=true';
    expect(resolveConfig({ blobStore: s3Url }, {}).blobRedirectSeconds).toBeNull();
    expect(resolveConfig({ blobStore: s3Url, blobRedirects: 'on' }, {}).blobRedirectSeconds).toBe(300);
    expect(resolveConfig({ blobStore: s3Url }, { AGENTRY_BLOB_REDIRECTS: '10m' }).blobRedirectSeconds).toBe(600);
    expect(resolveConfig({ blobStore: s3Url, blobRedirects: '90' }, {}).blobRedirectSeconds).toBe(90);
    expect(resolveConfig({ blobRedirects: 'off' }, {}).blobRedirectSeconds).toBeNull();
    expect(() => resolveConfig({ blobRedirects: 'on' }, {})).toThrow(/--blob-redirects needs an S3 blob store/);
    expect(() => resolveConfig({ blobStore: s3Url }, { AGENTRY_BLOB_REDIRECTS: 'sometimes' })).toThrow(/AGENTRY_BLOB_REDIRECTS must be off, on, or how long/);
    expect(() => resolveConfig({ blobStore: s3Url, blobRedirects: '8d' }, {})).toThrow(/--blob-redirects must be off, on/);
    expect(() => resolveConfig({ blobStore: s3Url, blobRedirects: '169h' }, {})).toThrow(/from 1 second to 7 days/);
  });
});
