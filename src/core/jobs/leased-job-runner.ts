import { randomBytes } from 'node:crypto';
import { coalesced } from '../coalesced.js';
import { isoNow, type Clock } from '../time.js';

/** A store of leased jobs, as runners see it (the SQL side is `storage/sql/leased-jobs.ts`). */
export interface LeasedJobs {
  /** Jobs nobody holds (or whose lease ran out) that are still to be worked on, oldest first. */
  claimable(now: string, limit: number): Promise<string[]>;
  /** Takes the lease when the job is still claimable; false when another runner was faster. */
  claim(id: string, owner: string, now: string, until: string): Promise<boolean>;
  /** Extends the lease; false when it is no longer this owner's (taken over, or the job ended). */
  renew(id: string, owner: string, until: string): Promise<boolean>;
  release(id: string, owner: string): Promise<void>;
}

/** Thrown (or aborted with) to stop a job's work without it counting as a failure. */
export class JobStop extends Error {}

export interface LeasedJobRunnerOptions {
  store: LeasedJobs;
  clock: Clock;
  /** The runner's id starts so (`evr`, `msr`). */
  workerPrefix: string;
  /** How long a claimed job's lease lasts without renewal; renewed every third of it. */
  leaseMs: number;
  /** How often an idle runner looks for work besides being woken. */
  pollMs: number;
  /** Jobs one process drives at once. */
  maxConcurrent: number;
  /** Does one claimed job's work; `ac` is aborted (with a JobStop) when the job is cancelled, its lease lost or the runner stops. */
  drive(id: string, ac: AbortController): Promise<void>;
  /** Why the lease could not be renewed: what the job's work is aborted with. */
  whyNotHeld(id: string): Promise<JobStop>;
  /** Whether a job is still to be worked on: a woken runner aborts one it holds that is not. */
  stillActive(id: string): Promise<boolean>;
  onError?: (e: unknown, id: string) => void;
}

/**
 * Drives leased jobs off the request path, in every process: claims jobs nobody holds (one claimant
 * per job, however many processes), renews each lease while its work goes on, and releases it when
 * the work ends or stops, so a crashed or stopping runner's jobs are taken again by another.
 */
export class LeasedJobRunner {
  readonly workerId: string;
  private readonly active = new Map<string, { ac: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** Looks for work to claim; wake-ups while it looks coalesce into one more look. */
  private readonly pollOnce = coalesced(
    async () => {
      if (!this.stopped) await this.claimSome();
    },
    (e) => this.o.onError?.(e, ''),
  );

  constructor(private readonly o: LeasedJobRunnerOptions) {
    this.workerId = `${o.workerPrefix}_${randomBytes(8).toString('hex')}`;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.poll(), this.o.pollMs);
    this.timer.unref?.();
    this.poll();
  }

  /** A job was queued or cancelled: look now rather than at the next poll (a cancelled job held here stops at once). */
  wake(id: string): void {
    const a = this.active.get(id);
    if (a) {
      void this.o.stillActive(id).then(
        (active) => {
          if (!active) a.ac.abort(new JobStop('cancelled'));
        },
        () => undefined,
      );
    }
    this.poll();
  }

  /** Stops taking work and aborts the jobs in progress; their leases are released, so another runner goes on with them. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const { ac } of this.active.values()) ac.abort(new JobStop('shutdown'));
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private poll(): void {
    if (!this.stopped) this.pollOnce();
  }

  private async claimSome(): Promise<void> {
    const room = this.o.maxConcurrent - this.active.size;
    if (room <= 0) return;
    const now = isoNow(this.o.clock);
    for (const id of await this.o.store.claimable(now, room + this.active.size)) {
      if (this.stopped || this.active.size >= this.o.maxConcurrent || this.active.has(id)) continue;
      const until = new Date(Date.parse(now) + this.o.leaseMs).toISOString();
      if (await this.o.store.claim(id, this.workerId, now, until)) this.run(id);
    }
  }

  private run(id: string): void {
    const ac = new AbortController();
    const renew = setInterval(
      () => {
        const until = new Date(this.o.clock.now().getTime() + this.o.leaseMs).toISOString();
        void this.o.store.renew(id, this.workerId, until).then(
          async (held) => {
            if (!held) ac.abort(await this.o.whyNotHeld(id));
          },
          () => undefined,
        );
      },
      Math.max(50, Math.floor(this.o.leaseMs / 3)),
    );
    const done = this.o
      .drive(id, ac)
      .catch((e) => {
        if (!(e instanceof JobStop) && !ac.signal.aborted) this.o.onError?.(e, id);
      })
      .finally(async () => {
        clearInterval(renew);
        await this.o.store.release(id, this.workerId).catch(() => undefined);
        this.active.delete(id);
        this.poll();
      });
    this.active.set(id, { ac, done });
  }
}
