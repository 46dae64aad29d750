/**
 * The storage port of session threads (issue 14, multi-agent): the child threads a session's
 * coordinator spawned, each running one agent of its roster with its own conversation. The
 * primary thread is the session itself and is not stored. Plain data only; the SQL
 * implementation lives in src/storage/sql/session-thread-repo.ts.
 */

export type ThreadStatus = 'idle' | 'running' | 'rescheduling' | 'terminated';

export interface ThreadRecord {
  /** Insertion order; lists page on it. */
  seq: number;
  id: string;
  sessionId: string;
  /** The thread that spawned it (the primary thread's id for a coordinator's threads). */
  parentThreadId: string | null;
  agentId: string;
  agentVersion: number;
  agentName: string;
  status: ThreadStatus;
  /** The agent snapshot, usage and timing of the thread. */
  data: Record<string, unknown>;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewThread = Omit<ThreadRecord, 'seq'>;
export type ThreadPatch = Partial<Pick<ThreadRecord, 'status' | 'data' | 'archivedAt' | 'updatedAt'>>;

export interface ThreadQuery {
  statuses?: ThreadStatus[];
  /** Continue after this insertion sequence (exclusive). */
  afterSeq?: number;
  limit: number;
}

export interface SessionThreadRepo {
  insert(t: NewThread): Promise<ThreadRecord>;
  /** The thread of that session (undefined for another session's thread). */
  find(sessionId: string, id: string): Promise<ThreadRecord | undefined>;
  list(sessionId: string, q: ThreadQuery): Promise<ThreadRecord[]>;
  update(id: string, patch: ThreadPatch): Promise<void>;
}
