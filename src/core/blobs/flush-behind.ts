/** What FlushBehind needs of an open file: node:fs's FileHandle has both. */
export interface SyncableFile {
  /** Flushes the file's data (not every piece of its metadata) to the disk. */
  datasync(): Promise<void>;
  /** Flushes the file's data and metadata to the disk. */
  sync(): Promise<void>;
}

/**
 * Bytes written to a file between two background datasyncs (see FlushBehind). Measured with
 * bench/flush-behind.mjs (1 GiB fed at 200 and 300 MiB/s, then fsynced; 3 rounds, load 3-8 on 2
 * CPUs): with none, the final fsync took 0.33-0.46 s of every GiB; with one every 32 MiB, 0.01-0.02 s
 * and about the same CPU (every 8 MiB: the same tail, 60-150 ms more CPU per GiB; every 128 MiB: a
 * 0.05 s tail, and a 100 MiB file would get no background flush at all).
 */
export const FLUSH_EVERY = 32 << 20;

/**
 * The rule by which a big file is written durably without waiting for all of its writeback at the
 * end (the core's: it does no I/O itself, it calls the file it is given; the blob folder and the
 * OCI client use it). Flushes a big file to the disk while it is still being written (an upload chunk in the server's
 * blob folder, a blob the OCI client pulls to a file), so that its writeback overlaps
 * whatever feeds the writes (the network) instead of all starting at the final fsync. Each time
 * `every` more bytes were written (`wrote`), a datasync of the file starts in the background, at
 * most one at once, and no write waits for it; `sync` then waits for it and fsyncs the file, which
 * has only the bytes since left to write. Durability is that of the final fsync alone: nothing is
 * acknowledged before `sync` resolves. A background datasync that fails is never swallowed: `wrote`
 * and `sync` throw its error from then on.
 */
export class FlushBehind {
  private written = 0;
  private flushedTo = 0;
  private running: Promise<void> | undefined;
  private failed: { error: unknown } | undefined;

  constructor(
    private readonly handle: SyncableFile,
    private readonly every = FLUSH_EVERY,
  ) {}

  /** Counts `n` more bytes written, and starts a background datasync when due; throws a failed one's error. */
  wrote(n: number): void {
    this.check();
    this.written += n;
    if (this.every <= 0 || this.running || this.written - this.flushedTo < this.every) return;
    this.flushedTo = this.written;
    this.running = this.handle
      .datasync()
      .catch((error: unknown) => void (this.failed ??= { error }))
      .finally(() => (this.running = undefined));
  }

  /** Waits for the background datasync; throws its error if one failed. */
  async settle(): Promise<void> {
    await this.running;
    this.check();
  }

  /** Resolves once everything written is on the disk (an fsync after the background datasyncs). */
  async sync(): Promise<void> {
    await this.settle();
    await this.handle.sync();
  }

  /** Waits for a background datasync still running, ignoring its outcome (before the file is closed after a failure). */
  async idle(): Promise<void> {
    await this.running;
  }

  private check(): void {
    if (this.failed) throw this.failed.error;
  }
}
