import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsync, openSync, promises as fs, renameSync, rmSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, ByteRange } from '../../core/blobs/blob-store.js';
import { CoalescedSync } from '../files/coalesced-sync.js';
import { FlushBehind } from '../../core/blobs/flush-behind.js';
import { FileRangeStream } from './file-range-stream.js';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

/** Blobs up to this size, given as a buffer, are written with few thread-pool round trips (see putSmall). */
const SMALL_BLOB = 256 * 1024;

const fsyncFd = promisify(fsync);

/**
 * Blobs as files under `<root>/sha256/<2 hex>/<64 hex>`. A write goes to `<root>/tmp/`,
 * is fsynced, then renamed into place (atomic on one filesystem) and its folder fsynced, the syncs
 * shared by the writes in flight at once (see settle); a failed write leaves nothing behind.
 * Identical content is stored once.
 */
export class FsBlobStore implements BlobStore {
  private readonly tmpDir: string;
  /**
   * The blob folders made so far, each with its directory sync: kept open and shared by the
   * renames into it that land at once (at most 256 folders).
   */
  private readonly dirs = new Map<string, CoalescedSync>();
  private closed = false;
  /** Written files waiting for the next group sync, and the one running (see settle). */
  private pending: QueuedWrite[] = [];
  private settling: Promise<void> | undefined;

