/** Storage port of agentspaces (Alquimia's repositories), their agent configs, secret definitions and parameters. */

/** An agentspace (Alquimia's RepositoryMetadata), owned by the account whose token created it. */
export interface AgentspaceRecord {
  ownerAccountId: number;
  agentspaceId: string;
  name: string;
  namespace: string;
  tag: string;
  description: string | null;
  visibility: 'private' | 'internal' | 'public';
  status: 'enabled' | 'disabled';
  userId: string | null;
  sourceRepoId: string | null;
  onHold: string[];
  createdAt: string;
  updatedAt: string;
}

/** An agent config (AssistantConfig) in an agentspace; `validated` once it passes the schema and needs no migration. */
export interface AgentspaceAgentRecord {
  ownerAccountId: number;
  agentspaceId: string;
  assistantId: string;
  spec: Record<string, unknown>;
  validated: boolean;
  errors: string[];
  createdAt: string;
  updatedAt: string;
}

/** A secret's definition (never its value). Global ones have agentspaceId ''; only local ones have an assistantId. */
export interface AgentspaceSecretRecord {
  ownerAccountId: number;
  agentspaceId: string;
  assistantId: string;
  key: string;
  scope: 'local' | 'shared' | 'global';
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A parameter definition; assistantId '' means every agent of the agentspace. */
export interface AgentspaceParameterRecord {
  ownerAccountId: number;
  agentspaceId: string;
  assistantId: string;
  key: string;
  definition: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface AgentspaceRepo {
  find(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceRecord | undefined>;
  list(ownerAccountId: number): Promise<AgentspaceRecord[]>;
  insert(r: AgentspaceRecord): Promise<void>;
  /** Replaces the row with this owner and id. */
  update(r: AgentspaceRecord): Promise<void>;
  /** The agentspace, its agents, its shared and local secret definitions and its parameters. */
  delete(ownerAccountId: number, agentspaceId: string): Promise<void>;
  listAgents(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceAgentRecord[]>;
  findAgent(ownerAccountId: number, agentspaceId: string, assistantId: string): Promise<AgentspaceAgentRecord | undefined>;
  putAgent(r: AgentspaceAgentRecord): Promise<void>;
  deleteAgent(ownerAccountId: number, agentspaceId: string, assistantId: string): Promise<void>;
  /** Definitions stored under exactly this agentspace id ('' = the owner's global ones). */
  listSecrets(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceSecretRecord[]>;
  putSecret(r: AgentspaceSecretRecord): Promise<void>;
  deleteSecret(ownerAccountId: number, agentspaceId: string, assistantId: string, key: string): Promise<void>;
  listParameters(ownerAccountId: number, agentspaceId: string): Promise<AgentspaceParameterRecord[]>;
  putParameter(r: AgentspaceParameterRecord): Promise<void>;
  deleteParameter(ownerAccountId: number, agentspaceId: string, assistantId: string, key: string): Promise<void>;
}
