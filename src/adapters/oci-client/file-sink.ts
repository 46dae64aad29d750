import { Worker } from 'node:worker_threads';

/**
 * What the worker thread runs (CommonJS, given as source so that it needs no file of its own beside
 * the compiled client). Per download ("job"): full buffers come in transferred (not copied); each is
 * hashed and written at its offset by this thread (`writeSync`), a SLICE at a time: each slice is
 * written right after it is hashed, while its bytes are still in this core's cache (one trip from
 * memory for both), with no hop to the thread pool. The buffer then goes back (transferred again)
 * with the bytes it held, to be filled anew while the next one is hashed and written; `end` answers
 * the hex digest. After a failed write the job's other buffers go back
 * unwritten, with the error.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const SLICE = 256 * 1024;
const jobs = new Map();
const giveBack = (id, m, error) => parentPort.postMessage({ id, bytes: m.length, buffer: m.buffer, error }, [m.buffer]);
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    jobs.set(m.id, { fd: m.fd, hash: createHash(m.algorithm), position: 0, error: undefined });
    return;
  }
  const job = jobs.get(m.id);
  if (m.type === 'data') {
    if (!job || job.error) return giveBack(m.id, m, job && job.error);
    const bytes = new Uint8Array(m.buffer, 0, m.length);
    try {
      for (let at = 0; at < bytes.length; ) {
        const slice = bytes.subarray(at, Math.min(bytes.length, at + SLICE));
        job.hash.update(slice);
        for (let done = 0; done < slice.length; ) done += writeSync(job.fd, slice, done, slice.length - done, job.position + at + done);
        at += slice.length;
      }
      job.position += bytes.length;
    } catch (e) {
      job.error = { message: e.message, code: e.code };
    }
    giveBack(m.id, m, job.error);
  } else if (m.type === 'end' && job) {
    jobs.delete(m.id);
    parentPort.postMessage(job.error ? { id: m.id, error: job.error } : { id: m.id, digest: job.hash.digest('hex') });
  } else if (m.type === 'abort') {
    jobs.delete(m.id);
  }
});
`;

interface Reply {
  id: number;
  /** A buffer is back: it held this many bytes (written unless `error`). */
  bytes?: number;
  buffer?: ArrayBuffer;
  digest?: string;
  error?: { message: string; code?: string };
}

interface Job {
  onReply(reply: Reply): void;
  onFailure(e: Error): void;
}

/** One worker thread per process, started on first use, kept only while downloads use it. */
let worker: Worker | undefined;
const jobs = new Map<number, Job>();
let nextId = 1;

