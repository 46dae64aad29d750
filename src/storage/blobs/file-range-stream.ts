import type { promises as fs } from 'node:fs';
import { Readable, type Writable } from 'node:stream';

/** Bytes read from the file at a time: few, large reads and socket writes. */
const PIECE = 2 << 20;
const MIN_PIECE = 16 * 1024;
/** Pieces in flight when piped to a socket: one being written while the next is read. */
const PIECES_IN_FLIGHT = 2;

/**
 * An HTTP/1 server response (node:http's ServerResponse, what Fastify's `reply.raw` is), told apart
 * by its methods (the storage layer does not import the HTTP modules): its write callback runs once
 * the socket took the bytes, so a buffer written to it may be refilled then.
 */
const isHttp1Response = (dest: NodeJS.WritableStream): dest is NodeJS.WritableStream & Writable => {
  const d = dest as { assignSocket?: unknown; writeHead?: unknown };
  return typeof d.assignSocket === 'function' && typeof d.writeHead === 'function';
};

/**
 * Bytes `[start, end)` of an open file as a Readable, that closes the file when it ends or is destroyed.
 *
 * Read like any stream (events, async iteration, pipe to any Writable) each piece is a new buffer.
 * Piped to an HTTP/1 response (what `reply.send(stream)` and `pipeline(stream, res)` do), it
 * instead reads into a few buffers it reuses: each buffer is filled again only once the socket has
 * taken it (the write's callback), so a large download allocates nothing per piece and gives the
 * garbage collector nothing to do, however slowly the client reads. Nothing touches the bytes on the
 * way (no hashing, no copies in JavaScript): the file's pages go from `read` to the socket.
 */
export class FileRangeStream extends Readable {
  private pos: number;
  private readonly piece: number;
  private pumping = false;

  constructor(
    private readonly handle: fs.FileHandle,
    start: number,
    private readonly end: number,
  ) {
    const piece = Math.min(PIECE, Math.max(MIN_PIECE, end - start));
    super({ highWaterMark: piece });
    this.pos = start;
    this.piece = piece;
  }

  override _read(): void {
    const length = Math.min(this.piece, this.end - this.pos);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(length);
    this.readInto(buf, length).then(
      (n) => this.push(n === length ? buf : buf.subarray(0, n)),
      (e: Error) => this.destroy(e),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(err),
      (e: Error) => callback(err ?? e),
    );
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }): T {
    const untouched = !this.pumping && !this.destroyed && this.readableFlowing === null && this.readableLength === 0 && !this.readableDidRead;
    if (!untouched || !isHttp1Response(dest)) return super.pipe(dest, opts);
    this.pumping = true;
    void this.pump(dest, opts?.end !== false);
    return dest;
  }

  /** Reads the next `length` bytes at the current position into `buf`; a file shorter than promised is an error. */
  private async readInto(buf: Buffer, length: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buf, 0, length, this.pos);
    if (bytesRead === 0) throw new Error(`the file ended ${this.end - this.pos} bytes early`);
    this.pos += bytesRead;
    return bytesRead;
  }

  /**
   * The reused-buffer path of `pipe`: read, write, and refill a buffer only once its write completed.
   * When the destination closes first (the client went away) the stream is destroyed, which closes the file.
   */
  private async pump(dest: Writable, end: boolean): Promise<void> {
    let closed = dest.destroyed;
    let onClose: () => void = () => undefined;
    const destClosed = new Promise<void>((resolve) => {
      onClose = () => {
        closed = true;
        resolve();
      };
      if (closed) resolve();
      else dest.once('close', onClose);
    });
    const buffers: Buffer[] = [];
    const writes: (Promise<void> | undefined)[] = [];
    try {
      for (let i = 0; this.pos < this.end && !closed && !this.destroyed; i = (i + 1) % PIECES_IN_FLIGHT) {
        // The buffer is free once the socket took what was last written from it (or the socket is gone).
        if (writes[i]) await Promise.race([writes[i], destClosed]);
        if (closed || this.destroyed) break;
        const length = Math.min(this.piece, this.end - this.pos);
        buffers[i] ??= Buffer.allocUnsafeSlow(this.piece);
        const n = await this.readInto(buffers[i], length);
        if (closed || this.destroyed) break;
        const chunk = n === this.piece ? buffers[i] : buffers[i].subarray(0, n);
        writes[i] = new Promise<void>((resolve) => dest.write(chunk, () => resolve()));
      }
      await Promise.race([Promise.all(writes.filter((w) => w !== undefined)), destClosed]);
      if (closed) {
        this.destroy();
        return;
      }
      if (this.destroyed) return;
      // Done: the stream ends as a piped stream would ('end', then 'close' and the file closed).
      this.push(null);
      this.resume();
      if (end) dest.end();
    } catch (e) {
      this.destroy(e as Error);
    } finally {
      dest.removeListener('close', onClose);
    }
  }
}
