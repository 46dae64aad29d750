import type { CoreDeps } from '../core-deps.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, notFound, validationFailed } from '../errors.js';
import type { SecretService } from '../secrets/secret-service.js';
import { isoNow } from '../time.js';
import type { AgentspaceAgentRecord, AgentspaceRecord } from './agentspace-repo.js';
import { agentspaceReader, agentspaceTarget, agentspaceWriter, dropSecretValues, matches, mustFindAgentspace, secretDefinitionFor, secretNamespace } from './agentspace-common.js';
import { assistantConfigErrors, replaceSecretRefs, secretRefsIn } from './assistant-config.js';
import { migrateSpec } from './migrations.js';
import { renderParams, type ParameterDef } from './parameters.js';
import { isPlainObject } from './shape.js';

/** The agent configs of an agentspace (Alquimia's AssistantConfig): upsert, query, delete, hold, and resolve for runtimes. */
export class AgentspaceAgents {
  constructor(
    private readonly deps: CoreDeps,
    private readonly secrets: SecretService,
  ) {}

  /**
   * Creates or replaces an agent. A spec with schema errors is refused with every error; one
   * that is valid only once migrated (`"$NAME"` shorthand, legacy `max_iterations`) is kept as
   * sent and marked unvalidated until `validate` migrates it.
   */
  async upsertAgent(ctx: RequestContext, id: string, spec: unknown): Promise<AgentspaceAgentRecord> {
    const p = agentspaceWriter(this.deps, ctx);
    if (!isPlainObject(spec)) throw validationFailed(['(root): must be an object'], 'Validation error in the agent spec');
    const assistantId = typeof spec.assistant_id === 'string' ? spec.assistant_id : '';
    const migrated = migrateSpec(assistantId, spec);
    const errors = assistantConfigErrors(migrated.spec);
    if (errors.length > 0) throw validationFailed(errors, 'Validation error in the agent spec');
    const s = spec;
    const pending = migrated.changes;
    return this.deps.storage.transaction(async (tx) => {
      await mustFindAgentspace(tx, p.account, id);
      const before = await tx.agentspaces.findAgent(p.account.id, id, assistantId);
      const now = isoNow(this.deps.clock);
      const record: AgentspaceAgentRecord = {
        ownerAccountId: p.account.id,
        agentspaceId: id,
        assistantId,
        spec: s,
        validated: pending.length === 0,
        errors: pending.length === 0 ? [] : pending.flatMap((c) => c.changes.map((x) => `needs migration ${c.migration}: ${x}`)),
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.agentspaces.putAgent(record);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.upsert', agentspaceTarget(p.account, id, assistantId), { created: !before, validated: record.validated });
      return record;
    });
  }

  async queryAgents(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<AgentspaceAgentRecord[]> {
    const p = agentspaceReader(this.deps, ctx);
    await mustFindAgentspace(this.deps.storage, p.account, id);
    const agents = await this.deps.storage.agentspaces.listAgents(p.account.id, id);
    return agents.filter((a) => matches(a.spec, filter));
  }

  /** Deletes the agents matching a non-empty filter, with their local secrets and their own parameters. */
  async deleteAgents(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<string[]> {
    const p = agentspaceWriter(this.deps, ctx);
    if (Object.keys(filter).length === 0) throw badRequest('A non-empty filter is required, to prevent deleting every agent by accident');
    const { doomed, secrets } = await this.deps.storage.transaction(async (tx) => {
      const space = await mustFindAgentspace(tx, p.account, id);
      const doomed = (await tx.agentspaces.listAgents(p.account.id, id)).filter((a) => matches(a.spec, filter)).map((a) => a.assistantId);
      if (doomed.length === 0) return { doomed, secrets: [] };
      const secrets = (await tx.agentspaces.listSecrets(p.account.id, id)).filter((s) => doomed.includes(s.assistantId));
      for (const aid of doomed) await tx.agentspaces.deleteAgent(p.account.id, id, aid);
      for (const s of secrets) await tx.agentspaces.deleteSecret(p.account.id, id, s.assistantId, s.key);
      for (const prm of (await tx.agentspaces.listParameters(p.account.id, id)).filter((x) => doomed.includes(x.assistantId))) {
        await tx.agentspaces.deleteParameter(p.account.id, id, prm.assistantId, prm.key);
      }
      if (space.onHold.some((h) => doomed.includes(h))) {
        await tx.agentspaces.update({ ...space, onHold: space.onHold.filter((h) => !doomed.includes(h)), updatedAt: isoNow(this.deps.clock) });
      }
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.delete', agentspaceTarget(p.account, id), { assistant_ids: doomed });
      return { doomed, secrets };
    });
    await dropSecretValues(this.secrets, p.account, secrets);
    return doomed;
  }

  async hold(ctx: RequestContext, id: string, assistantId: string): Promise<AgentspaceRecord> {
    const p = agentspaceWriter(this.deps, ctx);
    return this.deps.storage.transaction(async (tx) => {
      const space = await mustFindAgentspace(tx, p.account, id);
      if (!(await tx.agentspaces.findAgent(p.account.id, id, assistantId))) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
      if (space.onHold.includes(assistantId)) throw conflict(`Agent '${assistantId}' is already on hold`);
      const next = { ...space, onHold: [...space.onHold, assistantId], updatedAt: isoNow(this.deps.clock) };
      await tx.agentspaces.update(next);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.hold', agentspaceTarget(p.account, id, assistantId));
      return next;
    });
  }

  async unhold(ctx: RequestContext, id: string, assistantId: string): Promise<AgentspaceRecord> {
    const p = agentspaceWriter(this.deps, ctx);
    return this.deps.storage.transaction(async (tx) => {
      const space = await mustFindAgentspace(tx, p.account, id);
      if (!space.onHold.includes(assistantId)) throw notFound(`Agent '${assistantId}' is not on hold`);
      const next = { ...space, onHold: space.onHold.filter((h) => h !== assistantId), updatedAt: isoNow(this.deps.clock) };
      await tx.agentspaces.update(next);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.unhold', agentspaceTarget(p.account, id, assistantId));
      return next;
    });
  }

  /**
   * For runtime tokens only: the agent's config with every secret reference replaced by its
   * value (looked up local → shared → global) and `{{ params.key }}` rendered in the system
   * prompt. Refused for a held agent, a disabled agentspace or an unvalidated agent. Audited
   * (which secrets, never their values). `ownerName` reads another account's agentspace.
   */
  async resolve(ctx: RequestContext, id: string, assistantId: string, ownerName?: string): Promise<Record<string, unknown>> {
    const caller = this.deps.policy.requireRuntime(ctx);
    const named = ownerName ? await this.deps.storage.accounts.findByName(ownerName) : caller.account;
    // A runtime token reaches only its own account's agentspaces (unless made for all accounts):
    // another account's looks exactly like a missing one.
    const { principal: p, owner } = this.deps.policy.requireRuntimeFor(ctx, named, () => notFound(`Account '${ownerName}' not found`));
    const { resolved, refs, params } = await this.resolved(owner, id, assistantId);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'agentspace.agent.resolve', agentspaceTarget(owner, id, assistantId), {
      secrets: refs,
      parameters: params,
      owner: owner.name,
      ...(p.token.allAccounts ? { all_accounts: true } : {}),
    });
    return resolved;
  }

  /**
   * For running the agent as a session (issue 19): the caller's own agentspace agent resolved
   * as `resolve` does (same refusals: held, disabled, unvalidated), with read access. The
   * resolved config stays in the core (it carries secret values). Audited like `resolve`.
   */
  async resolveForRun(ctx: RequestContext, id: string, assistantId: string): Promise<Record<string, unknown>> {
    const p = agentspaceReader(this.deps, ctx);
    const { resolved, refs, params } = await this.resolved(p.account, id, assistantId);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'agentspace.agent.resolve', agentspaceTarget(p.account, id, assistantId), { secrets: refs, parameters: params, for: 'session' });
    return resolved;
  }

  /** An agent's config with its secrets and parameters filled in; refused when held, disabled or unvalidated. */
  private async resolved(owner: AccountRecord, id: string, assistantId: string): Promise<{ resolved: Record<string, unknown>; refs: string[]; params: string[] }> {
    const space = await mustFindAgentspace(this.deps.storage, owner, id);
    const agent = await this.deps.storage.agentspaces.findAgent(owner.id, id, assistantId);
    if (!agent) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
    if (space.onHold.includes(assistantId)) throw conflict(`Agent '${assistantId}' is on hold: it serves no inference until it is unheld`);
    if (space.status === 'disabled') throw conflict(`Agentspace '${id}' is disabled`);
    if (!agent.validated) throw conflict(`Agent '${assistantId}' has not been validated: run POST /registry/validate first`);
    const refs = secretRefsIn(agent.spec);
    const values = new Map<string, string>();
    const problems: string[] = [];
    for (const key of refs) {
      const r = await this.resolveSecret(owner, id, assistantId, key);
      if (r.value === undefined) problems.push(r.problem);
      else values.set(key, r.value);
    }
    if (problems.length > 0) throw badRequest(`Agent '${assistantId}' uses secrets that cannot be resolved`, problems);
    const resolved = replaceSecretRefs(agent.spec, (k) => values.get(k)!) as Record<string, unknown>;
    const prof = isPlainObject(resolved.response) && isPlainObject(resolved.response.profile) ? resolved.response.profile : undefined;
    let params: string[] = [];
    if (prof && typeof prof.system_prompt === 'string') {
      const defs = await this.parametersFor(owner, id, assistantId);
      prof.system_prompt = renderParams(prof.system_prompt, defs);
      params = [...defs.keys()];
    }
    return { resolved, refs, params };
  }

  private async resolveSecret(owner: AccountRecord, id: string, assistantId: string, key: string): Promise<{ value: string; problem?: undefined } | { value: undefined; problem: string }> {
    const def = await secretDefinitionFor(this.deps.storage, owner, id, assistantId, key);
    if (!def) return { value: undefined, problem: `secret '${key}': not defined (looked in local, shared and global)` };
    const value = await this.secrets.get(owner.name, secretNamespace(def), key);
    if (value === undefined) return { value: undefined, problem: `secret '${key}' (${def.scope}): no value stored in the ${this.secrets.backend} backend` };
    return { value };
  }

  private async parametersFor(owner: AccountRecord, id: string, assistantId: string): Promise<Map<string, ParameterDef>> {
    const all = await this.deps.storage.agentspaces.listParameters(owner.id, id);
    const out = new Map<string, ParameterDef>();
    for (const r of all.filter((x) => x.assistantId === '')) out.set(r.key, r.definition as unknown as ParameterDef);
    for (const r of all.filter((x) => x.assistantId === assistantId)) out.set(r.key, r.definition as unknown as ParameterDef);
    return out;
  }
}
