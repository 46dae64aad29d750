import { isPlainObject } from '../../packages/manifest/fields.js';

/** An agent a coordinator may delegate to: its id, and a pinned version (absent: the latest). */
export interface RosterRef {
  id: string;
  version?: number;
}

const refOf = (entry: unknown, self: { id: string; version: number }): RosterRef | undefined => {
  if (typeof entry === 'string' && entry !== '') return { id: entry };
  if (!isPlainObject(entry)) return undefined;
  if (entry.type === 'self') return { id: self.id, version: self.version };
  if ((entry.type === 'agent' || entry.type === undefined) && typeof entry.id === 'string' && entry.id !== '') {
    return { id: entry.id, ...(Number.isInteger(entry.version) ? { version: entry.version as number } : {}) };
  }
  // Advisors (a model consulted mid-turn) are not agents a thread can run.
  return undefined;
};

/**
 * The agents an agent's `multiagent` config lets it spawn as session threads: the `coordinator`
 * roster (`agents`), or `multiagent_20261001`'s enabled `subagents.predefined_agents`. Entries are
 * agent ids, `{type: "agent", id, version?}` references, or `{type: "self"}`; duplicates count once.
 * Inline agents, advisors and workflow runs are not run here.
 */
export const rosterOf = (multiagent: unknown, self: { id: string; version: number }): RosterRef[] => {
  if (!isPlainObject(multiagent)) return [];
  let entries: unknown[] = [];
  if (multiagent.type === 'coordinator' && Array.isArray(multiagent.agents)) entries = multiagent.agents;
  else if (multiagent.type === 'multiagent_20261001' && isPlainObject(multiagent.subagents) && multiagent.subagents.type === 'enabled') {
    entries = Array.isArray(multiagent.subagents.predefined_agents) ? multiagent.subagents.predefined_agents : [];
  }
  const out: RosterRef[] = [];
  for (const e of entries.slice(0, 20)) {
    const ref = refOf(e, self);
    if (ref && !out.some((o) => o.id === ref.id)) out.push(ref);
  }
  return out;
};

/** The model-facing tool name of a roster agent: `call_agent_<name>`, within the providers' 64 characters. */
export const delegationToolName = (agentName: string, taken: ReadonlySet<string>): string => {
  const slug =
    agentName
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'agent';
  let name = `call_agent_${slug}`;
  for (let i = 2; taken.has(name); i++) name = `call_agent_${slug}_${i}`;
  return name;
};

export const DELEGATION_PREFIX = 'call_agent_';
