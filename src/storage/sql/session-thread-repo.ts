import type { Generated, Kysely, Selectable, Updateable } from 'kysely';
import type { NewThread, SessionThreadRepo, ThreadPatch, ThreadQuery, ThreadRecord, ThreadStatus } from '../../core/sessions/threads/thread-store.js';
import type { Database } from './schema.js';

/** The table of migration 0025-session-threads. */
export interface SessionThreadDatabase {
  session_threads: {
    seq: Generated<number>;
    id: string;
    session_id: string;
    parent_thread_id: string | null;
    agent_id: string;
    agent_version: number;
    agent_name: string;
    status: string;
    data: string;
    archived_at: string | null;
    created_at: string;
    updated_at: string;
  };
}

const toThread = (r: Selectable<SessionThreadDatabase['session_threads']>): ThreadRecord => ({
  seq: Number(r.seq),
  id: r.id,
  sessionId: r.session_id,
  parentThreadId: r.parent_thread_id,
  agentId: r.agent_id,
  agentVersion: Number(r.agent_version),
  agentName: r.agent_name,
  status: r.status as ThreadStatus,
  data: JSON.parse(r.data) as Record<string, unknown>,
  archivedAt: r.archived_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqlSessionThreadRepo implements SessionThreadRepo {
  private readonly db: Kysely<SessionThreadDatabase>;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<SessionThreadDatabase>;
  }

  async insert(t: NewThread): Promise<ThreadRecord> {
    const row = await this.db
      .insertInto('session_threads')
      .values({
        id: t.id,
        session_id: t.sessionId,
        parent_thread_id: t.parentThreadId,
        agent_id: t.agentId,
        agent_version: t.agentVersion,
        agent_name: t.agentName,
        status: t.status,
        data: JSON.stringify(t.data),
        archived_at: t.archivedAt,
        created_at: t.createdAt,
        updated_at: t.updatedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toThread(row);
  }

  async find(sessionId: string, id: string): Promise<ThreadRecord | undefined> {
    const r = await this.db.selectFrom('session_threads').selectAll().where('session_id', '=', sessionId).where('id', '=', id).executeTakeFirst();
    return r && toThread(r);
  }

  async list(sessionId: string, q: ThreadQuery): Promise<ThreadRecord[]> {
    let s = this.db.selectFrom('session_threads').selectAll().where('session_id', '=', sessionId);
    if (q.statuses?.length) s = s.where('status', 'in', q.statuses);
    if (q.afterSeq !== undefined) s = s.where('seq', '>', q.afterSeq);
    return (await s.orderBy('seq', 'asc').limit(q.limit).execute()).map(toThread);
  }

  async update(id: string, patch: ThreadPatch): Promise<void> {
    const set: Updateable<SessionThreadDatabase['session_threads']> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.data !== undefined) set.data = JSON.stringify(patch.data);
    if (patch.archivedAt !== undefined) set.archived_at = patch.archivedAt;
    if (patch.updatedAt !== undefined) set.updated_at = patch.updatedAt;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('session_threads').set(set).where('id', '=', id).execute();
  }
}
