import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { FsBlobStore } from '../../src/storage/blobs/fs-blob-store.js';
import { FsUploadStore } from '../../src/storage/blobs/fs-upload-store.js';
import { FLUSH_EVERY } from '../../src/core/blobs/flush-behind.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('a verified upload becomes a blob by rename (one filesystem)', () => {
  const root = mkdtempSync(join(tmpdir(), 'agentry-adopt-'));
  const stores: FsBlobStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  });

  it('moves the upload into place, keeps a blob already there, and leaves no upload behind', async () => {
    const blobs = await new FsBlobStore(join(root, 'blobs')).init();
    stores.push(blobs);
    const uploads = await new FsUploadStore(join(root, 'uploads'), blobs).init();
    const data = Buffer.from('layer bytes '.repeat(1000));
    for (const round of [1, 2]) {
      const id = `upload-${round}-0123456789abcdef`;
      await uploads.create(id);
      await uploads.append(id, Readable.from([data.subarray(0, 100)]));
      await uploads.append(id, Readable.from([data.subarray(100)]));
      expect(await uploads.moveVerified(id, digestOf(data))).toEqual({ size: data.length });
      expect(await uploads.size(id)).toBeUndefined();
      expect(existsSync(join(root, 'uploads', id))).toBe(false);
    }
    expect((await blobs.read(digestOf(data))).equals(data)).toBe(true);
    const hex = digestOf(data).slice(7);
    expect(readFileSync(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex)).length).toBe(data.length);
    // Without a blob folder to move into, the caller copies instead.
    const alone = await new FsUploadStore(join(root, 'uploads-alone')).init();
    await alone.create('alone-0123456789abcdef');
    expect(await alone.moveVerified('alone-0123456789abcdef', digestOf(Buffer.alloc(0)))).toBeUndefined();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });
  const pieces = (b: Buffer) => Array.from({ length: Math.ceil(b.length / (1 << 20)) }, (_, i) => b.subarray(i << 20, (i + 1) << 20));

  it('appends large chunks whole and in order (several writevs and background flushes each), and a body that fails leaves the handle to close and the chunks before it intact', async () => {
    // A datasync every 2 MiB while a chunk arrives.
    const uploads = await new FsUploadStore(join(root, 'uploads-big'), undefined, 2 << 20).init();
    const id = 'big-0123456789abcdef';
    await uploads.create(id);
    // 20 MiB in 1 MiB pieces: more than one write's worth of pieces per chunk.
    const data = randomBytes(20 << 20);
    expect(await uploads.append(id, Readable.from(pieces(data.subarray(0, 12 << 20))))).toBe(12 << 20);
    expect(await uploads.append(id, Readable.from(pieces(data.subarray(12 << 20))))).toBe(data.length);
    const failing = Readable.from(
      (async function* () {
        yield* pieces(randomBytes(10 << 20));
        throw new Error('the client went away');
      })(),
    );
    await expect(uploads.append(id, failing)).rejects.toThrow('the client went away');
    await uploads.truncate(id, data.length);
    expect(await uploads.size(id)).toBe(data.length);
    expect(readFileSync(join(root, 'uploads-big', id)).equals(data)).toBe(true);
  });

  it('fails the append when a background flush of the chunk fails, and keeps the size acknowledged before', async () => {
    const uploads = await new FsUploadStore(join(root, 'uploads-eio'), undefined, 2 << 20).init();
    const id = 'eio-0123456789abcdef';
    await uploads.create(id);
    const first = randomBytes(1 << 20);
    expect(await uploads.append(id, Readable.from([first]))).toBe(first.length);
    // The disk refuses the datasyncs the store starts while the next chunk arrives (not its final fsync).
    const probe = await fs.open(join(root, 'uploads-eio', id), 'r');
    const handleProto = Object.getPrototypeOf(probe) as fs.FileHandle;
    await probe.close();
    const datasync = vi.spyOn(handleProto, 'datasync').mockRejectedValue(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(uploads.append(id, Readable.from(pieces(randomBytes(8 << 20))))).rejects.toThrow('EIO');
    expect(datasync).toHaveBeenCalled();
    datasync.mockRestore();
    // Not acknowledged: the caller truncates back to the size it last acknowledged, as after any failed body.
    await uploads.truncate(id, first.length);
    expect(readFileSync(join(root, 'uploads-eio', id)).equals(first)).toBe(true);
  });

  it('fails a streamed blob put when a background flush of it fails, and leaves no file behind', async () => {
    const blobs = await new FsBlobStore(join(root, 'blobs-eio')).init();
    stores.push(blobs);
    const probe = await fs.open(join(root, 'blobs-eio', 'probe'), 'w');
    const handleProto = Object.getPrototypeOf(probe) as fs.FileHandle;
    await probe.close();
    const datasync = vi.spyOn(handleProto, 'datasync').mockRejectedValue(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    // More than one flush interval (FLUSH_EVERY), in 1 MiB pieces.
    const piece = randomBytes(1 << 20);
    const body = Readable.from(Array.from({ length: (FLUSH_EVERY >> 20) * 2 + 1 }, () => piece));
    await expect(blobs.put(body)).rejects.toThrow('EIO');
    expect(datasync).toHaveBeenCalled();
    datasync.mockRestore();
    expect(readdirSync(join(root, 'blobs-eio', 'tmp'))).toEqual([]);
    expect(readdirSync(join(root, 'blobs-eio', 'sha256'))).toEqual([]);
  });
});
