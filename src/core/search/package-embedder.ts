import { randomBytes } from 'node:crypto';
import { Poller } from '../jobs/poller.js';
import type { Embedder } from '../embeddings/embedder.js';
import { isoNow, type Clock } from '../time.js';
import { embeddingText, textSha256 } from './embedding-text.js';
import type { EmbeddingJob, PackageVectorStore } from './package-vectors.js';

export interface PackageEmbedderDeps {
  store: PackageVectorStore;
  embedder: Embedder;
  /** The model the vectors are asked of (stored beside each, so a change of model re-embeds). */
  model: string;
  clock: Clock;
}

/** Packages embedded per request to the endpoint. */
const BATCH_SIZE = 16;
/** How often an idle embedder looks for queued packages besides being woken. */
const POLL_MS = 1_000;
/** Wait before a failed package is tried again; doubled for each further failure, at most MAX_BACKOFF_MS. */
const RETRY_BASE_MS = 5_000;
/** How long a lease on queued packages lasts: well past the endpoint's time limit (10 s). */
const LEASE_MS = 120_000;
const MAX_BACKOFF_MS = 3_600_000;

/**
 * Embeds queued packages off the request path, in every server process (the queue is the
 * `package_embeddings` outbox: a publish queues its package in its own transaction and wakes this
 * after commit; it never waits for the endpoint, and an endpoint that is down never fails a
 * publish). A batch is leased (one worker per row, however many processes), its texts sent in one
 * request through the Embedder port, and each vector stored; a text already embedded under the
 * same model is not sent again. A failed request leaves the rows queued, retried after
 * 5 s · 2^(failures-1) (at most an hour), however often it fails. At start, the backfill
 * queues every published package without a vector of the configured model.
 */
export class PackageEmbedder {
  readonly workerId = `pke_${randomBytes(8).toString('hex')}`;
  private running: Promise<void> = Promise.resolve();
  private readonly poller: Poller;

  constructor(
    private readonly deps: PackageEmbedderDeps,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    this.poller = new Poller(
      async () => {
        this.running = this.drain();
        await this.running;
      },
      POLL_MS,
      onError,
    );
  }

  /** Runs the backfill, then works the queue until stopped. */
  async start(): Promise<void> {
    if (!this.poller.isStopped) return;
    await this.deps.store.backfill(this.deps.model, isoNow(this.deps.clock));
    this.poller.start();
  }

  /** Packages were queued: look now rather than at the next poll. */
  wake(): void {
    this.poller.wake();
  }

  /** Stops looking for work; waits for the batch in flight. */
  async stop(): Promise<void> {
    this.poller.stop();
    await this.running.catch(() => undefined);
  }

  /** Embeds batches until none is due. */
  private async drain(): Promise<void> {
    while (!this.poller.isStopped) {
      const now = isoNow(this.deps.clock);
      const until = new Date(Date.parse(now) + LEASE_MS).toISOString();
      const jobs = await this.deps.store.claim(this.workerId, now, until, BATCH_SIZE);
      if (jobs.length === 0) return;
      await this.embedBatch(jobs);
    }
  }

  private async embedBatch(jobs: EmbeddingJob[]): Promise<void> {
    const { store, model } = this.deps;
    const texts = jobs.map((j) => embeddingText(j));
    const hashes = texts.map(textSha256);
    const at = () => isoNow(this.deps.clock);
    // Nothing to ask for a package without text, or whose text is embedded under this model already.
    const unchanged = (i: number) => texts[i] === '' || (jobs[i].storedModel === model && jobs[i].storedTextSha256 === hashes[i]);
    const ask = jobs.map((_, i) => i).filter((i) => !unchanged(i));
    let vectors: number[][] = [];
    if (ask.length > 0) {
      try {
        vectors = await this.deps.embedder.embed(ask.map((i) => texts[i]));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        for (const i of ask) {
          const wait = Math.min(MAX_BACKOFF_MS, RETRY_BASE_MS * 2 ** jobs[i].attempts);
          await store.fail(this.workerId, jobs[i], new Date(this.deps.clock.now().getTime() + wait).toISOString(), message.slice(0, 500));
        }
        for (let i = 0; i < jobs.length; i++) if (unchanged(i)) await this.keep(jobs[i], hashes[i], texts[i] === '', at());
        this.onError(e);
        return;
      }
    }
    const byJob = new Map(ask.map((i, n) => [i, vectors[n]]));
    for (let i = 0; i < jobs.length; i++) {
      const v = byJob.get(i);
      if (v) await store.save(this.workerId, jobs[i], { vector: Float32Array.from(v), model, textSha256: hashes[i], at: at() });
      else await this.keep(jobs[i], hashes[i], texts[i] === '', at());
    }
  }

  /** A job with nothing to ask: no text (its vector is dropped) or its vector is current (kept as it is). */
  private async keep(job: EmbeddingJob, hash: string, empty: boolean, at: string): Promise<void> {
    await this.deps.store.save(this.workerId, job, { vector: empty ? null : 'unchanged', model: this.deps.model, textSha256: hash, at });
  }
}
