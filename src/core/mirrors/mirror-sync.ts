import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { conflict, notFound, unprocessable } from '../errors.js';
import { isoNow } from '../time.js';
import type { MirrorKind, MirrorRecord } from './mirror.js';
import type { MirrorService } from './mirror-service.js';

/** What a sync job changed in the mirror: names are the kind's (`team/app:1.0` for OCI). */
export interface MirrorSyncReport {
  added: string[];
  updated: string[];
  unchanged: number;
  removed: string[];
  failed: { name: string; error: string }[];
}

export const emptySyncReport = (): MirrorSyncReport => ({ added: [], updated: [], unchanged: 0, removed: [], failed: [] });

/** Whether a value read back from a checkpoint is a report (a syncer's checkpoint carries the report so far). */
export const isMirrorSyncReport = (v: unknown): v is MirrorSyncReport => {
  const r = v as Partial<MirrorSyncReport> | null;
  const names = (a: unknown): boolean => Array.isArray(a) && a.every((x) => typeof x === 'string');
  return (
    typeof r === 'object' &&
    r !== null &&
    names(r.added) &&
    names(r.updated) &&
    names(r.removed) &&
    Number.isSafeInteger(r.unchanged) &&
    Array.isArray(r.failed) &&
    r.failed.every((f: unknown) => typeof (f as { name?: unknown }).name === 'string' && typeof (f as { error?: unknown }).error === 'string')
  );
};

/** How far a syncer is: `total` is null while it still lists what there is; `checkpoint` is where a new run takes up. */
export interface MirrorSyncProgress {
  done: number;
  total: number | null;
  checkpoint: string;
}

export interface MirrorSyncOptions {
  /** The kind's filter, as the caller gave it (for OCI: `[repository[,repository…]][:tag pattern]`). */
  filter?: string;
  /**
   * Where an earlier run of this job (or a cancelled or failed job with the same filter) stopped: the
   * last `checkpoint` it reported. A syncer given one goes on from there without redoing what was
   * done, and answers the report of the whole sync, what was done before the checkpoint included
   * (so a checkpoint carries the report so far).
   */
  checkpoint?: string;
  /** Aborted when the job is cancelled, its lease is lost or the server stops: the syncer throws (or returns) soon after. */
  signal?: AbortSignal;
  /** Called as the work goes on (after each item): the runner stores the checkpoint, so a crash loses at most the item in progress. */
  onProgress?: (p: MirrorSyncProgress) => Promise<void> | void;
}

/**
 * The kind-specific work of a sync job: copy what the mirror's upstream has (within the filter) into
 * this registry. One per mirror kind, registered in {@link MirrorSyncers}; an item that fails is put
 * in `failed` and the sync goes on; a failure of the whole (the upstream unreachable while listing)
 * throws.
 */
export type MirrorSyncer = (mirror: MirrorRecord, opts: MirrorSyncOptions) => Promise<MirrorSyncReport>;

/** The syncer of each kind (`Registry` registers them: one line per kind); a kind without one cannot be synced (422). */
export type MirrorSyncers = Partial<Record<MirrorKind, MirrorSyncer>>;

export type MirrorSyncStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type MirrorSyncPhase = 'queued' | 'listing' | 'copying' | 'finished';

/** The statuses of a job still to be driven (one per mirror at a time, leased by one worker). */
export const ACTIVE_SYNC_STATUSES: readonly MirrorSyncStatus[] = ['queued', 'running'];

