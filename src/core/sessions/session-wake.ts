import type { StorageRepos } from '../storage.js';
import { newEventId, type SessionEvent } from './events.js';
import type { EnvironmentWorkService } from './environment-work.js';
import { acceptOutcomes } from './outcomes/outcome-spec.js';
import type { SessionLog } from './session-log.js';
import type { SessionRecord, SessionStatus } from './session-store.js';

/** What client events append to a session: the events, and the session's change when a turn starts. */
export interface WakePlan {
  events: SessionEvent[];
  patch?: { status: SessionStatus; data: Record<string, unknown> };
}

/** Events to append for client events: queued, and idle → running when a turn starts. */
export const wake = (log: SessionLog, s: SessionRecord, events: SessionEvent[]): WakePlan => {
  // An outcome is a task: the agent starts on it at once (no user.message needed).
  const startsTurn = events.some((e) => e.type !== 'user.interrupt');
  if (s.status !== 'idle' || !startsTurn) {
    // An interrupt of an idle session has nothing to stop: it is recorded as processed.
    const now = log.now();
    return { events: events.map((e) => (s.status === 'idle' && e.type === 'user.interrupt' ? { ...e, processed_at: now } : e)) };
  }
  const now = log.now();
  return {
    events: [...events, log.stamp('session.status_running', {}, newEventId())],
    patch: { status: 'running', data: { ...s.data, running_since: now } },
  };
};

/** wake(), and a work item for a self-hosted environment's worker when the session starts working. */
export const wakeAndQueue = async (log: SessionLog, work: EnvironmentWorkService | undefined, s: SessionRecord, tx: StorageRepos, events: SessionEvent[]): Promise<WakePlan> => {
  const plan = acceptOutcomes(s, wake(log, s, events));
  if (plan.patch?.status === 'running') await work?.ensureQueued(tx, s);
  return plan;
};
