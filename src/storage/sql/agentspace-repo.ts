import type { Kysely, Selectable } from 'kysely';
import type { AgentspaceAgentRecord, AgentspaceParameterRecord, AgentspaceRecord, AgentspaceRepo, AgentspaceSecretRecord } from '../../core/agentspaces/agentspace-repo.js';
import type { AgentspaceAgentsTable, AgentspaceParametersTable, AgentspaceSecretsTable, AgentspacesTable, Database } from './schema.js';

const toSpace = (r: Selectable<AgentspacesTable>): AgentspaceRecord => ({
  ownerAccountId: r.owner_account_id,
  agentspaceId: r.agentspace_id,
  name: r.name,
  namespace: r.namespace,
  tag: r.tag,
  description: r.description,
  visibility: r.visibility as AgentspaceRecord['visibility'],
  status: r.status as AgentspaceRecord['status'],
  userId: r.user_id,
  sourceRepoId: r.source_repo_id,
  onHold: JSON.parse(r.on_hold) as string[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const spaceRow = (r: AgentspaceRecord): AgentspacesTable => ({
  owner_account_id: r.ownerAccountId,
  agentspace_id: r.agentspaceId,
  name: r.name,
  namespace: r.namespace,
  tag: r.tag,
  description: r.description,
  visibility: r.visibility,
  status: r.status,
  user_id: r.userId,
  source_repo_id: r.sourceRepoId,
  on_hold: JSON.stringify(r.onHold),
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});
const toAgent = (r: Selectable<AgentspaceAgentsTable>): AgentspaceAgentRecord => ({
  ownerAccountId: r.owner_account_id,
  agentspaceId: r.agentspace_id,
  assistantId: r.assistant_id,
  spec: JSON.parse(r.spec) as Record<string, unknown>,
  validated: r.validated === 1,
  errors: JSON.parse(r.errors) as string[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toSecret = (r: Selectable<AgentspaceSecretsTable>): AgentspaceSecretRecord => ({
  ownerAccountId: r.owner_account_id,
  agentspaceId: r.agentspace_id,
  assistantId: r.assistant_id,
  key: r.key,
  scope: r.scope as AgentspaceSecretRecord['scope'],
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toParameter = (r: Selectable<AgentspaceParametersTable>): AgentspaceParameterRecord => ({
  ownerAccountId: r.owner_account_id,
  agentspaceId: r.agentspace_id,
  assistantId: r.assistant_id,
  key: r.key,
  definition: JSON.parse(r.definition) as Record<string, unknown>,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqlAgentspaceRepo implements AgentspaceRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async find(owner: number, id: string): Promise<AgentspaceRecord | undefined> {
    const r = await this.db.selectFrom('agentspaces').selectAll().where('owner_account_id', '=', owner).where('agentspace_id', '=', id).executeTakeFirst();
    return r && toSpace(r);
  }

  async list(owner: number): Promise<AgentspaceRecord[]> {
    const rows = await this.db.selectFrom('agentspaces').selectAll().where('owner_account_id', '=', owner).orderBy('agentspace_id').execute();
    return rows.map(toSpace);
  }

  async insert(r: AgentspaceRecord): Promise<void> {
    await this.db.insertInto('agentspaces').values(spaceRow(r)).execute();
  }

  async update(r: AgentspaceRecord): Promise<void> {
    const { owner_account_id: _o, agentspace_id: _a, created_at: _c, ...rest } = spaceRow(r);
    await this.db.updateTable('agentspaces').set(rest).where('owner_account_id', '=', r.ownerAccountId).where('agentspace_id', '=', r.agentspaceId).execute();
  }

  async delete(owner: number, id: string): Promise<void> {
    for (const table of ['agentspace_agents', 'agentspace_secrets', 'agentspace_parameters', 'agentspaces'] as const) {
      await this.db.deleteFrom(table).where('owner_account_id', '=', owner).where('agentspace_id', '=', id).execute();
    }
  }

  async listAgents(owner: number, id: string): Promise<AgentspaceAgentRecord[]> {
    const rows = await this.db.selectFrom('agentspace_agents').selectAll().where('owner_account_id', '=', owner).where('agentspace_id', '=', id).orderBy('assistant_id').execute();
    return rows.map(toAgent);
  }

  async findAgent(owner: number, id: string, assistantId: string): Promise<AgentspaceAgentRecord | undefined> {
    const r = await this.db
      .selectFrom('agentspace_agents')
      .selectAll()
      .where('owner_account_id', '=', owner)
      .where('agentspace_id', '=', id)
      .where('assistant_id', '=', assistantId)
      .executeTakeFirst();
    return r && toAgent(r);
  }

  async putAgent(r: AgentspaceAgentRecord): Promise<void> {
    const spec = JSON.stringify(r.spec);
    const errors = JSON.stringify(r.errors);
    const validated = r.validated ? 1 : 0;
    await this.db
      .insertInto('agentspace_agents')
      .values({ owner_account_id: r.ownerAccountId, agentspace_id: r.agentspaceId, assistant_id: r.assistantId, spec, validated, errors, created_at: r.createdAt, updated_at: r.updatedAt })
      .onConflict((oc) => oc.columns(['owner_account_id', 'agentspace_id', 'assistant_id']).doUpdateSet({ spec, validated, errors, updated_at: r.updatedAt }))
      .execute();
  }

  async deleteAgent(owner: number, id: string, assistantId: string): Promise<void> {
    await this.db.deleteFrom('agentspace_agents').where('owner_account_id', '=', owner).where('agentspace_id', '=', id).where('assistant_id', '=', assistantId).execute();
  }

  async listSecrets(owner: number, id: string): Promise<AgentspaceSecretRecord[]> {
    const rows = await this.db.selectFrom('agentspace_secrets').selectAll().where('owner_account_id', '=', owner).where('agentspace_id', '=', id).orderBy('key').orderBy('assistant_id').execute();
    return rows.map(toSecret);
  }

  async putSecret(r: AgentspaceSecretRecord): Promise<void> {
    await this.db
      .insertInto('agentspace_secrets')
      .values({
        owner_account_id: r.ownerAccountId,
        agentspace_id: r.agentspaceId,
        assistant_id: r.assistantId,
        key: r.key,
        scope: r.scope,
        description: r.description,
        created_at: r.createdAt,
        updated_at: r.updatedAt,
      })
      .onConflict((oc) => oc.columns(['owner_account_id', 'agentspace_id', 'assistant_id', 'key']).doUpdateSet({ scope: r.scope, description: r.description, updated_at: r.updatedAt }))
      .execute();
  }

  async deleteSecret(owner: number, id: string, assistantId: string, key: string): Promise<void> {
    await this.db.deleteFrom('agentspace_secrets').where('owner_account_id', '=', owner).where('agentspace_id', '=', id).where('assistant_id', '=', assistantId).where('key', '=', key).execute();
  }

  async listParameters(owner: number, id: string): Promise<AgentspaceParameterRecord[]> {
    const rows = await this.db.selectFrom('agentspace_parameters').selectAll().where('owner_account_id', '=', owner).where('agentspace_id', '=', id).orderBy('key').orderBy('assistant_id').execute();
    return rows.map(toParameter);
  }

  async putParameter(r: AgentspaceParameterRecord): Promise<void> {
    const definition = JSON.stringify(r.definition);
    await this.db
      .insertInto('agentspace_parameters')
      .values({ owner_account_id: r.ownerAccountId, agentspace_id: r.agentspaceId, assistant_id: r.assistantId, key: r.key, definition, created_at: r.createdAt, updated_at: r.updatedAt })
      .onConflict((oc) => oc.columns(['owner_account_id', 'agentspace_id', 'assistant_id', 'key']).doUpdateSet({ definition, updated_at: r.updatedAt }))
      .execute();
  }

  async deleteParameter(owner: number, id: string, assistantId: string, key: string): Promise<void> {
    await this.db.deleteFrom('agentspace_parameters').where('owner_account_id', '=', owner).where('agentspace_id', '=', id).where('assistant_id', '=', assistantId).where('key', '=', key).execute();
  }
}
