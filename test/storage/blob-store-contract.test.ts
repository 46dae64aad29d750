import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/core/blobs/blob-store.js';
import { FsBlobStore } from '../../src/storage/blobs/fs-blob-store.js';
import { S3BlobStore } from '../../src/storage/blobs/s3-blob-store.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';

/** A store under test, and how to see what a failed write may have left behind. */
interface Subject {
  store: BlobStore;
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

const subjects: Record<string, () => Promise<Subject>> = {
  filesystem: async () => {
    const root = mkdtempSync(join(tmpdir(), 'agentry-blobs-'));
    const store = await new FsBlobStore(root).init();
    return {
      store,
      leftovers: async () => readdirSync(join(root, 'tmp')),
      close: async () => {
        await store.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
  s3: async () => {
    const prefix = `contract-${Math.random().toString(36).slice(2)}`;
    // Two keys a page, so listing has to follow continuation tokens.
    const store = await new S3BlobStore({
      bucket: s3.bucket,
      prefix,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      listPageSize: 2,
    }).init();
    return {
      store,
      leftovers: async () => {
        const keys: string[] = [];
        for await (const k of store.temporaryKeys()) keys.push(k);
        return keys;
      },
      close: async () => store.close(),
    };
  },
};

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const bytes = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return b;
};
/** A stream of `data` in chunks of `chunk` bytes, optionally failing after `failAfter` bytes. */
const streamOf = (data: Buffer, chunk = 64 * 1024, failAfter?: number): Readable =>
  Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += chunk) {
        if (failAfter !== undefined && at >= failAfter) throw new Error('the client went away');
        yield data.subarray(at, at + chunk);
      }
    })(),
  );
const collect = async (r: Readable): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
};
const listed = async (store: BlobStore): Promise<Map<string, number>> => {
  const m = new Map<string, number>();
  for await (const b of store.list()) {
    expect(m.has(b.digest)).toBe(false);
    expect(b.modifiedAt).toBeInstanceOf(Date);
    m.set(b.digest, b.size);
  }
  return m;
};

