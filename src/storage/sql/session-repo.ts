import type { Generated, Kysely, Selectable, Updateable } from 'kysely';
import type { NewSession, SessionEventQuery, SessionEventRecord, SessionPatch, SessionQuery, SessionRecord, SessionRepo, SessionStatus } from '../../core/sessions/session-store.js';
import type { SqlDialectName } from './dialect.js';
import { SqlLeasedJobs } from './leased-jobs.js';
import type { Database } from './schema.js';

/** The tables of migration 0016-sessions. */
export interface SessionDatabase {
  sessions: {
    seq: Generated<number>;
    id: string;
    account_id: number;
    agent_id: string;
    agent_version: number;
    environment_id: string;
    status: string;
    title: string | null;
    data: string;
    event_seq: number;
    lease_owner: string | null;
    lease_until: string | null;
    archived_at: string | null;
    created_at: string;
    updated_at: string;
  };
  session_events: { session_id: string; seq: number; id: string; type: string; data: string; created_at: string; thread_id: Generated<string | null> };
}

type SessionRow = Selectable<SessionDatabase['sessions']>;

/** The child thread an event belongs to (migration 0025); null for the primary thread. */
const threadOf = (e: Record<string, unknown>): string | null => (typeof e.session_thread_id === 'string' ? e.session_thread_id : null);

const toSession = (r: SessionRow): SessionRecord => ({
  seq: Number(r.seq),
  id: r.id,
  accountId: Number(r.account_id),
  agentId: r.agent_id,
  agentVersion: Number(r.agent_version),
  environmentId: r.environment_id,
  status: r.status as SessionStatus,
  title: r.title,
  data: JSON.parse(r.data) as Record<string, unknown>,
  eventSeq: Number(r.event_seq),
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until,
  archivedAt: r.archived_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toEvent = (r: Omit<Selectable<SessionDatabase['session_events']>, 'thread_id'>): SessionEventRecord => ({
  sessionId: r.session_id,
  seq: Number(r.seq),
  id: r.id,
  type: r.type,
  event: JSON.parse(r.data) as Record<string, unknown>,
  createdAt: r.created_at,
});

const ACTIVE = ['running', 'rescheduling'];

/** Sessions and their events; a running session's lease (claimable, claim, renew, release) comes from `SqlLeasedJobs`. */
export class SqlSessionRepo extends SqlLeasedJobs implements SessionRepo {
  private readonly db: Kysely<SessionDatabase>;

  constructor(
    db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {
    super(db, { table: 'sessions', order: 'updated_at', active: ACTIVE, renewWhileActive: false });
    this.db = db as unknown as Kysely<SessionDatabase>;
  }

  async insert(s: NewSession): Promise<SessionRecord> {
    const row = await this.db
      .insertInto('sessions')
      .values({
        id: s.id,
        account_id: s.accountId,
        agent_id: s.agentId,
        agent_version: s.agentVersion,
        environment_id: s.environmentId,
        status: s.status,
        title: s.title,
        data: JSON.stringify(s.data),
        event_seq: 0,
        lease_owner: null,
        lease_until: null,
        archived_at: s.archivedAt,
        created_at: s.createdAt,
        updated_at: s.updatedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSession(row);
  }

  async find(id: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toSession(r);
  }

  async lock(id: string): Promise<SessionRecord | undefined> {
    let q = this.db.selectFrom('sessions').selectAll().where('id', '=', id);
    if (this.dialect === 'postgres') q = q.forUpdate();
    const r = await q.executeTakeFirst();
    return r && toSession(r);
  }

  async update(id: string, patch: SessionPatch): Promise<void> {
    const set: Updateable<SessionDatabase['sessions']> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.title !== undefined) set.title = patch.title;
    if (patch.data !== undefined) set.data = JSON.stringify(patch.data);
    if (patch.archivedAt !== undefined) set.archived_at = patch.archivedAt;
    if (patch.updatedAt !== undefined) set.updated_at = patch.updatedAt;
    if (patch.eventSeq !== undefined) set.event_seq = patch.eventSeq;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('sessions').set(set).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    await this.db.deleteFrom('session_events').where('session_id', '=', id).execute();
    const r = await this.db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(q: SessionQuery): Promise<SessionRecord[]> {
    let s = this.db.selectFrom('sessions').selectAll().where('account_id', '=', q.accountId);
    if (q.agentId !== undefined) s = s.where('agent_id', '=', q.agentId);
    if (q.agentVersion !== undefined) s = s.where('agent_version', '=', q.agentVersion);
    if (q.statuses?.length) s = s.where('status', 'in', q.statuses);
    if (q.createdAfter) s = s.where('created_at', q.createdAfter.inclusive ? '>=' : '>', q.createdAfter.at);
    if (q.createdBefore) s = s.where('created_at', q.createdBefore.inclusive ? '<=' : '<', q.createdBefore.at);
    if (!q.includeArchived) s = s.where('archived_at', 'is', null);
    if (q.afterSeq !== undefined) s = s.where('seq', q.order === 'asc' ? '>' : '<', q.afterSeq);
    const rows = await s.orderBy('seq', q.order).limit(q.limit).execute();
    return rows.map(toSession);
  }

  async insertEvents(events: SessionEventRecord[]): Promise<void> {
    if (events.length === 0) return;
    await this.db
      .insertInto('session_events')
      .values(events.map((e) => ({ session_id: e.sessionId, seq: e.seq, id: e.id, type: e.type, data: JSON.stringify(e.event), created_at: e.createdAt, thread_id: threadOf(e.event) })))
      .execute();
  }

  async listEvents(sessionId: string, q: SessionEventQuery): Promise<SessionEventRecord[]> {
    let s = this.db.selectFrom('session_events').selectAll().where('session_id', '=', sessionId);
    if (q.afterSeq !== undefined) s = s.where('seq', '>', q.afterSeq);
    if (q.beforeSeq !== undefined) s = s.where('seq', '<', q.beforeSeq);
    if (q.types?.length) s = s.where('type', 'in', q.types);
    if (q.threadId !== undefined) s = q.threadId === null ? s.where('thread_id', 'is', null) : s.where('thread_id', '=', q.threadId);
    const rows = await s.orderBy('seq', q.order).limit(q.limit).execute();
    return rows.map(toEvent);
  }

  async findEvent(sessionId: string, eventId: string): Promise<SessionEventRecord | undefined> {
    const r = await this.db.selectFrom('session_events').selectAll().where('session_id', '=', sessionId).where('id', '=', eventId).executeTakeFirst();
    return r && toEvent(r);
  }

  async updateEvent(sessionId: string, seq: number, event: Record<string, unknown>): Promise<void> {
    await this.db
      .updateTable('session_events')
      .set({ data: JSON.stringify(event) })
      .where('session_id', '=', sessionId)
      .where('seq', '=', seq)
      .execute();
  }
}
