import type { ReadTarget } from '../access/visibility.js';
import type { NewAuditRecord } from '../audit/audit-repo.js';
import type { PackageRecord } from '../packages/package-repo.js';
import { fullName } from '../packages/names.js';

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

export type DomainEventListener = (e: DomainEvent) => Promise<void> | void;

/**
 * The one place domain events are emitted from: package writes (from the audit entries of their
 * transaction, `packageEventsOf`), session status changes (the session log) and workload statuses
 * (the workload service) call `emit` after their change is committed. `emit` resolves once every
 * listener has taken the event (webhooks: queued in the database); a listener's failure never fails
 * the change that was already made, it goes to `onError`.
 */
export class DomainEvents {
  private readonly listeners: DomainEventListener[] = [];

  constructor(private readonly onError: (e: unknown, event: DomainEvent) => void = () => undefined) {}

  /** Whether anyone listens (callers skip building events otherwise). */
  get heard(): boolean {
    return this.listeners.length > 0;
  }

  on(listener: DomainEventListener): void {
    this.listeners.push(listener);
  }

  async emit(events: readonly DomainEvent[]): Promise<void> {
    for (const event of events)
      for (const l of this.listeners) {
        try {
          await l(event);
        } catch (e) {
          this.onError(e, event);
        }
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
