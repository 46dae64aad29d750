import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import type { SecretService } from '../secrets/secret-service.js';
import { isoNow } from '../time.js';
import type { AgentspaceSecretRecord } from './agentspace-repo.js';
import { agentspaceReader, agentspaceTarget, agentspaceWriter, dropSecretValues, mustFindAgentspace, secretDefinitionFor, secretNamespace, secretsOf, type GenericError } from './agentspace-common.js';
import { SECRET_KEY, secretRefsIn } from './assistant-config.js';
import { migrateSpec } from './migrations.js';

export type SecretScope = AgentspaceSecretRecord['scope'];

export interface SecretFilter {
  key?: string;
  scope?: SecretScope;
  description?: string | null;
  assistant_id?: string | null;
}

/**
 * The secret definitions of an agentspace (local to an agent, shared in the agentspace, or global to
 * the owner); their values go to the secret store only and are never read back here.
 */
export class AgentspaceSecrets {
  constructor(
    private readonly deps: CoreDeps,
    private readonly secrets: SecretService,
  ) {}

  /** Defines a secret (and stores its value when one is sent). Refused while the agentspace has unvalidated agents. */
  async addSecret(
    ctx: RequestContext,
    id: string,
    input: { key: string; scope: SecretScope; description?: string | null },
    value: string | undefined,
    assistantId?: string | null,
  ): Promise<AgentspaceSecretRecord> {
    const p = agentspaceWriter(this.deps, ctx);
    if (!SECRET_KEY.test(input.key)) throw badRequest(`'${input.key.slice(0, 130)}' is not a valid secret key: letters, digits, '_', '.' or '-', starting with a letter or '_' (at most 128)`);
    if (input.scope === 'local' && !assistantId) throw badRequest("A 'local' secret belongs to one agent: pass assistant_id");
    if (input.scope !== 'local' && assistantId) throw badRequest(`assistant_id goes only with scope 'local' (this secret is '${input.scope}')`);
    await mustFindAgentspace(this.deps.storage, p.account, id);
    const unvalidated = (await this.deps.storage.agentspaces.listAgents(p.account.id, id)).filter((a) => !a.validated).map((a) => a.assistantId);
    if (unvalidated.length > 0)
      throw badRequest(
        'Agentspace has unvalidated agents: run POST /registry/validate first',
        unvalidated.map((a) => `agent '${a}' is not validated`),
      );
    if (assistantId && !(await this.deps.storage.agentspaces.findAgent(p.account.id, id, assistantId))) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
    // The value goes to the backend first (outside the metadata transaction: a backend may be the same database).
    const where = { scope: input.scope, agentspaceId: input.scope === 'global' ? '' : id, assistantId: input.scope === 'local' ? assistantId! : '' };
    if (value !== undefined) await this.secrets.put(p.account.name, secretNamespace(where), input.key, value);
    return this.deps.storage.transaction(async (tx) => {
      const now = isoNow(this.deps.clock);
      const record: AgentspaceSecretRecord = {
        ownerAccountId: p.account.id,
        agentspaceId: input.scope === 'global' ? '' : id,
        assistantId: input.scope === 'local' ? assistantId! : '',
        key: input.key,
        scope: input.scope,
        description: input.description ?? null,
        createdAt: now,
        updatedAt: now,
      };
      const existing = (await tx.agentspaces.listSecrets(p.account.id, record.agentspaceId)).find((s) => s.assistantId === record.assistantId && s.key === record.key);
      if (existing) record.createdAt = existing.createdAt;
      await tx.agentspaces.putSecret(record);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.secret.put', agentspaceTarget(p.account, id), {
        key: record.key,
        scope: record.scope,
        assistant_id: assistantId ?? null,
        value_stored: value !== undefined,
      });
      return record;
    });
  }

  /** Every definition that applies in the agentspace: its local and shared ones, then the owner's global ones. */
  async listSecrets(ctx: RequestContext, id: string): Promise<AgentspaceSecretRecord[]> {
    const p = agentspaceReader(this.deps, ctx);
    await mustFindAgentspace(this.deps.storage, p.account, id);
    return secretsOf(this.deps.storage, p.account, id);
  }

  async querySecrets(ctx: RequestContext, id: string, filter: SecretFilter): Promise<AgentspaceSecretRecord[]> {
    return (await this.listSecrets(ctx, id)).filter((s) => secretMatches(s, filter));
  }

  /** The secrets an agent references and where each resolves; with `check`, also whether a value is there. */
  async inspectSecrets(ctx: RequestContext, id: string, assistantId: string, check: boolean): Promise<{ secrets: Array<{ key: string; scope: SecretScope | null }>; errors: GenericError[] }> {
    const p = agentspaceReader(this.deps, ctx);
    await mustFindAgentspace(this.deps.storage, p.account, id);
    const agent = await this.deps.storage.agentspaces.findAgent(p.account.id, id, assistantId);
    if (!agent) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
    const out: Array<{ key: string; scope: SecretScope | null }> = [];
    const errors: GenericError[] = [];
    for (const key of secretRefsIn(migrateSpec(assistantId, agent.spec).spec)) {
      const def = await secretDefinitionFor(this.deps.storage, p.account, id, assistantId, key);
      out.push({ key, scope: def?.scope ?? null });
      if (!def) {
        errors.push({ id: key, message: `No secret '${key}' is defined for agent '${assistantId}' (looked in local, shared and global)`, details: [] });
        continue;
      }
      if (!check) continue;
      try {
        const v = await this.secrets.get(p.account.name, secretNamespace(def), key);
        if (v === undefined) errors.push({ id: key, message: `Secret '${key}' (${def.scope}) has no value in the ${this.secrets.backend} backend`, details: [] });
      } catch (e) {
        errors.push({ id: key, message: `Secret '${key}' (${def.scope}) could not be read from the ${this.secrets.backend} backend`, details: e instanceof Error ? [e.message] : [] });
      }
    }
    return { secrets: out, errors };
  }

  /** Deletes the definitions (and values) matching a non-empty filter. */
  async deleteSecrets(ctx: RequestContext, id: string, filter: SecretFilter): Promise<AgentspaceSecretRecord[]> {
    const p = agentspaceWriter(this.deps, ctx);
    if (Object.values(filter).every((v) => v === undefined)) throw badRequest('A non-empty filter is required, to prevent deleting every secret by accident');
    const doomed = await this.deps.storage.transaction(async (tx) => {
      await mustFindAgentspace(tx, p.account, id);
      const found = (await secretsOf(tx, p.account, id)).filter((s) => secretMatches(s, filter));
      for (const s of found) await tx.agentspaces.deleteSecret(p.account.id, s.agentspaceId, s.assistantId, s.key);
      if (found.length > 0) await this.deps.audit.record(tx.audit, ctx, 'agentspace.secret.delete', agentspaceTarget(p.account, id), { keys: found.map((s) => `${s.scope}:${s.key}`) });
      return found;
    });
    await dropSecretValues(this.secrets, p.account, doomed);
    return doomed;
  }
}

const secretMatches = (s: AgentspaceSecretRecord, f: SecretFilter): boolean =>
  (f.key === undefined || s.key === f.key) &&
  (f.scope === undefined || s.scope === f.scope) &&
  (f.description === undefined || s.description === f.description) &&
  (f.assistant_id === undefined || (s.assistantId || null) === f.assistant_id);
