import type { Metadata } from '../managed/metadata.js';
import { outcomeEvaluations, type OutcomeEvaluationView } from './outcomes/outcome-spec.js';
import type { SessionRecord, SessionStatus } from './session-store.js';

export const SESSION_STATUSES: readonly SessionStatus[] = ['idle', 'running', 'rescheduling', 'terminated'];

/** A session as every door shows it (the SDK's `BetaManagedAgentsSession`). */
export interface SessionView {
  type: 'session';
  id: string;
  status: SessionStatus;
  title: string | null;
  agent: Record<string, unknown>;
  environment_id: string;
  metadata: Metadata;
  vault_ids: string[];
  resources: Array<Record<string, unknown>>;
  outcome_evaluations: OutcomeEvaluationView[];
  budget: Record<string, unknown> | null;
  usage: Record<string, unknown>;
  stats: { active_seconds: number; duration_seconds: number };
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

/** A new session's usage: nothing spent yet. */
export const usageZero = (): Record<string, unknown> => ({
  input_tokens: 0,
  output_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
  server_tool_use: { web_fetch_requests: 0, web_search_requests: 0 },
});

/** The view of a stored session at `now`: its active seconds count the running stretch under way. */
export const sessionView = (s: SessionRecord, now: string): SessionView => {
  const d = s.data;
  const runningSince = typeof d.running_since === 'string' ? Date.parse(d.running_since) : undefined;
  const activeMs = Number(d.active_ms ?? 0) + (runningSince !== undefined && (s.status === 'running' || s.status === 'rescheduling') ? Math.max(0, Date.parse(now) - runningSince) : 0);
  const activeSeconds = Math.round(activeMs / 100) / 10;
  return {
    type: 'session',
    id: s.id,
    status: s.status,
    title: s.title,
    agent: d.agent as Record<string, unknown>,
    environment_id: s.environmentId,
    metadata: (d.metadata as Metadata) ?? {},
    vault_ids: (d.vault_ids as string[]) ?? [],
    resources: (d.resources as Array<Record<string, unknown>>) ?? [],
    outcome_evaluations: outcomeEvaluations(s),
    budget: (d.budget as Record<string, unknown> | null) ?? null,
    usage: { ...((d.usage as Record<string, unknown>) ?? usageZero()), active_seconds: activeSeconds },
    stats: { active_seconds: activeSeconds, duration_seconds: Math.round((Date.parse(now) - Date.parse(s.createdAt)) / 100) / 10 },
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    archived_at: s.archivedAt,
  };
};
