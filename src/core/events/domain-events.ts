import type { ReadTarget } from '../access/visibility.js';
import type { NewAuditRecord } from '../audit/audit-repo.js';
import type { PackageRecord } from '../packages/package-repo.js';
import { fullName } from '../packages/names.js';
import type { Storage, StorageRepos } from '../storage.js';

/** What the core tells listeners (webhooks) happened, once it is committed. */
export const DOMAIN_EVENT_TYPES = ['package.published', 'package.unpublished', 'package.deprecated', 'dist_tag.changed', 'session.idle', 'session.terminated', 'workload.status'] as const;

export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

export const isDomainEventType = (value: string): value is DomainEventType => (DOMAIN_EVENT_TYPES as readonly string[]).includes(value);

export interface DomainEvent {
  type: DomainEventType;
  /** The object the event is about, as the one read rule sees it: its owner (user or org) and visibility. */
  object: ReadTarget;
  /** What changed (plain JSON: the webhook payload's `data`). */
  data: Record<string, unknown>;
}

/**
 * One listener of domain events (webhooks). It answers from memory whether it wants an owner's
 * events, so that a write about an owner nobody listens for costs nothing; it records the events
 * it takes in the writer's own transaction (an outbox row), so they commit or roll back with the
 * change they tell of; and it is told once that transaction committed.
 */
export interface DomainEventListener {
  /** Whether events about objects of this owner are taken (no query). */
  wants(ownerAccountId: number): boolean;
  /** Whether any owner's are (no query). */
  wantsAny(): boolean;
  record(tx: StorageRepos, event: DomainEvent): Promise<void>;
  committed(): void;
}

/**
 * The one place domain events are recorded from: package writes (from the audit entries of their
 * transaction, `packageEventsOf`) and session status changes (the session log) record them in the
 * transaction of the change, then call `committed`; workload statuses, written outside the shared
 * store's transactions, `emit` them in a transaction of their own once the status is written.
 */
export class DomainEvents {
  private readonly listeners: DomainEventListener[] = [];

  constructor(
    private readonly storage?: Storage,
    private readonly onError: (e: unknown, event: DomainEvent) => void = () => undefined,
  ) {}

  on(listener: DomainEventListener): void {
    this.listeners.push(listener);
  }

  /** Whether a listener takes events about objects of this owner (answered from memory). */
  wants(ownerAccountId: number): boolean {
    return this.listeners.some((l) => l.wants(ownerAccountId));
  }

  /** Whether a listener takes any events at all (answered from memory). */
  wantsAny(): boolean {
    return this.listeners.some((l) => l.wantsAny());
  }

  /**
   * Records `events` in the transaction `tx` of the change they tell of. A listener's failure fails
   * the transaction (the change and its events land together or not at all). Call `committed` after.
   */
  async record(tx: StorageRepos, events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) for (const l of this.listeners) if (l.wants(event.object.ownerAccountId)) await l.record(tx, event);
  }

  /** The transaction that recorded events committed. */
  committed(): void {
    for (const l of this.listeners) l.committed();
  }

  /**
   * For a change already written outside the shared store (workload statuses): records `events`
   * in a transaction of their own. A failure goes to `onError`; the change stays made.
   */
  async emit(events: readonly DomainEvent[]): Promise<void> {
    const wanted = events.filter((e) => this.wants(e.object.ownerAccountId));
    if (wanted.length === 0 || !this.storage) return;
    const storage = this.storage;
    try {
      await storage.transaction((tx) => this.record(tx, wanted));
      this.committed();
    } catch (e) {
      for (const event of wanted) this.onError(e, event);
    }
  }
}

/** The version an audit target names (`@scope/name@1.2.0`), if any. */
const versionOf = (target: string): string | null => {
  const at = target.lastIndexOf('@');
  return at > 0 ? target.slice(at + 1) : null;
};

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * The domain events of a committed package write, read from the audit entries its transaction
 * recorded (every package write is audited; this is the one mapping from what was audited to what
 * listeners hear). `pkg` is the package as committed.
 */
export const packageEventsOf = (entries: readonly NewAuditRecord[], pkg: PackageRecord): DomainEvent[] => {
  const object: ReadTarget = { ownerAccountId: pkg.ownerAccountId, visibility: pkg.visibility, scope: pkg.scope };
  const base = { package: fullName(pkg.scope, pkg.name), kind: pkg.kind };
  const out: DomainEvent[] = [];
  for (const e of entries) {
    const version = versionOf(e.target);
    const d = e.details;
    switch (e.action) {
      case 'package.publish':
      case 'package.republish':
        out.push({ type: 'package.published', object, data: { ...base, version, digest: d.digest ?? null, republished: e.action === 'package.republish' } });
        break;
      case 'package.unpublish':
        out.push({ type: 'package.unpublished', object, data: { ...base, versions: version ? [version] : strings(d.versions) } });
        break;
      case 'package.deprecate':
        out.push({ type: 'package.deprecated', object, data: { ...base, version, message: d.message ?? null } });
        break;
      case 'package.status':
        if (d.status === 'deleted') out.push({ type: 'package.unpublished', object, data: { ...base, versions: strings(d.versions) } });
        else if (d.status === 'deprecated') for (const v of strings(d.versions)) out.push({ type: 'package.deprecated', object, data: { ...base, version: v, message: d.message ?? null } });
        break;
      case 'package.dist-tag.set':
        out.push({ type: 'dist_tag.changed', object, data: { ...base, tag: d.tag ?? null, version: d.version ?? null } });
        break;
      case 'package.dist-tag.remove':
        out.push({ type: 'dist_tag.changed', object, data: { ...base, tag: d.tag ?? null, version: null } });
        break;
    }
  }
  return out;
};