const workerFor = (): Worker => {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  const fail = (e: Error) => {
    if (worker === w) worker = undefined;
    for (const [id, job] of jobs) {
      jobs.delete(id);
      job.onFailure(e);
    }
  };
  w.on('message', (r: Reply) => jobs.get(r.id)?.onReply(r));
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the download worker thread stopped (exit code ${code})`)));
  w.unref();
  worker = w;
  return w;
};

/**
 * Starts the worker thread ahead of the first download to a file, so that it boots (tens of ms, more on
 * a busy machine) while the caller is still fetching a manifest rather than while a blob's bytes wait.
 * It stays unreferenced: a process that then downloads nothing exits as before.
 */
export const startFileSinkWorker = (): void => {
  workerFor();
};

const errorOf = (e: { message: string; code?: string }): Error => Object.assign(new Error(e.message), e.code ? { code: e.code } : {});

/**
 * Bytes handed to the worker at once, and buffers per download: at most BUFFERS × BUFFER bytes wait for
 * the worker (hashing and writing) before the download pauses. Few, large messages (256 a GiB: each
 * wakes the other thread); the worker works through a buffer in cache-sized slices.
 */
const BUFFER = 4 << 20;
const BUFFERS = 4;

/**
 * Writes a download to an open file (from offset 0) and hashes it on a worker thread, so that the
 * thread receiving from the network does neither: it only copies each piece into one of a few large
 * buffers, which go to the worker whole (transferred, not copied) and come back once written, to be
 * filled again; nothing is allocated per piece. Give pieces with `write` (await what it answers: it is
 * a promise only when every buffer is with the worker; the piece may be reused once it settles), then
 * `finish` for the digest (hex), or `abort` to stop.
 */
export class FileSink {
  private readonly id = nextId++;
  private readonly w: Worker;
  /** Buffers back from the worker, free to fill. */
  private readonly free: ArrayBuffer[] = [];
  private made = 0;
  /** The buffer being filled, and how much of it is. */
  private current: Uint8Array | undefined;
  private filled = 0;
  /** Buffers with the worker. */
  private out = 0;
  private failure: Error | undefined;
  private resumeWaiter: (() => void) | undefined;
  private ending: { resolve(hex: string): void; reject(e: Error): void } | undefined;
  /** Set while `abort` waits for the worker to give back this download's buffers. */
  private waitIdle: (() => void) | undefined;
  private done = false;

  constructor(
    fd: number,
    algorithm: string,
    /** Told of each buffer's bytes once they are in the file. */
    private readonly onWritten: (bytes: number) => void = () => undefined,
  ) {
    this.w = workerFor();
    if (jobs.size === 0) this.w.ref();
    jobs.set(this.id, { onReply: (r) => this.onReply(r), onFailure: (e) => this.fail(e) });
    this.w.postMessage({ type: 'start', id: this.id, fd, algorithm });
  }

  /** Copies a piece in; a promise to await (before the next piece) when the worker is behind. */
  write(piece: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    for (let at = 0; at < piece.length;) {
      if (!this.current) {
        const buffer = this.free.pop() ?? (this.made < BUFFERS ? (this.made++, new ArrayBuffer(BUFFER)) : undefined);
        if (!buffer) {
          const rest = piece.subarray(at);
          return new Promise<void>((resolve) => (this.resumeWaiter = resolve)).then(() => this.write(rest));
        }
        this.current = new Uint8Array(buffer);
      }
      const n = Math.min(piece.length - at, this.current.length - this.filled);
      this.current.set(n === piece.length ? piece : piece.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.current.length) this.flush();
    }
    return undefined;
  }

  /** Waits for every piece to be hashed and written: the digest (hex). */
  finish(): Promise<string> {
    this.flush();
    return new Promise<string>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.ending = { resolve, reject };
      this.w.postMessage({ type: 'end', id: this.id });
    });
  }

  /** Stops: the worker drops what it has not done yet; answers once no write of this download is left in flight. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.w.postMessage({ type: 'abort', id: this.id });
    await new Promise<void>((resolve) => {
      if (this.out === 0) return resolve();
      this.resumeWaiter = undefined;
      this.waitIdle = resolve;
    });
    this.close();
  }

  private flush(): void {
    if (!this.current || this.filled === 0) return;
    const buffer = this.current.buffer as ArrayBuffer;
    this.w.postMessage({ type: 'data', id: this.id, buffer, length: this.filled }, [buffer]);
    this.out += 1;
    this.current = undefined;
    this.filled = 0;
  }

  private onReply(r: Reply): void {
    if (r.bytes !== undefined) {
      this.out -= 1;
      if (r.buffer) this.free.push(r.buffer);
      if (r.error) this.failure ??= errorOf(r.error);
      else this.onWritten(r.bytes);
      if (this.out === 0 && this.waitIdle) this.waitIdle();
      if (this.resumeWaiter) {
        const resume = this.resumeWaiter;
        this.resumeWaiter = undefined;
        resume();
      }
      return;
    }
    if (r.error) this.failure ??= errorOf(r.error);
    const ending = this.ending;
    this.ending = undefined;
    this.close();
    if (!ending) return;
    if (this.failure) ending.reject(this.failure);
    else ending.resolve(r.digest ?? '');
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.done = true;
    this.resumeWaiter?.();
    this.waitIdle?.();
    this.ending?.reject(e);
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    jobs.delete(this.id);
    if (jobs.size === 0) this.w.unref();
  }
}
