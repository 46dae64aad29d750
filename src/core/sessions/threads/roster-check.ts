import { badRequest } from '../../errors.js';
import type { ManagedRepo } from '../../managed/managed-storage.js';
import { isPlainObject } from '../../packages/manifest/fields.js';

const MAX_ROSTER = 20;

/**
 * The rules the SDK documents for an agent's `multiagent` config, checked when the agent is made or
 * changed: a `coordinator` roster of 1–20 distinct entries, or `multiagent_20261001`'s
 * `subagents.predefined_agents` (at most 20); each entry an agent of the same account that exists
 * (at the named version), is not archived, and has no `multiagent` of its own (depth limit 1);
 * `{type: "self"}` at most once.
 */
export const checkRoster = async (repo: ManagedRepo, accountId: number, selfId: string | null, multiagent: unknown): Promise<void> => {
  if (multiagent == null) return;
  if (!isPlainObject(multiagent)) throw badRequest('multiagent must be an object or null');
  let entries: unknown[];
  let at: string;
  if (multiagent.type === 'coordinator') {
    if (!Array.isArray(multiagent.agents) || multiagent.agents.length < 1 || multiagent.agents.length > MAX_ROSTER) throw badRequest(`multiagent.agents must list 1 to ${MAX_ROSTER} agents`);
    entries = multiagent.agents;
    at = 'multiagent.agents';
  } else if (multiagent.type === 'multiagent_20261001') {
    const sub = multiagent.subagents;
    if (!isPlainObject(sub) || sub.type !== 'enabled') return;
    const list = sub.predefined_agents ?? [];
    if (!Array.isArray(list) || list.length > MAX_ROSTER) throw badRequest(`multiagent.subagents.predefined_agents must list at most ${MAX_ROSTER} agents`);
    entries = list;
    at = 'multiagent.subagents.predefined_agents';
  } else {
    throw badRequest("multiagent.type must be 'coordinator' or 'multiagent_20261001'");
  }
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    const where = `${at}[${i}]`;
    if (isPlainObject(e) && e.type === 'advisor') continue;
    if (isPlainObject(e) && e.type === 'self') {
      const key = selfId ?? 'self';
      if (seen.has(key)) throw badRequest(`${where}: the agent itself is named twice`);
      seen.add(key);
      continue;
    }
    const id = typeof e === 'string' ? e : isPlainObject(e) && (e.type === 'agent' || e.type === undefined) && typeof e.id === 'string' ? e.id : undefined;
    if (!id) throw badRequest(`${where} must be an agent id, {type: 'agent', id, version}, or {type: 'self'}`);
    if (seen.has(id)) throw badRequest(`${where}: agent ${id.slice(0, 100)} is named twice`);
    seen.add(id);
    if (id === selfId) continue;
    const o = await repo.find(id);
    if (!o || o.kind !== 'agent' || o.accountId !== accountId) throw badRequest(`${where}: agent ${id.slice(0, 100)} not found`);
    if (o.archivedAt) throw badRequest(`${where}: agent ${id} is archived`);
    let config = o.data;
    const version = isPlainObject(e) ? e.version : undefined;
    if (version !== undefined && version !== null) {
      if (!Number.isInteger(version)) throw badRequest(`${where}.version must be a whole number`);
      const r = version === o.version ? undefined : await repo.findRevision(o.id, version as number);
      if (version !== o.version && !r) throw badRequest(`${where}: agent ${id} has no version ${String(version)}`);
      if (r) config = r.data;
    }
    if (config.multiagent != null) throw badRequest(`${where}: agent ${id} has a multiagent config of its own; threads go one level deep`);
  }
};