describe.each(Object.keys(subjects))('the %s blob store', (name) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await subjects[name]();
  });
  afterAll(async () => {
    await subject?.close();
  });

  it('stores a buffer at its sha256 once, and says so the second time', async () => {
    const data = bytes(1000, 1);
    const first = await subject.store.put(data);
    expect(first).toEqual({ digest: sha(data), size: 1000, created: true });
    expect(await subject.store.put(Buffer.from(data))).toEqual({ digest: sha(data), size: 1000, created: false });
    expect(await subject.store.put(streamOf(data, 100))).toEqual({ digest: sha(data), size: 1000, created: false });
    expect((await subject.store.read(first.digest)).equals(data)).toBe(true);
    const info = await subject.store.stat(first.digest);
    expect(info?.size).toBe(1000);
    expect(info?.digest).toBe(first.digest);
  });

  it('streams a large body in, hashing on the way (a multipart upload on S3), and reads it back whole and by range', async () => {
    const data = bytes(20 * 1024 * 1024 + 123, 2);
    const put = await subject.store.put(streamOf(data, 256 * 1024));
    expect(put).toEqual({ digest: sha(data), size: data.length, created: true });
    expect((await collect(await subject.store.open(put.digest))).equals(data)).toBe(true);
    const start = 16 * 1024 * 1024 - 10;
    const end = 16 * 1024 * 1024 + 9;
    expect((await collect(await subject.store.open(put.digest, { start, end }))).equals(data.subarray(start, end + 1))).toBe(true);
    // A one-byte range (not bytes=0-0, which s3rver, the test stand-in, answers with the whole object).
    expect((await collect(await subject.store.open(put.digest, { start: 1, end: 1 }))).equals(data.subarray(1, 2))).toBe(true);
    expect(await subject.leftovers()).toEqual([]);
  });

  it('takes a probe write for readiness and leaves nothing of it', async () => {
    await subject.store.checkWritable();
    expect(await subject.leftovers()).toEqual([]);
  });

  it('stores an empty blob', async () => {
    const put = await subject.store.put(streamOf(Buffer.alloc(0)));
    expect(put).toEqual({ digest: sha(Buffer.alloc(0)), size: 0, created: put.created });
    expect((await subject.store.read(put.digest)).length).toBe(0);
    expect((await subject.store.stat(put.digest))?.size).toBe(0);
  });

  it('answers unknown and malformed digests with nothing, and refuses to open them', async () => {
    const missing = sha(Buffer.from('never stored'));
    expect(await subject.store.stat(missing)).toBeUndefined();
    expect(await subject.store.stat('sha256:xyz')).toBeUndefined();
    expect(await subject.store.stat('md5:abc')).toBeUndefined();
    await expect(subject.store.open(missing)).rejects.toThrow();
    await expect(subject.store.read(missing)).rejects.toThrow();
    expect(await subject.store.delete(missing)).toBe(false);
    expect(await subject.store.delete('sha256:../../etc')).toBe(false);
  });

  it('deletes a blob once', async () => {
    const data = bytes(300, 3);
    const { digest } = await subject.store.put(data);
    expect(await subject.store.delete(digest)).toBe(true);
    expect(await subject.store.stat(digest)).toBeUndefined();
    expect(await subject.store.delete(digest)).toBe(false);
    expect((await listed(subject.store)).has(digest)).toBe(false);
    // and takes it again afterwards
    expect((await subject.store.put(data)).created).toBe(true);
  });

  it('lists every blob with its size, across pages', async () => {
    const put = await Promise.all([4, 5, 6, 7, 8].map((seed) => subject.store.put(bytes(100 + seed, seed))));
    const all = await listed(subject.store);
    for (const p of put) expect(all.get(p.digest)).toBe(p.size);
    expect(all.size).toBeGreaterThanOrEqual(5);
  });

  it('stores one copy when the same content is put by many writers at once', async () => {
    const data = bytes(2 * 1024 * 1024, 9);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => subject.store.put(i % 2 ? streamOf(data, 128 * 1024) : Buffer.from(data))));
    for (const r of results) expect(r).toMatchObject({ digest: sha(data), size: data.length });
    expect(results.some((r) => r.created)).toBe(true);
    expect([...(await listed(subject.store)).keys()].filter((d) => d === sha(data))).toHaveLength(1);
    expect((await subject.store.read(sha(data))).equals(data)).toBe(true);
    expect(await subject.leftovers()).toEqual([]);
  });

  it('takes many small blobs at once (the file store syncs them as a group), each stored whole, one failing alone', async () => {
    const distinct = Array.from({ length: 24 }, (_, i) => bytes(200 + i * 37, 100 + i));
    const failing = bytes(300_000, 99);
    const puts = [...distinct, ...distinct.slice(0, 6)].map((d) => subject.store.put(Buffer.from(d)));
    const failed = expect(subject.store.put(streamOf(failing, 64 * 1024, 128 * 1024))).rejects.toThrow(/went away/);
    const results = await Promise.all(puts);
    await failed;
    results.forEach((r, i) => expect(r).toMatchObject({ digest: sha(distinct[i % distinct.length]), size: distinct[i % distinct.length].length }));
    for (const d of distinct) {
      const created = results.filter((r) => r.digest === sha(d) && r.created).length;
      // The file store renames one copy into place and answers the others as already there.
      if (name === 'filesystem') expect(created).toBe(1);
      else expect(created).toBeGreaterThanOrEqual(1);
      expect((await subject.store.read(sha(d))).equals(d)).toBe(true);
    }
    expect(await subject.store.stat(sha(failing))).toBeUndefined();
    expect(await subject.leftovers()).toEqual([]);
  });

  it('leaves nothing behind when the body fails half-way, small or multipart', async () => {
    const before = await listed(subject.store);
    for (const [size, failAfter] of [
      [500_000, 200_000],
      [40 * 1024 * 1024, 33 * 1024 * 1024],
    ]) {
      const data = bytes(size, 10 + size);
      await expect(subject.store.put(streamOf(data, 256 * 1024, failAfter))).rejects.toThrow(/went away/);
      expect(await subject.store.stat(sha(data))).toBeUndefined();
      expect(await subject.store.stat(sha(data.subarray(0, failAfter)))).toBeUndefined();
    }
    expect(await listed(subject.store)).toEqual(before);
    expect(await subject.leftovers()).toEqual([]);
  });
});
