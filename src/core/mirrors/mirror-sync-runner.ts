import { randomBytes } from 'node:crypto';
import { coalesced } from '../coalesced.js';
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

class Stop extends Error {}

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
  readonly workerId = `msr_${randomBytes(8).toString('hex')}`;
  private readonly active = new Map<string, { ac: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly o: Required<Omit<MirrorSyncRunnerOptions, 'onError'>> & Pick<MirrorSyncRunnerOptions, 'onError'>;
  private readonly pollOnce = coalesced(
    async () => {
      if (!this.stopped) await this.claimSome();
    },
    (e) => this.o.onError?.(e, ''),
  );

  constructor(
    private readonly deps: MirrorSyncRunnerDeps,
    opts: MirrorSyncRunnerOptions = {},
  ) {
    this.o = { leaseMs: opts.leaseMs ?? 30_000, pollMs: opts.pollMs ?? 1_000, maxConcurrent: opts.maxConcurrent ?? 2, onError: opts.onError };
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
      void this.deps.store.find(id).then(
        (r) => {
          if (r && r.status !== 'queued' && r.status !== 'running') a.ac.abort(new Stop('cancelled'));
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
    for (const { ac } of this.active.values()) ac.abort(new Stop('shutdown'));
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private now(): string {
    return isoNow(this.deps.clock);
  }

  private poll(): void {
    if (!this.stopped) this.pollOnce();
  }

  private async claimSome(): Promise<void> {
    if (this.active.size >= this.o.maxConcurrent) return;
    const now = this.now();
    for (const id of await this.deps.store.claimable(now, this.o.maxConcurrent + this.active.size)) {
      if (this.stopped || this.active.size >= this.o.maxConcurrent || this.active.has(id)) continue;
      const until = new Date(Date.parse(now) + this.o.leaseMs).toISOString();
      if (await this.deps.store.claim(id, this.workerId, now, until)) this.run(id);
    }
  }

  private run(id: string): void {
    const ac = new AbortController();
    const renew = setInterval(
      () => {
        const until = new Date(this.deps.clock.now().getTime() + this.o.leaseMs).toISOString();
        void this.deps.store.renew(id, this.workerId, until).then(
          (held) => {
            if (!held) ac.abort(new Stop('lease lost or cancelled'));
          },
          () => undefined,
        );
      },
      Math.max(50, Math.floor(this.o.leaseMs / 3)),
    );
    const done = this.drive(id, ac.signal)
      .catch((e) => {
        if (!(e instanceof Stop) && !ac.signal.aborted) this.o.onError?.(e, id);
      })
      .finally(async () => {
        clearInterval(renew);
        await this.deps.store.release(id, this.workerId).catch(() => undefined);
        this.active.delete(id);
        this.poll();
      });
    this.active.set(id, { ac, done });
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
