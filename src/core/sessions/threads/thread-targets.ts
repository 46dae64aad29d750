import { badRequest } from '../../errors.js';
import type { StorageRepos } from '../../storage.js';
import type { SessionEvent } from '../events.js';
import type { SessionRecord } from '../session-store.js';
import { primaryThreadId } from './thread-view.js';

/**
 * Checks the `session_thread_id` of events a client sends (a `user.interrupt` of one thread): it
 * must name a live thread of this session. The primary thread's id means the session itself (the
 * tag is dropped). A thread's interrupt is recorded processed: the thread runner watches for it,
 * and it never holds up the primary turn.
 */
export const checkThreadTargets = async (tx: StorageRepos, s: SessionRecord, events: SessionEvent[], now: string): Promise<SessionEvent[]> => {
  const out: SessionEvent[] = [];
  for (const [i, e] of events.entries()) {
    if (e.session_thread_id === undefined) {
      out.push(e);
      continue;
    }
    const tid = e.session_thread_id;
    if (typeof tid !== 'string' || tid === '') throw badRequest(`events[${i}].session_thread_id must be a thread id`);
    if (tid === primaryThreadId(s.id)) {
      const { session_thread_id: _primary, ...rest } = e;
      out.push(rest as SessionEvent);
      continue;
    }
    const t = await tx.sessionThreads.find(s.id, tid);
    if (!t) throw badRequest(`events[${i}].session_thread_id: ${tid.slice(0, 100)} is not a thread of session ${s.id}`);
    if (t.archivedAt) throw badRequest(`events[${i}].session_thread_id: thread ${tid} is archived`);
    out.push({ ...e, processed_at: now });
  }
  return out;
};
