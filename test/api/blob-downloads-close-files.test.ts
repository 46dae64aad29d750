import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient, bytePattern, sha256 } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Every way a blob download can go (whole, a range, HEAD, 304, the client going away mid-way, on
 * the OCI and the native door) closes the blob's file. A file left open is one Node closes on
 * garbage collection, with "Closing file descriptor N on garbage collection" and DEP0137, or never
 * (a server that runs out of descriptors). The server runs in this process: /proc/self/fd shows what
 * it holds open.
 */

/** This process's descriptors open on `file`. */
const openOn = (file: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed since the listing
    }
  }).length;

describe.runIf(process.platform === 'linux').each(testStores)('blob downloads close the blob file on every path (%s)', (store) => {
  let server: TestServer;
  let admin: OciClient;
  const repo = 'admin/fd-images';
  /** More than the sockets' buffers hold, so a client that stops reading stops the download mid-way. */
  const data = bytePattern(8 << 20, 5);
  const digest = sha256(data);
  const hex = digest.slice('sha256:'.length);
  let file: string;
  const closed = () => waitFor(`the blob file to be closed`, async () => (openOn(file) === 0 ? true : undefined), 20_000);

  /** A GET that reads the first bytes of the body, sees the file open on the server, and goes away. */
  const abandon = async (path: string): Promise<void> => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` }, agent: false }, resolve);
      req.once('error', reject).end();
    });
    expect(res.statusCode).toBe(200);
    await new Promise<void>((resolve) => res.once('readable', () => resolve()));
    // The check can fail: the server still has the file open, part-way through.
    expect(openOn(file)).toBe(1);
    res.destroy();
    await closed();
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new OciClient(server.url).withToken(server.adminToken);
    expect((await admin.pushBlob(repo, data)).status).toBe(201);
    file = `${server.dataDir}/blobs/sha256/${hex.slice(0, 2)}/${hex}`;
    expect(openOn(file)).toBe(0);
  });
  afterAll(() => server?.close());

  it('OCI door: a whole GET, a Range GET and a HEAD', async () => {
    const whole = await admin.req('GET', `/v2/${repo}/blobs/${digest}`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(data)).toBe(true);
    await closed();
    const range = await admin.req('GET', `/v2/${repo}/blobs/${digest}`, undefined, { range: 'bytes=1000-1999' });
    expect(range.status).toBe(206);
    expect(range.body.equals(data.subarray(1000, 2000))).toBe(true);
    await closed();
    const head = await admin.req('HEAD', `/v2/${repo}/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    await closed();
  });

  it('OCI door: a client that goes away mid-download', async () => {
    await abandon(`/v2/${repo}/blobs/${digest}`);
  });

  it('native door: a whole GET, a HEAD and a 304', async () => {
    const whole = await admin.req('GET', `/api/v1/blobs/${digest}`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(data)).toBe(true);
    await closed();
    const head = await admin.req('HEAD', `/api/v1/blobs/${digest}`);
    expect(head.status).toBe(200);
    await closed();
    const unchanged = await admin.req('GET', `/api/v1/blobs/${digest}`, undefined, { 'if-none-match': `"${digest}"` });
    expect(unchanged.status).toBe(304);
    await closed();
  });

  /** Bytes this process has read through read(2)/pread(2) so far, files and sockets alike (/proc/self/io). */
  const bytesRead = (): number => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

  it('native door: a HEAD answers with the blob size and never reads the blob', async () => {
    const before = bytesRead();
    const head = await admin.req('HEAD', `/api/v1/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect(head.headers.get('etag')).toBe(`"${digest}"`);
    // A HEAD that ran the GET would still be draining the file after its answer: wait until it is closed.
    await closed();
    // The server runs in this process: a HEAD that read the blob read all of its 8 MB here.
    expect(bytesRead() - before).toBeLessThan(data.length / 4);
  });

  it('native door: a client that goes away mid-download', async () => {
    await abandon(`/api/v1/blobs/${digest}`);
  });
});
