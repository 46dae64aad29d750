import { promises as fs } from 'node:fs';

/**
 * Syncs of one file or directory shared by whoever asks at once: `sync()` resolves once
 * everything written to it before the call is on disk, and callers that arrive while a sync runs
 * share the next one. The file is opened once and kept open (SQLite rewinds its WAL, never
 * replaces it; a directory stays). `mode`: 'data' (fdatasync, a file's contents) or 'full' (fsync:
 * a directory's entries, e.g. after a rename into it).
 */
export class CoalescedSync {
  private inflight: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private handle: fs.FileHandle | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly mode: 'data' | 'full' = 'data',
  ) {}

  /** Resolves once everything written before this call is on disk. */
  sync(): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.syncNow().finally(() => {
        this.inflight = undefined;
      });
      return this.inflight;
    }
    // The running sync may have started before this caller's write: wait for the one after it.
    this.next ??= this.inflight.then(() => {
      this.next = undefined;
      return this.sync();
    });
    return this.next;
  }

  private async syncNow(): Promise<void> {
    let handle = this.handle;
    if (!handle) {
      try {
        handle = await fs.open(this.path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing written there yet
        throw e;
      }
      if (this.closed) {
        // Closed meanwhile (or before: a write that was in flight when its owner closed): sync once,
        // and close the file now rather than keep a handle nothing would ever close.
        try {
          await this.syncWith(handle);
        } finally {
          await handle.close().catch(() => undefined);
        }
        return;
      }
      this.handle = handle;
    }
    try {
      await this.syncWith(handle);
    } catch (e) {
      // Open afresh next time, whatever happened to this handle.
      if (this.handle === handle) this.handle = undefined;
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  private syncWith(handle: fs.FileHandle): Promise<void> {
    return this.mode === 'full' ? handle.sync() : handle.datasync();
  }

  /** Closes the kept-open file; a sync asked for afterwards opens it, syncs and closes it again. */
  async close(): Promise<void> {
    this.closed = true;
    const h = this.handle;
    this.handle = undefined;
    await h?.close().catch(() => undefined);
  }
}
