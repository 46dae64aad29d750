import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileSink } from './file-sink.js';
import { FLUSH_EVERY } from '../../core/blobs/flush-behind.js';
import { OciClient } from './oci-client.js';

const MB = 1 << 20;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentry-file-sink-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FileSink', () => {
  it('writes the pieces in order across its buffers and answers their digest; a piece is copied, so the caller may refill it', async () => {
    // 13 MiB + 321 bytes: more than the sink's buffers hold at once, so some pieces wait for one to come back.
    const data = randomBytes(13 * MB + 321);
    const path = join(dir, 'ok');
    const handle = await open(path, 'w');
    const sink = new FileSink(handle.fd, 'sha512');
    const first = new Uint8Array(data.subarray(0, 64 * 1024));
    await sink.write(first);
    // One buffer refilled for every piece (100,000 bytes, not a divisor of the sink's buffer size).
    const reused = new Uint8Array(100_000);
    for (let at = first.length; at < data.length; at += reused.length) {
      const piece = reused.subarray(0, Math.min(reused.length, data.length - at));
      piece.set(data.subarray(at, at + piece.length));
      await sink.write(piece);
    }
    const hex = await sink.finish();
    await handle.close();
    expect(hex).toBe(createHash('sha512').update(data).digest('hex'));
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(first.byteLength).toBe(64 * 1024); // the caller's buffer is its own still
  });

  it('a write that fails (a file open read-only) fails the download, and abort waits for what is in flight', async () => {
    const path = join(dir, 'read-only');
    writeFileSync(path, '');
    const handle = await open(path, 'r');
    const sink = new FileSink(handle.fd, 'sha256');
    await sink.write(new Uint8Array(2 * MB));
    await expect(sink.finish()).rejects.toMatchObject({ code: 'EBADF' });
    await handle.close();

    const other = await open(join(dir, 'aborted'), 'w');
    const stopped = new FileSink(other.fd, 'sha256');
    await stopped.write(new Uint8Array(3 * MB));
    await stopped.abort();
    await other.close();
  });
});

describe('fetchBlob to a file (large blobs go through FileSink)', () => {
  const good = randomBytes(6 * MB + 5);
  const digest = `sha256:${createHash('sha256').update(good).digest('hex')}`;
  // More than one background flush interval: the file is datasynced while it downloads.
  const big = randomBytes(FLUSH_EVERY + 5 * MB);
  const bigDigest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
  let server: Server;
  let host: string;
  beforeAll(async () => {
    // /v2/good/… answers the blob; /v2/bad/… the same size with one byte changed.
    server = createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      const body = req.url?.startsWith('/v2/big/') ? big : Buffer.from(good);
      if (req.url?.startsWith('/v2/bad/')) body[body.length >> 1] ^= 1;
      if (req.url?.startsWith('/v2/long/')) {
        // More bytes than the descriptor's size.
        res.writeHead(200, { 'content-length': body.length + 10, 'content-type': 'application/octet-stream' });
        return void res.end(Buffer.concat([body, Buffer.alloc(10)]));
      }
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
      if (req.url?.startsWith('/v2/cut/')) {
        // The connection breaks half-way through the body.
        return void res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      }
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('writes the verified blob in place, and leaves nothing when the bytes do not match the digest', async () => {
    const client = new OciClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    const target = join(dir, 'pulled.bin');
    await client.fetchBlob(`${host}/good/app`, { digest, size: good.length }, { toPath: target });
    expect(readFileSync(target).equals(good)).toBe(true);

    const bad = join(dir, 'bad.bin');
    await expect(client.fetchBlob(`${host}/bad/app`, { digest, size: good.length }, { toPath: bad })).rejects.toThrow(/hash to sha256:/);
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('bad.bin'))).toEqual([]);
  });

  it('a body longer than the descriptor or cut short fails the pull and leaves nothing', async () => {
    const client = new OciClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    const long = join(dir, 'long.bin');
    await expect(client.fetchBlob(`${host}/long/app`, { digest, size: good.length }, { toPath: long })).rejects.toThrow(/more than the \d+ bytes the descriptor says/);
    await expect(client.fetchBlob(`${host}/long/app`, { digest, size: good.length })).rejects.toThrow(/more than the \d+ bytes the descriptor says/);
    const cut = join(dir, 'cut.bin');
    await expect(client.fetchBlob(`${host}/cut/app`, { digest, size: good.length }, { toPath: cut })).rejects.toThrow(/connection broke during the download/);
    await expect(client.fetchBlob(`${host}/cut/app`, { digest, size: good.length })).rejects.toThrow(/connection broke during the download/);
    expect(readdirSync(dir).filter((n) => n.startsWith('long.bin') || n.startsWith('cut.bin'))).toEqual([]);
  });

  it('a blob larger than the flush interval is flushed while it downloads, and a flush that fails fails the pull and leaves nothing', async () => {
    const client = new OciClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    const target = join(dir, 'big.bin');
    await client.fetchBlob(`${host}/big/app`, { digest: bigDigest, size: big.length }, { toPath: target });
    expect(readFileSync(target).equals(big)).toBe(true);

    const probe = await open(target, 'r');
    const handleProto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const datasync = vi.spyOn(handleProto, 'datasync').mockRejectedValue(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    try {
      const failed = join(dir, 'big-eio.bin');
      await expect(client.fetchBlob(`${host}/big/app`, { digest: bigDigest, size: big.length }, { toPath: failed })).rejects.toThrow('EIO');
      expect(datasync).toHaveBeenCalled();
      expect(readdirSync(dir).filter((n) => n.startsWith('big-eio.bin'))).toEqual([]);
    } finally {
      datasync.mockRestore();
    }
  });

  it('with sync: false (a staging file) the blob is verified and renamed into place all the same', async () => {
    const client = new OciClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    const target = join(dir, 'staged.bin');
    await client.fetchBlob(`${host}/good/app`, { digest, size: good.length }, { toPath: target, sync: false });
    expect(readFileSync(target).equals(good)).toBe(true);

    const bad = join(dir, 'staged-bad.bin');
    await expect(client.fetchBlob(`${host}/bad/app`, { digest, size: good.length }, { toPath: bad, sync: false })).rejects.toThrow(/hash to sha256:/);
    expect(readdirSync(dir).filter((n) => n.startsWith('staged-bad.bin'))).toEqual([]);
  });
});

describe('prepareFileDownloads', () => {
  it('starts the writer thread without keeping a process alive that then downloads nothing, and a download after it works', async () => {
    // The compiled client (the test command builds first), in a process of its own: it must exit by itself.
    const client = new URL('../../../dist/adapters/oci-client/oci-client.js', import.meta.url).href;
    // A script file: a process given its code with -e exits when that code is done, even with a thread it holds.
    const script = join(dir, 'prepare-only.mjs');
    writeFileSync(script, `const { OciClient } = await import(${JSON.stringify(client)});\nnew OciClient().prepareFileDownloads();\nconsole.log('prepared');\n`);
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 }).trim()).toBe('prepared');

    const data = randomBytes(5 * MB + 7);
    const path = join(dir, 'prepared');
    new OciClient().prepareFileDownloads();
    const handle = await open(path, 'w');
    const sink = new FileSink(handle.fd, 'sha256');
    await sink.write(new Uint8Array(data));
    expect(await sink.finish()).toBe(createHash('sha256').update(data).digest('hex'));
    await handle.close();
    expect(readFileSync(path).equals(data)).toBe(true);
  });
});
