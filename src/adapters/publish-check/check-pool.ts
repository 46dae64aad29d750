import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PublishCheck } from '../../core/packages/publish-validation.js';
import { asBuffer, receivedError, type CheckReply, type CheckRequest } from './check-message.js';

interface Pending {
  resolve: (v: Awaited<ReturnType<PublishCheck>>) => void;
  reject: (e: unknown) => void;
  tarball: Buffer;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

const WORKER = fileURLToPath(new URL('./check-worker.js', import.meta.url));

/**
 * Publish checks (checkPublish: gunzip, untar, manifest parsing, secret scan: pure CPU work) run
 * in worker threads, so the event loop that answers requests and commits publishes spends none of
 * its time on them, and a second core can. A check goes to the worker with the fewest in flight;
 * its answer, or the error it threw, is what checkPublish would have given in this thread. A
 * worker that dies fails the checks it held (500) and is replaced on the next one.
 */
export class PublishCheckPool {
  private readonly slots: (Slot | undefined)[];
  private seq = 0;

  private constructor(size: number) {
    this.slots = Array.from({ length: size }, () => undefined);
  }

  /**
   * `size` workers (at least one), started when first needed; undefined when the worker program is
   * not built (running from TypeScript sources, as under the test runner): checks then stay in this thread.
   */
  static create(size: number): PublishCheckPool | undefined {
    if (size < 1 || !existsSync(WORKER)) return undefined;
    return new PublishCheckPool(size);
  }

  readonly check: PublishCheck = (id, input, limits) => {
    const slot = this.pick();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      slot.pending.set(seq, { resolve, reject, tarball: input.tarball });
      const req: CheckRequest = { seq, id: { scope: id.scope, name: id.name }, input, limits };
      try {
        slot.worker.postMessage(req);
      } catch (e) {
        slot.pending.delete(seq);
        reject(e);
      }
    });
  };

  /** Stops the workers; checks in flight fail. */
  async close(): Promise<void> {
    await Promise.all(this.slots.flatMap((s) => (s ? [s.worker.terminate()] : [])));
  }

  private pick(): Slot {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s) return (this.slots[i] = this.start(i));
      if (best < 0 || s.pending.size < this.slots[best]!.pending.size) best = i;
    }
    return this.slots[best]!;
  }

  private start(index: number): Slot {
    const worker = new Worker(WORKER);
    // Idle workers never keep the process alive.
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: CheckReply) => {
      const p = slot.pending.get(reply.seq);
      if (!p) return;
      slot.pending.delete(reply.seq);
      if ('error' in reply) return p.reject(receivedError(reply.error));
      const { contents } = reply.checked;
      p.resolve({ ...reply.checked, contents: { ...contents, tarball: reply.sameTarball || !contents.tarball ? p.tarball : asBuffer(contents.tarball) } });
    });
    const fail = (e: unknown): void => {
      if (this.slots[index] === slot) this.slots[index] = undefined;
      for (const p of slot.pending.values()) p.reject(e instanceof Error ? e : new Error(`the publish check worker stopped (${String(e)})`));
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the publish check worker exited with code ${code}`)));
    return slot;
  }
}
