import type { RequestContext } from '../auth/principal.js';
import type { StorageRepos } from '../storage.js';

/**
 * What a non-spec agent form of `POST /v1/sessions` (`{type: "package", …}`, `{type: "agentspace", …}`)
 * resolves to: the caller's managed agent and revision that runs it, and where it came from (shown
 * on the session as `agent.source`).
 */
export interface AgentRefResolution {
  id: string;
  version?: number;
  source?: Record<string, unknown>;
  /** The agent's own cap on a turn's model requests (an AssistantConfig's `evaluation_strategy.max_steps`); the server's limit still holds. */
  maxStepsPerTurn?: number;
  /** Called in the transaction that creates the session: what counts the run (a package version's sessions). */
  counted?: (tx: StorageRepos) => Promise<void>;
}

/** Resolves one `{type, …}` agent form (the whole object, as sent) for the caller; throws AgentryError values. */
export type AgentRefResolver = (ctx: RequestContext, ref: Record<string, unknown>) => Promise<AgentRefResolution>;
