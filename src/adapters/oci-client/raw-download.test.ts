import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../../scripts/self-signed-certificate.mjs';
import { downloadFetch, takeRawBody } from './raw-download.js';

describe('downloadFetch', () => {
  let server: Server;
  let base: string;
  const big = randomBytes(5 * (1 << 20) + 123);

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') return void res.writeHead(200, { 'content-length': big.length, 'x-seen-auth': req.headers.authorization ?? '' }).end(big);
      if (req.url === '/gone') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      if (req.url === '/moved') return void res.writeHead(307, { location: '/big', 'content-length': 0 }).end();
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(big.subarray(0, 1000));
        return void res.end(big.subarray(1000, 3000));
      }
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('answers a 200 with its headers and leaves the body to takeRawBody, piece by piece, pausing while the taker waits', async () => {
    const res = await downloadFetch(`${base}/big`, { headers: { authorization: 'Bearer t' } });
    expect([res.status, res.headers.get('x-seen-auth'), res.headers.get('content-length')]).toEqual([200, 'Bearer t', String(big.length)]);
    const raw = takeRawBody(res)!;
    expect(raw.length).toBe(big.length);
    expect(takeRawBody(res)).toBeUndefined();
    const pieces: Buffer[] = [];
    let waits = 0;
    await raw.each((piece) => {
      // The piece is copied before the promise settles: the buffer is reused once it does.
      pieces.push(Buffer.from(piece));
      if (pieces.length % 2 === 0) return undefined;
      waits += 1;
      return new Promise<void>((r) => setTimeout(r, 2));
    });
    expect(waits).toBeGreaterThan(0);
    expect(Buffer.concat(pieces).equals(big)).toBe(true);
  });

  it('reads other answers into memory: an error body, a redirect', async () => {
    const gone = await downloadFetch(`${base}/gone`);
    expect(gone.status).toBe(404);
    expect(takeRawBody(gone)).toBeUndefined();
    expect(await gone.json()).toEqual({ errors: [{ code: 'BLOB_UNKNOWN' }] });
    const moved = await downloadFetch(`${base}/moved`);
    expect([moved.status, moved.headers.get('location')]).toEqual([307, '/big']);
  });

  it('asks again through node:http for a body without a length (chunked)', async () => {
    const res = await downloadFetch(`${base}/chunked`);
    expect(res.status).toBe(200);
    expect(takeRawBody(res)).toBeUndefined();
    expect(Buffer.from(await res.arrayBuffer()).equals(big.subarray(0, 3000))).toBe(true);
  });

  it('fails a taker that throws, and refuses header values with line breaks', async () => {
    const raw = takeRawBody(await downloadFetch(`${base}/big`))!;
    await expect(
      raw.each(() => {
        throw new Error('enough');
      }),
    ).rejects.toThrow('enough');
    await expect(downloadFetch(`${base}/big`, { headers: { 'x-a': 'b\r\nx-evil: 1' } })).rejects.toThrow(TypeError);
  });

  it('fails a response head with a header name Headers refuses, instead of throwing inside the read', async () => {
    const bad = createNetServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nbad header(): 1\r\ncontent-length: 3\r\n\r\nabc'));
    });
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    const port = (bad.address() as AddressInfo).port;
    try {
      await expect(downloadFetch(`http://127.0.0.1:${port}/big`)).rejects.toThrow('fetch failed');
    } finally {
      await new Promise<void>((r) => bad.close(() => r()));
    }
  });

  it('fails with the shape of fetch when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(downloadFetch(`http://127.0.0.1:${port}/big`)).rejects.toThrow('fetch failed');
  });
});

describe('downloadFetch over https', () => {
  const tlsModule = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
  const createSecureContext = tlsModule.createSecureContext;
  const big = randomBytes(3 * (1 << 20) + 321);
  let dir: string;
  let server: HttpsServer;
  let base: string;
  let cert: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-raw-tls-'));
    const files = selfSignedCertificate(dir);
    cert = readFileSync(files.cert, 'utf8');
    server = createHttpsServer({ key: readFileSync(files.key), cert }, (req, res) => {
      if (req.url === '/big') return void res.writeHead(200, { 'content-length': big.length }).end(big);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    tlsModule.createSecureContext = createSecureContext;
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a certificate nothing trusts (verification stays on)', async () => {
    await expect(downloadFetch(`${base}/big`)).rejects.toThrow('fetch failed');
  });

  it('reads a trusted 200 raw from the TLS socket, every byte in order, also what comes after the taker asked to wait', async () => {
    // What NODE_EXTRA_CA_CERTS does for a user: the certificate joins the default trust.
    tlsModule.createSecureContext = (options) => {
      const c = createSecureContext(options);
      (c.context as { addCACert(pem: string): void }).addCACert(cert);
      return c;
    };
    try {
      const res = await downloadFetch(`${base}/big`);
      const raw = takeRawBody(res)!;
      expect(raw.length).toBe(big.length);
      const pieces: Buffer[] = [];
      // A TLS socket hands over records it already decrypted after the read callback paused it: they
      // must wait for the taker, never reach it while its last promise is pending nor overwrite the
      // piece it still holds.
      let pending = false;
      let overlaps = 0;
      // Every other piece is copied only once the wait is over (it is valid until then), as FileSink does.
      let n = 0;
      await raw.each((piece) => {
        if (pending) overlaps += 1;
        n += 1;
        if (n % 2 === 0) return void pieces.push(Buffer.from(piece));
        pending = true;
        return new Promise<void>((r) => setTimeout(r, 1)).then(() => {
          pieces.push(Buffer.from(piece));
          pending = false;
        });
      });
      expect(overlaps).toBe(0);
      expect(Buffer.concat(pieces).equals(big)).toBe(true);
      const gone = await downloadFetch(`${base}/gone`);
      expect([gone.status, takeRawBody(gone)]).toEqual([404, undefined]);
      expect(await gone.json()).toEqual({ errors: [{ code: 'BLOB_UNKNOWN' }] });
    } finally {
      tlsModule.createSecureContext = createSecureContext;
    }
  });
});
