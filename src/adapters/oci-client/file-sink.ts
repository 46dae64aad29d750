import { Worker } from 'node:worker_threads';

/**
 * What the worker thread runs (CommonJS, given as source so that it needs no file of its own beside
 * the compiled client). Per download ("job"): full buffers come in transferred (not copied); each is
 * hashed here, in order, and queued to be written at its offset by the thread pool (`fs.write` with a
 * position, one at a time), so that the disk takes one buffer while the next is hashed. Once a buffer
 * is in the file it goes back (transferred again) with the bytes it held, to be filled anew; `end`
 * waits for the queue and answers the hex digest. After a failed write the job's other buffers go
 * back unwritten, with the error.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { write } = require('node:fs');
const jobs = new Map();
const giveBack = (id, m, error) => parentPort.postMessage({ id, bytes: m.length, buffer: m.buffer, error }, [m.buffer]);
const writeAll = (fd, bytes, position, done) =>
  write(fd, bytes, 0, bytes.length, position, (e, n) => {
    if (e) return done(e);
    if (n < bytes.length) return writeAll(fd, bytes.subarray(n), position + n, done);
    done(null);
  });
const answerEnd = (id, job) => {
  jobs.delete(id);
  parentPort.postMessage(job.error ? { id, error: job.error } : { id, digest: job.hash.digest('hex') });
};
// One write in flight per job: concurrent writes to one file only contend for its lock.
const writeNext = (id, job) => {
  const m = job.queue.shift();
  if (!m) {
    job.writing = false;
    if (job.ending) answerEnd(id, job);
    return;
  }
  if (job.error) {
    giveBack(id, m, job.error);
    return writeNext(id, job);
  }
  job.writing = true;
  const position = job.position;
  job.position += m.length;
  writeAll(job.fd, new Uint8Array(m.buffer, 0, m.length), position, (e) => {
    if (e && !job.error) job.error = { message: e.message, code: e.code };
    giveBack(id, m, job.error);
    writeNext(id, job);
  });
};
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    jobs.set(m.id, { fd: m.fd, hash: createHash(m.algorithm), position: 0, queue: [], writing: false, ending: false, error: undefined });
    return;
  }
  const job = jobs.get(m.id);
  if (m.type === 'data') {
    if (!job) return giveBack(m.id, m);
    if (!job.error) job.hash.update(new Uint8Array(m.buffer, 0, m.length));
    job.queue.push(m);
    if (!job.writing) writeNext(m.id, job);
  } else if (m.type === 'end' && job) {
    job.ending = true;
    if (!job.writing) answerEnd(m.id, job);
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

const errorOf = (e: { message: string; code?: string }): Error => Object.assign(new Error(e.message), e.code ? { code: e.code } : {});

/**
 * Bytes handed to the worker at once, and buffers per download: at most BUFFERS × BUFFER bytes wait for
 * the worker (hashing) or the disk before the download pauses. Few, large messages and writes.
 */
const BUFFER = 4 << 20;
const BUFFERS = 4;

/**
 * Writes a download to an open file (from offset 0) and hashes it on a worker thread, so that the
 * thread receiving from the network does neither: it only copies each piece into one of a few large
 * buffers, which go to the worker whole (transferred, not copied) and come back once written, to be
 * filled again; nothing is allocated per piece. Give pieces with `write` (await what it answers: it is
 * a promise only when every buffer is with the worker; the piece may be reused once it settles), then
 * `finish` for the digest (hex), or `abort` to stop. `onWritten` is told of each buffer once it is in
 * the file.
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