  constructor(private readonly root: string) {
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<this> {
    await fs.mkdir(join(this.root, 'sha256'), { recursive: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
    // Leftovers of writes interrupted by a crash are never referenced: clear them.
    for (const name of await fs.readdir(this.tmpDir)) await fs.rm(join(this.tmpDir, name), { force: true });
    return this;
  }

  /** Writes, syncs and removes a probe file where blobs are written first: the store takes writes now. */
  async checkWritable(): Promise<void> {
    const probe = join(this.tmpDir, `probe-${Date.now()}-${randomBytes(8).toString('hex')}`);
    try {
      const handle = await fs.open(probe, 'wx', 0o644);
      try {
        await handle.writeFile('ready\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
    } finally {
      await fs.rm(probe, { force: true });
    }
  }

  async put(data: Buffer | Readable): Promise<{ digest: string; size: number; created: boolean }> {
    if (Buffer.isBuffer(data) && data.length <= SMALL_BLOB) return this.putSmall(data);
    const tmp = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(tmp, 'wx', 0o644);
      if (Buffer.isBuffer(data)) {
        hash.update(data);
        size = data.length;
        await handle.writeFile(data);
      } else {
        // Through the handle itself: a write stream given its descriptor closes it when the body
        // fails, and the handle's close below would then close whatever file took that number since.
        // A big blob is flushed to the disk while it arrives; settle's fsync has only the rest left.
        const flush = new FlushBehind(handle);
        try {
          for await (const chunk of data as AsyncIterable<Buffer>) {
            hash.update(chunk);
            size += chunk.length;
            for (let at = 0; at < chunk.length;) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
            flush.wrote(chunk.length);
          }
        } finally {
          await flush.idle();
        }
        await flush.settle();
      }
      const digest = `sha256:${hash.digest('hex')}`;
      const final = this.pathOf(digest);
      const dir = await this.dirOf(final);
      const settled = this.settle({ handle, tmp, final, dir });
      handle = undefined; // the batch closes it
      const created = await settled;
      return { digest, size, created };
    } catch (e) {
      await handle?.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * A small blob (a package's tarball), as durably as any other but with two thread-pool round
   * trips instead of seven: creating, writing and closing a small file, checking whether the blob
   * exists and renaming are page-cache and journal operations done in this thread (as the embedded
   * store's writes are), while the file's fsync and its folder's (shared with the other puts into
   * that folder at once) wait on the disk in the thread pool. The check and the rename run with no
   * await between them, so of concurrent puts of the same bytes exactly one creates the blob; every
   * put, creating or not, resolves only after the folder entry is on disk.
   */
  private async putSmall(data: Buffer): Promise<{ digest: string; size: number; created: boolean }> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const final = this.pathOf(digest);
    const dir = await this.dirOf(final);
    const tmp = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    let fd: number | undefined = openSync(tmp, 'wx', 0o644);
    let renamed = false;
    try {
      for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
      await fsyncFd(fd);
      closeSync(fd);
      fd = undefined;
      const created = !existsSync(final);
      if (created) {
        renameSync(tmp, final);
        renamed = true;
      } else rmSync(tmp, { force: true });
      await dir.sync();
      return { digest, size: data.length, created };
    } catch (e) {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // the write failed already: that is the error to report
        }
      }
      if (!renamed) rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Makes a written temporary file a blob, durably, together with the other puts that arrive
   * meanwhile (group sync): the batch's files are synced at once, then each is renamed into place
   * (or dropped when that blob exists already), then each folder that took a file is synced once.
   * Every put resolves only after its file and its folder entry are on disk, as when each synced
   * alone, but concurrent puts share the filesystem's journal commits and the thread pool.
   */
  private settle(write: PendingWrite): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ ...write, resolve, reject });
      if (!this.settling) this.settling = this.settleAll().finally(() => (this.settling = undefined));
    });
  }

  private async settleAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      // Each step settles every write of the batch; one that fails is refused alone.
      const failed = new Map<QueuedWrite, unknown>();
      await Promise.all(
        batch.map(async (w) => {
          try {
            await w.handle.sync();
          } catch (e) {
            failed.set(w, e);
          } finally {
            await w.handle.close().catch(() => undefined);
          }
        }),
      );
      // Renamed into place one by one per blob (the same bytes twice in a batch are stored once).
      const created = new Map<QueuedWrite, boolean>();
      const byFinal = new Map<string, QueuedWrite[]>();
      for (const w of batch) if (!failed.has(w)) byFinal.set(w.final, [...(byFinal.get(w.final) ?? []), w]);
      await Promise.all(
        [...byFinal.values()].map(async (same) => {
          for (const w of same) {
            try {
              if (await exists(w.final)) {
                await fs.rm(w.tmp, { force: true });
                created.set(w, false);
              } else {
                await fs.rename(w.tmp, w.final);
                created.set(w, true);
              }
            } catch (e) {
              failed.set(w, e);
            }
          }
        }),
      );
      const dirs = new Set(batch.filter((w) => created.get(w)).map((w) => w.dir));
      await Promise.all(
        [...dirs].map((d) =>
          d.sync().catch((e: unknown) => {
            for (const w of batch) if (w.dir === d && created.get(w)) failed.set(w, e);
          }),
        ),
      );
      for (const w of batch) {
        if (!failed.has(w)) {
          w.resolve(created.get(w)!);
          continue;
        }
        if (!created.has(w)) await fs.rm(w.tmp, { force: true }).catch(() => undefined);
        w.reject(failed.get(w));
      }
    }
  }

  /**
   * Takes a synced file whose sha256 the caller verified to be `digest` as that blob, by renaming
   * it into place (the file is gone afterwards either way when it succeeds). Undefined, and the file
   * left where it is, when it is on another filesystem (the caller copies it with `put` instead).
   */
  async adopt(path: string, digest: string): Promise<{ size: number } | undefined> {
    const final = this.pathOf(digest);
    const existing = await this.stat(digest);
    if (existing) {
      await fs.rm(path, { force: true });
      return { size: existing.size };
    }
    const dir = await this.dirOf(final);
    try {
      await fs.rename(path, final);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EXDEV') return undefined;
      throw e;
    }
    await dir.sync();
    return { size: (await fs.stat(final)).size };
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    if (!DIGEST.test(digest)) return undefined;
    try {
      const s = await fs.stat(this.pathOf(digest));
      return { digest, size: s.size, modifiedAt: s.mtime };
    } catch {
      return undefined;
    }
  }

  /** The blob's bytes (or a range of them); see FileRangeStream for how they reach a socket. */
  async open(digest: string, range?: ByteRange): Promise<Readable> {
    const handle = await fs.open(this.pathOf(digest), 'r');
    try {
      const { size } = await handle.stat();
      return new FileRangeStream(handle, range ? range.start : 0, range ? Math.min(range.end + 1, size) : size);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  async read(digest: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(digest));
  }

  async delete(digest: string): Promise<boolean> {
    if (!DIGEST.test(digest)) return false;
    try {
      await fs.unlink(this.pathOf(digest));
      return true;
    } catch {
      return false;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    const base = join(this.root, 'sha256');
    for (const prefix of await fs.readdir(base)) {
      for (const name of await fs.readdir(join(base, prefix))) {
        const digest = `sha256:${name}`;
        if (!DIGEST.test(digest)) continue;
        const info = await this.stat(digest);
        if (info) yield info;
      }
    }
  }

  /** The folder a blob file goes in, made the first time, and its (shared) directory sync. */
  private async dirOf(file: string): Promise<CoalescedSync> {
    const path = dirname(file);
    let dir = this.dirs.get(path);
    if (!dir) {
      await fs.mkdir(path, { recursive: true });
      dir = this.dirs.get(path) ?? new CoalescedSync(path, 'full');
      // After close (a write that was in flight), the folder's sync keeps no handle open.
      if (this.closed) void dir.close();
      else this.dirs.set(path, dir);
    }
    return dir;
  }

  /** Closes the folders' kept-open handles; a write still in flight syncs its folder without keeping one. */
  async close(): Promise<void> {
    this.closed = true;
    const dirs = [...this.dirs.values()];
    this.dirs.clear();
    await Promise.all(dirs.map((d) => d.close()));
  }

  private pathOf(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new Error(`invalid digest ${digest}`);
    return join(this.root, 'sha256', m[1].slice(0, 2), m[1]);
  }
}

/** A blob written to a temporary file, not yet synced: its handle (open), where it goes, and that folder's sync. */
interface PendingWrite {
  handle: fs.FileHandle;
  tmp: string;
  final: string;
  dir: CoalescedSync;
}

interface QueuedWrite extends PendingWrite {
  resolve(created: boolean): void;
  reject(e: unknown): void;
}

const exists = async (p: string): Promise<boolean> =>
  fs.access(p).then(
    () => true,
    () => false,
  );
