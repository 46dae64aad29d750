import { Worker } from 'node:worker_threads';

/**
 * What the worker thread runs (CommonJS, given as source so that it needs no file of its own beside
 * the compiled client). Per download ("job"): pieces come in transferred (not copied), each is hashed
 * and written at the file's next offset; every batch is acknowledged with the bytes it wrote; `end`
 * answers the hex digest. A failed write stops the job's writing and is answered at the next message.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    jobs.set(m.id, { fd: m.fd, hash: createHash(m.algorithm), error: undefined });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'data') {
    let bytes = 0;
    for (const piece of m.pieces) {
      bytes += piece.length;
      if (job.error) continue;
      try {
        job.hash.update(piece);
        for (let at = 0; at < piece.length; ) at += writeSync(job.fd, piece, at, piece.length - at);
      } catch (e) {
        job.error = { message: e.message, code: e.code };
      }
    }
    parentPort.postMessage({ id: m.id, bytes, error: job.error });
  } else if (m.type === 'end') {
    jobs.delete(m.id);
    parentPort.postMessage(job.error ? { id: m.id, error: job.error } : { id: m.id, digest: job.hash.digest('hex') });
  } else if (m.type === 'abort') {
    jobs.delete(m.id);
  }
});
`;

interface Reply {
  id: number;
  bytes?: number;
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

/** Pieces sent to the worker at once (fewer messages), and bytes that may wait there before the download pauses. */
const BATCH = 1 << 20;
const IN_FLIGHT = 16 << 20;

/**
 * Writes a download to an open file and hashes it on a worker thread, so that the thread receiving
 * from the network does neither: it only hands each piece over (transferred, not copied). The bytes are
 * written in order from the file's current offset. Give pieces with `write` (await what it answers: it
 * is a promise only when too much waits for the worker), then `finish` for the digest (hex), or
 * `abort` to stop. `onWritten` is told of each batch once it is in the file.
 */
export class FileSink {
  private readonly id = nextId++;
  private readonly w: Worker;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private resumeWaiter: (() => void) | undefined;
  private ending: { resolve(hex: string): void; reject(e: Error): void } | undefined;
  /** Set while `abort` waits for the worker to be done with this download's pieces. */
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

  /** Hands a piece over (the caller must not use it afterwards); a promise to await when the worker is behind. */
  write(piece: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.batch.push(piece);
    this.batchBytes += piece.length;
    if (this.batchBytes >= BATCH) this.flush();
    if (this.inFlight < IN_FLIGHT) return undefined;
    return new Promise<void>((resolve) => (this.resumeWaiter = resolve)).then(() => {
      if (this.failure) throw this.failure;
    });
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
      if (this.inFlight === 0) return resolve();
      this.resumeWaiter = undefined;
      this.waitIdle = resolve;
    });
    this.close();
  }

  private flush(): void {
    if (this.batchBytes === 0) return;
    // A piece that is a whole ArrayBuffer is moved to the worker; any other is copied first (a view
    // must not carry a larger buffer along, nor take it from whoever else uses it).
    // (Uint8Array's slice copies; a Buffer's own slice would be another view.)
    const pieces = this.batch.map((p) => (p.byteOffset === 0 && p.byteLength === p.buffer.byteLength && p.buffer instanceof ArrayBuffer ? p : Uint8Array.prototype.slice.call(p)));
    this.w.postMessage(
      { type: 'data', id: this.id, pieces },
      pieces.map((p) => p.buffer as ArrayBuffer),
    );
    this.inFlight += this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
  }

  private onReply(r: Reply): void {
    if (r.bytes !== undefined) {
      this.inFlight -= r.bytes;
      if (r.error) this.failure ??= errorOf(r.error);
      else this.onWritten(r.bytes);
      if (this.inFlight === 0 && this.waitIdle) this.waitIdle();
      if (this.inFlight < IN_FLIGHT && this.resumeWaiter) {
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