/** A sync job as stored. */
export interface MirrorSyncRecord {
  id: string;
  mirror: string;
  kind: MirrorKind;
  status: MirrorSyncStatus;
  filter: string | null;
  phase: MirrorSyncPhase;
  done: number;
  total: number | null;
  checkpoint: string | null;
  report: MirrorSyncReport | null;
  /** Why the job failed as a whole (the upstream could not be listed, the mirror was removed). */
  error: string | null;
  /** The cancelled or failed job whose checkpoint this one started from. */
  resumedFrom: string | null;
  /** Who started it (an account name). */
  requestedBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/** What a worker writes to a job it holds. */
export type MirrorSyncPatch = Partial<Pick<MirrorSyncRecord, 'status' | 'phase' | 'done' | 'total' | 'checkpoint' | 'report' | 'error' | 'startedAt' | 'finishedAt'>> & { updatedAt: string };

/**
 * Where sync jobs are kept (`src/storage/sql/mirror-sync-store.ts`), leased like every background
 * job (`SqlLeasedJobs`): one worker at a time holds an active job until its lease runs out.
 */
export interface MirrorSyncStore {
  /** False when the mirror has an active job already (one at a time, enforced by the store). */
  insert(r: MirrorSyncRecord): Promise<boolean>;
  find(id: string): Promise<MirrorSyncRecord | undefined>;
  /** A mirror's jobs, newest first. */
  list(mirror: string, limit: number): Promise<MirrorSyncRecord[]>;
  /** Active jobs no worker holds (oldest first). */
  claimable(now: string, limit: number): Promise<string[]>;
  claim(id: string, owner: string, now: string, until: string): Promise<boolean>;
  /** Extends a lease `owner` holds on a job still active; false otherwise (cancelled, or taken over). */
  renew(id: string, owner: string, until: string): Promise<boolean>;
  release(id: string, owner: string): Promise<void>;
  /** Writes while `owner` holds the lease and the job is active; false otherwise. */
  update(id: string, owner: string, patch: MirrorSyncPatch): Promise<boolean>;
  /** An active job → cancelled; false when it had ended. */
  cancel(id: string, at: string): Promise<boolean>;
}

export interface StartSyncInput {
  filter?: string;
  /** Start over rather than from the checkpoint of an interrupted job with the same filter. */
  fresh?: boolean;
}

/** How many past jobs a listing shows at most. */
export const MAX_SYNC_LISTING = 100;

/**
 * Sync jobs of mirrors (issue 18, part 1): an administrator starts one per mirror at a time; a
 * server's background worker (`MirrorSyncRunner`) drives it through the kind's syncer, storing its
 * progress and checkpoint as it goes; the job can be read while it runs and cancelled.
 */
export class MirrorSyncService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly mirrors: MirrorService,
    readonly store: MirrorSyncStore,
    readonly syncers: MirrorSyncers,
    /** Tells this process's runner of a new or cancelled job. */
    private readonly wake: (id: string) => void = () => undefined,
    /** Checks a kind's filter before a job is queued (a validation error names what is wrong). */
    private readonly checkFilter: Partial<Record<MirrorKind, (filter: string) => void>> = {},
  ) {}

  async start(ctx: RequestContext, name: string, input: StartSyncInput): Promise<MirrorSyncRecord> {
    this.deps.policy.requireWritable();
    const principal = this.deps.policy.requireAdmin(ctx);
    const m = await this.mirrors.get(ctx, name);
    if (!this.syncers[m.kind]) {
      throw unprocessable(`Sync jobs of ${m.kind} mirrors are not offered by this server; ${m.name} fetches from its upstream on demand only`);
    }
    const filter = input.filter === undefined || input.filter === '' ? null : input.filter;
    if (filter !== null) this.checkFilter[m.kind]?.(filter);
    const [last] = await this.store.list(m.name, 1);
    if (last && ACTIVE_SYNC_STATUSES.includes(last.status)) throw this.busy(m.name, last.id);
    const resume = !input.fresh && last && (last.status === 'cancelled' || last.status === 'failed') && last.checkpoint !== null && last.filter === filter ? last : undefined;
    const now = isoNow(this.deps.clock);
    const record: MirrorSyncRecord = {
      id: `msync_${randomUUID().replaceAll('-', '')}`,
      mirror: m.name,
      kind: m.kind,
      status: 'queued',
      filter,
      phase: 'queued',
      done: resume?.done ?? 0,
      total: resume?.total ?? null,
      checkpoint: resume?.checkpoint ?? null,
      report: null,
      error: null,
      resumedFrom: resume?.id ?? null,
      requestedBy: principal.account.name,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
    };
    if (!(await this.store.insert(record))) {
      const [active] = await this.store.list(m.name, 1);
      throw this.busy(m.name, active?.id);
    }
    await this.deps.storage.transaction((tx) => this.deps.audit.record(tx.audit, ctx, 'mirror.sync', m.name, { id: record.id, filter, resumed_from: record.resumedFrom }));
    this.wake(record.id);
    return record;
  }

  async list(ctx: RequestContext, name: string, limit = MAX_SYNC_LISTING): Promise<MirrorSyncRecord[]> {
    const m = await this.mirrors.get(ctx, name);
    return this.store.list(m.name, Math.min(Math.max(1, limit), MAX_SYNC_LISTING));
  }

  async get(ctx: RequestContext, name: string, id: string): Promise<MirrorSyncRecord> {
    const m = await this.mirrors.get(ctx, name);
    const job = await this.store.find(id);
    if (!job || job.mirror !== m.name) throw notFound(`No sync job ${id} of mirror ${m.name}`);
    return job;
  }

  /** Cancels an active job: its worker stops at the next item; what it copied stays, and a new sync takes up from its checkpoint. */
  async cancel(ctx: RequestContext, name: string, id: string): Promise<MirrorSyncRecord> {
    this.deps.policy.requireWritable();
    const job = await this.get(ctx, name, id);
    if (!(await this.store.cancel(job.id, isoNow(this.deps.clock))))
      throw conflict(`Sync job ${id} has ended (${(await this.store.find(id))?.status ?? job.status}); there is nothing to cancel`, { id, status: job.status });
    await this.deps.storage.transaction((tx) => this.deps.audit.record(tx.audit, ctx, 'mirror.sync.cancel', name, { id }));
    this.wake(job.id);
    return (await this.store.find(job.id)) ?? job;
  }

  private busy(mirror: string, id: string | undefined) {
    return conflict(`A sync of mirror ${mirror} is in progress${id ? ` (${id})` : ''}: one at a time; wait for it or cancel it`, { mirror, ...(id ? { id } : {}) });
  }
}
