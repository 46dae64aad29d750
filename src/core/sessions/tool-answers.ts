import { badRequest, conflict } from '../errors.js';
import type { StorageRepos } from '../storage.js';
import { TOOL_USE_TYPES, toolResultTarget, type SessionEvent } from './events.js';
import type { SessionRecord } from './session-store.js';

/** Tool results and confirmations must answer a tool call of this session that is still waiting. */
export const checkToolAnswers = async (tx: StorageRepos, s: SessionRecord, events: SessionEvent[]): Promise<void> => {
  const seen = new Set<string>();
  for (const [i, e] of events.entries()) {
    const target = e.type === 'user.tool_confirmation' ? (e.tool_use_id as string) : toolResultTarget(e);
    if (target === undefined) continue;
    const field = e.type === 'user.custom_tool_result' ? 'custom_tool_use_id' : 'tool_use_id';
    const use = await tx.sessions.findEvent(s.id, target);
    const expected = e.type === 'user.custom_tool_result' ? ['agent.custom_tool_use'] : e.type === 'user.tool_confirmation' ? ['agent.tool_use', 'agent.mcp_tool_use'] : ['agent.tool_use'];
    if (!use || !TOOL_USE_TYPES.has(use.type) || !expected.includes(use.type)) {
      throw badRequest(`events[${i}].${field}: ${target.slice(0, 100)} is not a ${expected.join(' or ')} event of session ${s.id}`);
    }
    const key = `${e.type}:${target}`;
    if (seen.has(key)) throw badRequest(`events[${i}].${field}: ${target} is answered twice in this request`);
    seen.add(key);
    const later = await tx.sessions.listEvents(s.id, {
      order: 'asc',
      afterSeq: use.seq,
      types: e.type === 'user.tool_confirmation' ? ['user.tool_confirmation'] : ['agent.tool_result', 'user.tool_result', 'user.custom_tool_result'],
      limit: 1000,
    });
    const done = later.some((l) => (e.type === 'user.tool_confirmation' ? l.event.tool_use_id === target : toolResultTarget(l.event) === target));
    if (done) throw conflict(`events[${i}].${field}: tool call ${target} has already been answered`);
    if (e.type === 'user.tool_confirmation' && (use.event.evaluated_permission as string | undefined) !== 'ask') {
      throw badRequest(`events[${i}].tool_use_id: tool call ${target} does not wait for a confirmation`);
    }
  }
};
