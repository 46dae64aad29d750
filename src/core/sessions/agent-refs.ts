import type { RequestContext } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import { isPlainObject } from '../packages/manifest/fields.js';
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

/** The agent forms a create takes: an id, `{type: 'agent', id, version}`, and the plugged-in `{type, …}` forms (issue 19). */
export class AgentForms {
  /** Non-spec agent forms `{type, …}`, by type: each resolves to a managed agent of the caller. */
  private readonly forms = new Map<string, AgentRefResolver>();

  /** Plugs in an agent form `{type: <type>, …}` beside the spec's. */
  add(type: string, resolver: AgentRefResolver): void {
    if (type === 'agent' || this.forms.has(type)) throw new Error(`agent form '${type}' is taken`);
    this.forms.set(type, resolver);
  }

  /** The agent a create names. */
  async resolve(ctx: RequestContext, agent: unknown): Promise<AgentRefResolution> {
    if (typeof agent === 'string' && agent !== '') return { id: agent };
    const form = isPlainObject(agent) && typeof agent.type === 'string' ? this.forms.get(agent.type) : undefined;
    if (form) return form(ctx, agent as Record<string, unknown>);
    if (isPlainObject(agent) && typeof agent.id === 'string' && agent.id !== '') {
      if (agent.type !== undefined && agent.type !== 'agent') throw badRequest(`agent.type must be one of ${['agent', ...this.forms.keys()].map((t) => `'${t}'`).join(', ')}`);
      if (agent.version !== undefined && agent.version !== null && (!Number.isInteger(agent.version) || (agent.version as number) < 1)) throw badRequest('agent.version must be a whole number ≥ 1');
      return { id: agent.id, version: (agent.version as number | null | undefined) ?? undefined };
    }
    throw badRequest("agent is required: an agent id, or {type: 'agent', id, version}");
  }
}
