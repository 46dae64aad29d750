import { randomBytes } from 'node:crypto';
import { promises as fs, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRangeStream } from '../../src/storage/blobs/file-range-stream.js';

const MB = 1 << 20;
let dir: string;
let path: string;
/** Larger than the stream's pieces, so its reused buffers are refilled many times over. */
const data = randomBytes(9 * MB + 12345);

/** A stream over `[start, end)` of the test file, and its file handle (to see that it gets closed). */
const openRange = async (start = 0, end = data.length, file = path) => {
  const handle = await fs.open(file, 'r');
  return { handle, stream: new FileRangeStream(handle, start, end) };
};

const collect = async (stream: AsyncIterable<Buffer>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
};

const closed = (stream: FileRangeStream) => (stream.closed ? Promise.resolve() : new Promise<void>((r) => stream.once('close', () => r())));

/** A real HTTP server on 127.0.0.1 whose one route answers with what `respond` pipes into it. */
const serve = async (respond: (res: import('node:http').ServerResponse) => void | Promise<void>): Promise<{ url: string; server: Server }> => {
  const server = createServer((_req, res) => void respond(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
};
const request = (url: string) => new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).once('error', reject));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentry-range-stream-'));
  path = join(dir, 'blob');
  writeFileSync(path, data);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FileRangeStream', () => {
  it('read as a stream: the whole file, a range, a one-byte range and an empty one, then the file is closed', async () => {
    for (const [start, end] of [
      [0, data.length],
      [MB - 7, 5 * MB + 3],
      [1, 2],
      [data.length, data.length],
    ]) {
      const { handle, stream } = await openRange(start, end);
      expect((await collect(stream)).equals(data.subarray(start, end))).toBe(true);
      await closed(stream);
      expect(handle.fd).toBe(-1);
    }
  });

  it('piped to an HTTP response, a client reading slowly gets every byte unchanged (a buffer is refilled only once the socket took it)', async () => {
    const { url, server } = await serve(async (res) => {
      const { stream } = await openRange(3, data.length - 5);
      res.writeHead(200, { 'content-length': data.length - 8 });
      stream.pipe(res);
    });
    try {
      const res = await request(url);
      const parts: Buffer[] = [];
      for await (const p of res) {
        parts.push(p as Buffer);
        // Stop reading now and then, so the server's socket fills up and its writes wait.
        if (parts.length % 40 === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(Buffer.concat(parts).equals(data.subarray(3, data.length - 5))).toBe(true);
    } finally {
      server.close();
    }
  });

  it('through pipeline() to an HTTP response: ends the response and closes the file', async () => {
    let served: FileRangeStream | undefined;
    let handleFd = 0;
    const { url, server } = await serve(async (res) => {
      const { stream, handle } = await openRange();
      served = stream;
      res.writeHead(200, { 'content-length': data.length });
      await pipeline(stream, res);
      handleFd = handle.fd;
    });
    try {
      expect((await collect((await request(url)) as AsyncIterable<Buffer>)).equals(data)).toBe(true);
      await closed(served!);
      await expect.poll(() => handleFd).toBe(-1);
    } finally {
      server.close();
    }
  });

  it('piped to anything else (a PassThrough read late): every piece is its own buffer, so nothing is overwritten', async () => {
    const { stream } = await openRange();
    const through = new PassThrough({ highWaterMark: 64 * MB });
    stream.pipe(through);
    await closed(stream);
    expect((await collect(through)).equals(data)).toBe(true);
  });

  it('a client that goes away mid-download: the stream is destroyed and the file closed', async () => {
    let served: { handle: import('node:fs').promises.FileHandle; stream: FileRangeStream } | undefined;
    const { url, server } = await serve(async (res) => {
      served = await openRange();
      res.writeHead(200, { 'content-length': data.length });
      served.stream.pipe(res);
    });
    try {
      const res = await request(url);
      await new Promise<void>((r) => res.once('data', () => r()));
      res.destroy();
      await expect.poll(() => served?.stream.destroyed).toBe(true);
      await closed(served!.stream);
      expect(served!.handle.fd).toBe(-1);
    } finally {
      server.close();
    }
  });

  it('a file shorter than the range promised: the stream fails and the client sees a cut response, not a short one passed as whole', async () => {
    const short = join(dir, 'short');
    writeFileSync(short, data.subarray(0, 3 * MB));
    let failure: Error | undefined;
    const { url, server } = await serve(async (res) => {
      const { stream } = await openRange(0, data.length, short);
      stream.once('error', (e) => {
        failure = e;
        res.destroy();
      });
      res.writeHead(200, { 'content-length': data.length });
      stream.pipe(res);
    });
    try {
      const res = await request(url);
      await expect(collect(res as AsyncIterable<Buffer>)).rejects.toThrow();
      expect(failure?.message).toMatch(/ended \d+ bytes early/);
    } finally {
      server.close();
    }
    const { stream } = await openRange(0, data.length, short);
    await expect(collect(stream)).rejects.toThrow(/ended \d+ bytes early/);
  });
});
