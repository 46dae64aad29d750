/**
 * The storage port of sessions (issue 14): sessions owned by an account, their events in order
 * with a per-session sequence, and the lease a runtime worker holds on a running session.
 * Plain data only; the SQL implementation lives in src/storage/sql/session-repo.ts.
 */

export type SessionStatus = 'idle' | 'running' | 'rescheduling' | 'terminated';

export interface SessionRecord {
  /** Insertion order; lists page on it. */
  seq: number;
  id: string;
  accountId: number;
  agentId: string;
  agentVersion: number;
  environmentId: string;
  status: SessionStatus;
  title: string | null;
  /** The rest of the session: agent snapshot, metadata, vault ids, resources, budget, usage, stats. */
  data: Record<string, unknown>;
  /** The sequence number of the session's last event (0: none yet). */
  eventSeq: number;
  /** The runtime worker holding the session's turn, and until when. */
  leaseOwner: string | null;
  leaseUntil: string | null;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewSession = Omit<SessionRecord, 'seq' | 'eventSeq' | 'leaseOwner' | 'leaseUntil'>;
export type SessionPatch = Partial<Pick<SessionRecord, 'status' | 'title' | 'data' | 'archivedAt' | 'updatedAt' | 'eventSeq'>>;

export interface SessionQuery {
  accountId: number;
  agentId?: string;
  agentVersion?: number;
  statuses?: SessionStatus[];
  createdAfter?: { at: string; inclusive: boolean };
  createdBefore?: { at: string; inclusive: boolean };
  includeArchived: boolean;
  order: 'asc' | 'desc';
  /** Continue after this insertion sequence (exclusive), in the list's order. */
  afterSeq?: number;
  limit: number;
}

export interface SessionEventRecord {
  sessionId: string;
  /** 1, 2, 3, … within the session: the order events happened in. */
  seq: number;
  id: string;
  type: string;
  /** The event as clients see it: id, type, processed_at and its fields. */
  event: Record<string, unknown>;
  createdAt: string;
}

export interface SessionEventQuery {
  /** Events with seq > afterSeq (asc) or seq < beforeSeq (desc). */
  afterSeq?: number;
  beforeSeq?: number;
  order: 'asc' | 'desc';
  types?: string[];
  /** Only the events of this child thread; null: only the primary thread's. */
  threadId?: string | null;
  limit: number;
}

export interface SessionRepo {
  insert(s: NewSession): Promise<SessionRecord>;
  find(id: string): Promise<SessionRecord | undefined>;
  /** Reads and locks the row for the rest of the transaction where the store supports it. */
  lock(id: string): Promise<SessionRecord | undefined>;
  update(id: string, patch: SessionPatch): Promise<void>;
  /** Deletes the session and its events. */
  delete(id: string): Promise<boolean>;
  list(q: SessionQuery): Promise<SessionRecord[]>;

  /** Inserts events whose seq the caller assigned (under the session's lock). */
  insertEvents(events: SessionEventRecord[]): Promise<void>;
  listEvents(sessionId: string, q: SessionEventQuery): Promise<SessionEventRecord[]>;
  findEvent(sessionId: string, eventId: string): Promise<SessionEventRecord | undefined>;
  /** Replaces an event's JSON (a queued user event gets its processed_at). */
  updateEvent(sessionId: string, seq: number, event: Record<string, unknown>): Promise<void>;

  /** Running (or rescheduling) sessions no worker holds: no lease, or one that ran out before `now`. */
  claimable(now: string, limit: number): Promise<string[]>;
  /** Takes the lease when the session is still claimable; false when another worker was faster. */
  claim(id: string, owner: string, now: string, until: string): Promise<boolean>;
  /** Extends a lease this owner holds; false when it no longer holds it. */
  renew(id: string, owner: string, until: string): Promise<boolean>;
  release(id: string, owner: string): Promise<void>;
}
