import { JobStop as Stop, LeasedJobRunner } from '../jobs/leased-job-runner.js';
import { isAgentryError } from '../errors.js';
import { isoNow, type Clock } from '../time.js';
import type { MirrorStore } from './mirror.js';
import type { MirrorSyncers, MirrorSyncPatch, MirrorSyncStore } from './mirror-sync.js';

export interface MirrorSyncRunnerDeps {
  store: MirrorSyncStore;
  mirrors: MirrorStore;
  syncers: MirrorSyncers;
  clock: Clock;
}

export interface MirrorSyncRunnerOptions {
  /** How long a claimed job's lease lasts without renewal (default 30 s); renewed every third of it. */
  leaseMs?: number;
  /** How often an idle runner looks for work besides being woken (default 1 s). */
  pollMs?: number;
  /** Jobs one process drives at once (default 2: a sync is mostly waiting on its upstream). */
  maxConcurrent?: number;
  onError?: (e: unknown, jobId: string) => void;
}

/** What a job's failure says: the error's own message, never a stack. */
const messageOf = (e: unknown): string => (isAgentryError(e) || e instanceof Error ? e.message : String(e)).slice(0, 2000);

/**
 * Drives mirror sync jobs in every server process, through the leased-job store: a runner claims a
 * queued or running job nobody holds (one claimant per job, however many processes), renews the
 * lease while the kind's syncer works and stores each progress report with its checkpoint under the
 * lease. A job whose process died is claimed again once its lease runs out and resumes from its
 * checkpoint; a cancelled job (its status changed under the lease) aborts its syncer; a stopping
 * server aborts its syncers and releases their leases, for another process (or its next start).
 */
export class MirrorSyncRunner {
  private readonly jobs: LeasedJobRunner;

  constructor(
    private readonly deps: MirrorSyncRunnerDeps,
    opts: MirrorSyncRunnerOptions = {},
  ) {
    this.jobs = new LeasedJobRunner({
      store: deps.store,
      clock: deps.clock,
      workerPrefix: 'msr',
      leaseMs: opts.leaseMs ?? 30_000,
      pollMs: opts.pollMs ?? 1_000,
      maxConcurrent: opts.maxConcurrent ?? 2,
      drive: (id, ac) => this.drive(id, ac.signal),
      whyNotHeld: async () => new Stop('lease lost or cancelled'),
      stillActive: async (id) => {
        const r = await deps.store.find(id);
        return !r || r.status === 'queued' || r.status === 'running';
      },
      onError: opts.onError,
    });
  }

  get workerId(): string {
    return this.jobs.workerId;
  }

  start(): void {
    this.jobs.start();
  }

  /** A job was queued or cancelled: look now rather than at the next poll (a cancelled job held here stops at once). */
  wake(id: string): void {
    this.jobs.wake(id);
  }

  /** Stops taking work and aborts the jobs in progress; their leases are released, so another runner goes on with them. */
  stop(): Promise<void> {
    return this.jobs.stop();
  }

  private now(): string {
    return isoNow(this.deps.clock);
  }

  /** A write under the lease; refused (the job was cancelled or taken over): this run stops. */
  private async write(id: string, patch: Omit<MirrorSyncPatch, 'updatedAt'>): Promise<void> {
    if (!(await this.deps.store.update(id, this.workerId, { ...patch, updatedAt: this.now() }))) throw new Stop('the job is no longer held');
  }

  private async drive(id: string, signal: AbortSignal): Promise<void> {
    const job = await this.deps.store.find(id);
    if (!job || (job.status !== 'queued' && job.status !== 'running')) return;
    const fail = (error: string) => this.write(id, { status: 'failed', phase: 'finished', error, finishedAt: this.now() });
    const mirror = await this.deps.mirrors.find(job.mirror);
    if (!mirror) return fail(`the mirror ${job.mirror} was removed`);
    const syncer = this.deps.syncers[mirror.kind];
    if (!syncer) return fail(`this server has no syncer for ${mirror.kind} mirrors`);
    await this.write(id, { status: 'running', phase: job.total === null ? 'listing' : 'copying', ...(job.startedAt ? {} : { startedAt: this.now() }) });
    let checkpoint = job.checkpoint;
    let report;
    try {
      report = await syncer(mirror, {
        ...(job.filter !== null ? { filter: job.filter } : {}),
        ...(checkpoint !== null ? { checkpoint } : {}),
        signal,
        onProgress: async (p) => {
          if (signal.aborted) throw signal.reason;
          checkpoint = p.checkpoint;
          await this.write(id, { phase: p.total === null ? 'listing' : 'copying', done: p.done, total: p.total, checkpoint: p.checkpoint });
        },
      });
    } catch (e) {
      if (signal.aborted || e instanceof Stop) return;
      return fail(messageOf(e));
    }
    if (signal.aborted) return;
    await this.write(id, { status: 'succeeded', phase: 'finished', report, checkpoint: null, finishedAt: this.now() });
  }
}
