import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/storage/blobs/fs-blob-store.js';
import { CoalescedSync } from '../../src/storage/files/coalesced-sync.js';

/**
 * The files and folders under `root` this process holds open, from /proc/self/fd: a handle left
 * open here is one Node closes on garbage collection ("Closing file descriptor N on garbage
 * collection", DEP0137), or never.
 */
const openUnder = (root: string): string[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target === root || target.startsWith(`${root}/`) ? [target] : [];
    } catch {
      return []; // closed since the listing (the listing's own descriptor, for one)
    }
  });

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** Blobs whose digests start with different bytes, so they go in different folders. */
const blobs = (n: number): Buffer[] => Array.from({ length: n }, () => randomBytes(1000));

const root = mkdtempSync(join(tmpdir(), 'agentry-fd-handles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.runIf(process.platform === 'linux')('file handles are closed, not left to the garbage collector', () => {
  it('the blob store keeps its folders open while it runs, and closes every one when it is closed', async () => {
    const dir = join(root, 'store');
    const store = await new FsBlobStore(dir).init();
    const data = blobs(8);
    for (const b of data) expect((await store.put(b)).digest).toBe(sha(b));
    // The check sees the folder handles the store keeps (so it can fail)...
    expect(openUnder(dir).length).toBeGreaterThan(0);
    await store.close();
    // ...and none is left once it is closed.
    expect(openUnder(dir)).toEqual([]);
  });

  it('a write in flight when the blob store closes lands and is synced, and leaves no folder open', async () => {
    const dir = join(root, 'closing');
    const store = await new FsBlobStore(dir).init();
    const data = blobs(4);
    const puts = data.map((b) => store.put(b));
    // Closed while the writes are still going to their temporary files, before their folders' syncs.
    await store.close();
    expect(await Promise.all(puts)).toEqual(data.map((b) => ({ digest: sha(b), size: 1000, created: true })));
    for (const b of data) expect((await store.read(sha(b))).equals(b)).toBe(true);
    expect(openUnder(dir)).toEqual([]);
  });

  it('a sync whose file is being opened when it is closed closes that file; a sync after close opens and closes it again', async () => {
    const file = join(root, 'synced');
    writeFileSync(file, 'bytes');
    const sync = new CoalescedSync(file);
    const running = sync.sync();
    await sync.close();
    await running;
    expect(openUnder(file)).toEqual([]);
    await sync.sync();
    expect(openUnder(file)).toEqual([]);
    // Before close, the file stays open between syncs (that is the point), and close closes it.
    const kept = new CoalescedSync(file);
    await kept.sync();
    expect(openUnder(file)).toEqual([file]);
    await kept.close();
    expect(openUnder(file)).toEqual([]);
  });
});
