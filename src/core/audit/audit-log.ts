import type { RequestContext } from '../auth/principal.js';
import type { AuditQuery, AuditRepo, AuditRecord, NewAuditRecord } from './audit-repo.js';
import type { Page } from '../page.js';
import { isoNow, type Clock } from '../time.js';

/** How long a deferred entry may wait before it is written (its batch shares one commit). */
const FLUSH_AFTER_MS = 1_000;
/** A batch this large is written at once. */
const FLUSH_AT = 256;
/** Entries kept for a retry while the store refuses writes; older ones past this are dropped (and counted). */
const MAX_PENDING = 10_000;

/** Records every write: who (account and token), what (action, target), when, from where. */
export class AuditLog {
  /** Deferred entries per repository, in order (see `recordLater`). */
  private readonly pending = new Map<AuditRepo, NewAuditRecord[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Deferred entries dropped because the store kept refusing them (never silently: counted). */
  dropped = 0;

  constructor(private readonly clock: Clock) {}

  private entry(ctx: RequestContext, action: string, target: string, details: Record<string, unknown>): NewAuditRecord {
    return { at: isoNow(this.clock), actor: ctx.principal?.account.name ?? null, tokenId: ctx.principal?.token.id ?? null, action, target, ip: ctx.ip, details };
  }

  async record(repo: AuditRepo, ctx: RequestContext, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
    await repo.append(this.entry(ctx, action, target, details));
  }

  /**
   * Records an entry of a hot path (a proxied tool call) without waiting for the store: entries made
   * within {@link FLUSH_AFTER_MS} are written together, in one transaction, so a call never waits on
   * (or blocks the event loop with) a commit's fsync. The time is the call's. `flush()` (at server
   * shutdown, and before every read of the log) writes what is pending: a clean shutdown loses nothing.
   */
  recordLater(repo: AuditRepo, ctx: RequestContext, action: string, target: string, details: Record<string, unknown> = {}): void {
    let list = this.pending.get(repo);
    if (!list) this.pending.set(repo, (list = []));
    list.push(this.entry(ctx, action, target, details));
    if (list.length >= FLUSH_AT) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
      this.timer.unref?.();
    }
  }

  /** Writes every deferred entry; resolves once they are stored (a failed batch is kept for the next flush). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.pending];
    this.pending.clear();
    this.flushing = this.flushing.then(async () => {
      for (const [repo, entries] of batches) {
        if (entries.length === 0) continue;
        try {
          await repo.appendMany(entries);
        } catch {
          const kept = [...entries, ...(this.pending.get(repo) ?? [])];
          const over = Math.max(0, kept.length - MAX_PENDING);
          this.dropped += over;
          this.pending.set(repo, kept.slice(over));
          if (!this.timer) {
            this.timer = setTimeout(() => void this.flush(), FLUSH_AFTER_MS * 5);
            this.timer.unref?.();
          }
        }
      }
    });
    return this.flushing;
  }

  async list(repo: AuditRepo, q: AuditQuery): Promise<Page<AuditRecord>> {
    await this.flush();
    return repo.list(q);
  }
}

/** `repo`, also noting in `into` every entry written through it (a transaction's entries, read once it commits). */
export const tappedAudit = (repo: AuditRepo, into: NewAuditRecord[]): AuditRepo => ({
  append: async (e) => {
    await repo.append(e);
    into.push(e);
  },
  appendMany: async (entries) => {
    await repo.appendMany(entries);
    into.push(...entries);
  },
  list: (q) => repo.list(q),
});
