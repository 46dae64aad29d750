import type { SessionRecord } from '../session-store.js';
import type { ThreadRecord, ThreadStatus } from './thread-store.js';

/** A session thread as every door shows it (the SDK's `BetaManagedAgentsSessionThread`). */
export interface ThreadView {
  type: 'session_thread';
  id: string;
  session_id: string;
  parent_thread_id: string | null;
  agent: Record<string, unknown>;
  status: ThreadStatus;
  usage: Record<string, unknown> | null;
  stats: { active_seconds: number; duration_seconds: number; startup_seconds: number } | null;
  workflow_run_id: null;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

/** The primary thread is the session itself; its id is derived from the session's. */
export const primaryThreadId = (sessionId: string): string => `sthr_${sessionId.replace(/^sesn_/, '')}`;

/** The child thread an event belongs to; undefined for the primary thread's events. */
export const childThreadOf = (event: Record<string, unknown>): string | undefined => (typeof event.session_thread_id === 'string' ? event.session_thread_id : undefined);

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

const activeMs = (data: Record<string, unknown>, status: string, now: string): number => {
  const since = typeof data.running_since === 'string' ? Date.parse(data.running_since) : undefined;
  return Number(data.active_ms ?? 0) + (since !== undefined && (status === 'running' || status === 'rescheduling') ? Math.max(0, Date.parse(now) - since) : 0);
};

export const threadView = (t: ThreadRecord, now: string): ThreadView => {
  const active = seconds(activeMs(t.data, t.status, now));
  const usage = (t.data.usage as Record<string, unknown> | undefined) ?? null;
  const end = t.archivedAt ?? now;
  return {
    type: 'session_thread',
    id: t.id,
    session_id: t.sessionId,
    parent_thread_id: t.parentThreadId,
    agent: (t.data.agent as Record<string, unknown>) ?? { type: 'agent', id: t.agentId, version: t.agentVersion, name: t.agentName },
    status: t.status,
    usage: usage && { ...usage, active_seconds: active },
    stats: { active_seconds: active, duration_seconds: seconds(Date.parse(end) - Date.parse(t.createdAt)), startup_seconds: 0 },
    workflow_run_id: null,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    archived_at: t.archivedAt,
  };
};

/** The primary thread, from its session: same status, usage and timing. */
export const primaryThreadView = (s: SessionRecord, view: { status: ThreadStatus; usage: Record<string, unknown>; stats: { active_seconds: number; duration_seconds: number } }): ThreadView => {
  const agent = (s.data.agent as Record<string, unknown>) ?? {};
  const { multiagent: _m, ...threadAgent } = agent;
  return {
    type: 'session_thread',
    id: primaryThreadId(s.id),
    session_id: s.id,
    parent_thread_id: null,
    agent: threadAgent,
    status: view.status,
    usage: view.usage,
    stats: { ...view.stats, startup_seconds: 0 },
    workflow_run_id: null,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    archived_at: s.archivedAt,
  };
};
