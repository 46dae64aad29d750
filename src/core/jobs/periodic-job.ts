import { randomBytes } from 'node:crypto';
import { Poller } from './poller.js';
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
  private ac: AbortController | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly poller: Poller;

  constructor(private readonly o: PeriodicJobOptions) {
    this.workerId = `${o.workerPrefix}_${randomBytes(8).toString('hex')}`;
    this.poller = new Poller(
      async () => {
        const now = this.o.clock.now();
        const until = new Date(now.getTime() + this.o.periodMs).toISOString();
        if (!(await this.o.leases.claim(this.o.id, this.workerId, now.toISOString(), until)) || this.poller.isStopped) return;
        const ac = new AbortController();
        this.ac = ac;
        this.running = this.o.run(ac.signal).finally(() => {
          this.ac = undefined;
        });
        await this.running;
      },
      o.checkMs,
      (e) => this.o.onError?.(e),
      // The first check one interval after start.
      false,
    );
  }

  start(): void {
    this.poller.start();
  }

  /** Asks now whether a run is due (and runs it here if this process gets it). */
  wake(): void {
    this.poller.wake();
  }

  /** Stops asking and aborts a run in progress; resolves once it ended. */
  async stop(): Promise<void> {
    this.poller.stop();
    this.ac?.abort();
    await this.running.catch(() => undefined);
  }
}
