import { notFound } from '../errors.js';
import type { DomainEvent, DomainEvents } from '../events/domain-events.js';
import type { Storage, StorageRepos } from '../storage.js';
import { isoNow, type Clock } from '../time.js';
import type { SessionBus } from './event-bus.js';
import type { SessionEvent } from './events.js';
import type { SessionEventRecord, SessionPatch, SessionRecord } from './session-store.js';

export interface AppendPlan {
  events: SessionEvent[];
  patch?: SessionPatch;
}

/**
 * The one writer of session logs: events get the next sequence numbers under the session's row
 * lock (so the API and a worker appending at once never interleave or collide), the session's
 * status changes in the same transaction, and every process hears of it once it is committed.
 */
export class SessionLog {
  constructor(
    private readonly storage: Storage,
    readonly bus: SessionBus,
    private readonly clock: Clock,
    /** Told of a session going idle or terminated, in the transaction that writes it (webhooks). */
    private readonly events?: DomainEvents,
  ) {}

  now(): string {
    return isoNow(this.clock);
  }

  /** Appends what `plan` decides from the locked session; answers the session as written and the new records. */
  async append(sessionId: string, plan: (s: SessionRecord, tx: StorageRepos) => Promise<AppendPlan> | AppendPlan): Promise<{ session: SessionRecord; records: SessionEventRecord[] }> {
    const out = await this.storage.transaction(async (tx) => {
      const s = await tx.sessions.lock(sessionId);
      if (!s) throw notFound(`Session ${sessionId} not found`);
      const { events, patch } = await plan(s, tx);
      const now = this.now();
      const records = events.map((event, i) => ({ sessionId, seq: s.eventSeq + i + 1, id: event.id, type: event.type, event, createdAt: now }));
      if (records.length > 0) await tx.sessions.insertEvents(records);
      const next: SessionRecord = { ...s, ...patch, eventSeq: s.eventSeq + records.length, updatedAt: records.length > 0 || patch ? now : s.updatedAt };
      if (records.length > 0 || patch) await tx.sessions.update(sessionId, { ...patch, eventSeq: next.eventSeq, updatedAt: next.updatedAt });
      // The session's owner is known: nobody listening for it costs no query.
      const told = this.events?.wants(s.accountId) ? statusEventsOf(next, records) : [];
      if (told.length > 0) await this.events?.record(tx, told);
      return { session: next, records, changed: patch !== undefined, told: told.length > 0 };
    });
    if (out.records.length > 0 || out.changed) this.bus.publish({ kind: 'appended', sessionId, seq: out.session.eventSeq, status: out.session.status, records: out.records });
    if (out.told) this.events?.committed();
    return { session: out.session, records: out.records };
  }

  /** Runtime events (processed when made). */
  stamp(type: string, fields: Record<string, unknown> = {}, id?: string): SessionEvent {
    return { id: id ?? '', type, ...fields, processed_at: this.now() } as SessionEvent;
  }
}

/** The session.idle and session.terminated domain events of records just appended (sessions are private to their account). */
const statusEventsOf = (s: SessionRecord, records: readonly SessionEventRecord[]): DomainEvent[] =>
  records.flatMap((r): DomainEvent[] => {
    const object = { ownerAccountId: s.accountId, visibility: 'private' as const };
    if (r.type === 'session.status_idle') return [{ type: 'session.idle', object, data: { session_id: s.id, stop_reason: r.event.stop_reason ?? null } }];
    if (r.type === 'session.status_terminated') return [{ type: 'session.terminated', object, data: { session_id: s.id } }];
    return [];
  });
