import type { CoreDeps } from '../core-deps.js';
import type { WorkloadStore } from './workload-store.js';
import type { WorkloadRecord } from './workload.js';

/**
 * The statuses supervisors report, written to the workload store one chain per workload so that
 * they land in order, each followed by its `workload.status` event (webhooks). A failed write is
 * dropped: the next status replaces it.
 */
export class WorkloadStatusWrites {
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly core: CoreDeps,
    private readonly store: WorkloadStore,
  ) {}

  /** Queues a status write for `name`, after `after` when given (a client config edit the status must follow). */
  write(name: string, status: WorkloadRecord['status'], context: string, startedAt?: string, after?: Promise<void>): Promise<void> {
    const prev = this.writes.get(name) ?? Promise.resolve();
    const next = prev
      .then(() => after)
      .then(() => this.store.setStatus(name, status, context.slice(0, 1000), startedAt))
      .then(() => this.event(name, status, context.slice(0, 1000)))
      .catch(() => undefined);
    this.writes.set(name, next);
    return next;
  }

  /** The last write queued for `name`, if any. */
  last(name: string): Promise<void> | undefined {
    return this.writes.get(name);
  }

  /** Forgets `name`'s chain (the workload is deleted). */
  forget(name: string): void {
    this.writes.delete(name);
  }

  /** Resolves once every write queued so far has landed. */
  async settled(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  private async event(name: string, status: WorkloadRecord['status'], context: string): Promise<void> {
    const events = this.core.events;
    // The status is written in the workload store, outside the shared store's transactions: the
    // event is recorded in a transaction of its own right after. Nobody listening costs no query.
    if (!events?.wantsAny()) return;
    const r = await this.store.get(name);
    if (r) await events.emit([{ type: 'workload.status', object: { ownerAccountId: r.ownerAccountId, visibility: r.config.visibility }, data: { workload: name, status, context } }]);
  }
}
