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
    if (!this.handle) {
      try {
        this.handle = await fs.open(this.path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing written there yet
        throw e;
      }
    }
    try {
      await (this.mode === 'full' ? this.handle.sync() : this.handle.datasync());
    } catch (e) {
      // Open afresh next time, whatever happened to this handle.
      await this.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close().catch(() => undefined);
  }
}
