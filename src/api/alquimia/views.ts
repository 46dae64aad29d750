import type { GenericError } from '../../core/agentspaces/agentspace-common.js';
import type { AgentspaceRecord, AgentspaceSecretRecord } from '../../core/agentspaces/agentspace-repo.js';

export const repositoryMetadata = (r: AgentspaceRecord) => ({
  agentspace_id: r.agentspaceId,
  name: r.name,
  namespace: r.namespace,
  tag: r.tag,
  visibility: r.visibility,
  status: r.status,
  description: r.description,
  user_id: r.userId,
  source_repo_id: r.sourceRepoId,
  on_hold: r.onHold,
});

/** Alquimia's Secret model: the definition, never the value. */
export const secretView = (s: AgentspaceSecretRecord) => ({ key: s.key, scope: s.scope, description: s.description });

export const genericError = (e: GenericError) => ({ id: e.id, message: e.message, details: e.details });
