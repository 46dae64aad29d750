import { randomBytes } from 'node:crypto';
import { coalesced } from '../coalesced.js';
import type { Clock } from '../time.js';
import type { LeasedJobs } from './leased-job-runner.js';

export interface PeriodicJobOptions {
  /** The store's leases of periodic jobs: `claim` of the job's row (`storage/sql/leased-jobs.ts`). */
  leases: Pick<LeasedJobs, 'claim'>;
  clock: Clock;
  /** The job's row. */
  id: string;
  /** The runner's id starts so. */
  workerPrefix: string;
  /** How long after one run (its start) the next is due: the lease a run is claimed with. */
  periodMs: number;
  /** How often each process asks whether a run is due; the first time one such interval after start. */
  checkMs: number;
  /** One run; `signal` is aborted when the runner stops (the run ends early; the next period does it again). */
  run(signal: AbortSignal): Promise<void>;
  onError?: (e: unknown) => void;
}

/**
 * Runs a store's upkeep once a period, in one process of several: every process asks now and then
 * whether the job's lease ran out and claims it for the next period if so (a conditional update:
 * of two processes asking at once only one gets it); the claimant runs it. The lease is not given
 * back when the run ends: it is what says when the next run is due, whichever process does it.
 */
export class PeriodicJob {
  readonly workerId: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private ac: AbortController | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly check: () => void;

  constructor(private readonly o: PeriodicJobOptions) {
    this.workerId = `${o.workerPrefix}_${randomBytes(8).toString('hex')}`;
    this.check = coalesced(
      async () => {
        if (this.stopped) return;
        const now = this.o.clock.now();
        const until = new Date(now.getTime() + this.o.periodMs).toISOString();
        if (!(await this.o.leases.claim(this.o.id, this.workerId, now.toISOString(), until)) || this.stopped) return;
        const ac = new AbortController();
        this.ac = ac;
        this.running = this.o.run(ac.signal).finally(() => {
          this.ac = undefined;
        });
        await this.running;
      },
      (e) => this.o.onError?.(e),
    );
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.check(), this.o.checkMs);
    this.timer.unref?.();
  }

  /** Asks now whether a run is due (and runs it here if this process gets it). */
  wake(): void {
    if (!this.stopped) this.check();
  }

  /** Stops asking and aborts a run in progress; resolves once it ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.ac?.abort();
    await this.running.catch(() => undefined);
  }
}
