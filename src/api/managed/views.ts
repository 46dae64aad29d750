import type { AgentView } from '../../core/managed/agents/agent-service.js';
import type { ApiKeyView } from '../../core/managed/api-keys/api-key-service.js';
import type { EnvironmentView } from '../../core/managed/environments/environment-service.js';

/** Core views shaped as the SDK's types (a superset of 002's). */
export const agentJson = (a: AgentView) => ({
  type: 'agent' as const,
  id: a.id,
  version: a.version,
  name: a.config.name,
  description: a.config.description,
  model: a.config.model,
  system: a.config.system,
  tools: a.config.tools,
  mcp_servers: a.config.mcp_servers,
  skills: a.config.skills,
  metadata: a.config.metadata,
  multiagent: a.config.multiagent,
  execution_identity: a.config.execution_identity,
  environment_id: a.config.environment_id,
  created_at: a.createdAt,
  updated_at: a.updatedAt,
  archived_at: a.archivedAt,
});

export const environmentJson = (e: EnvironmentView) => ({
  type: 'environment' as const,
  id: e.id,
  name: e.name,
  description: e.description,
  config: e.config,
  metadata: e.metadata,
  ...(e.scope ? { scope: e.scope } : {}),
  ...(e.environmentKey ? { environment_key: e.environmentKey } : {}),
  created_at: e.createdAt,
  updated_at: e.updatedAt,
  archived_at: e.archivedAt,
});

export const apiKeyJson = (k: ApiKeyView) => ({
  type: 'api_key' as const,
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  permission: k.permission,
  created_at: k.createdAt,
  last_used_at: k.lastUsedAt,
  expires_at: k.expiresAt,
});
