import type { CoreDeps } from '../core-deps.js';
import { isDeepStrictEqual } from 'node:util';
import type { Principal, RequestContext } from '../auth/principal.js';
import { badRequest, conflict, notFound, validationFailed } from '../errors.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { AgentspaceAgentRecord, AgentspaceParameterRecord, AgentspaceRecord, AgentspaceSecretRecord } from './agentspace-repo.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import { ASSISTANT_ID, assistantConfigErrors, replaceSecretRefs, SECRET_KEY, secretRefsIn } from './assistant-config.js';
import { migrateSpec, type MigrationChange } from './migrations.js';
import { checkParameterDef, renderParams, type ParameterDef } from './parameters.js';
import { isPlainObject } from './shape.js';

export type SecretScope = AgentspaceSecretRecord['scope'];
export const AGENTSPACE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_AGENTSPACE = 'default';

export interface NewAgentspace {
  agentspaceId?: string;
  name: string;
  namespace: string;
  tag?: string;
  description?: string | null;
  visibility?: AgentspaceRecord['visibility'];
  status?: AgentspaceRecord['status'];
  userId?: string | null;
  sourceRepoId?: string | null;
}
export type AgentspacePatch = Partial<Omit<NewAgentspace, 'agentspaceId'>>;
export type AgentspaceFilter = Partial<Pick<AgentspaceRecord, 'name' | 'namespace' | 'tag' | 'userId' | 'sourceRepoId' | 'visibility' | 'status'>>;

/** A problem with one agent or one secret, as validate and inspect report it. */
export interface GenericError {
  id: string;
  message: string;
  details: string[];
}

export interface ValidationReport {
  validated: number;
  errors: GenericError[];
  deletedSecrets: AgentspaceSecretRecord[];
  migrated: MigrationChange[];
}

export interface SecretFilter {
  key?: string;
  scope?: SecretScope;
  description?: string | null;
  assistant_id?: string | null;
}

/**
 * Agentspaces (Alquimia's 000): an account's mutable working sets of agent configs, secret
 * definitions and parameters. Secret values go only to the secret store; this service hands
 * them out in exactly one place, `resolve`, to `runtime` tokens.
 */
export class AgentspaceService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly secrets: SecretService,
  ) {}

  // ---- agentspaces -------------------------------------------------------------------------

  async get(ctx: RequestContext, id: string): Promise<AgentspaceRecord> {
    const p = this.reader(ctx);
    return this.mustFind(this.deps.storage, p.account, id);
  }

  async create(ctx: RequestContext, input: NewAgentspace): Promise<AgentspaceRecord> {
    const p = this.writer(ctx);
    this.checkNames(input);
    return this.deps.storage.transaction(async (tx) => {
      const existing = await tx.agentspaces.list(p.account.id);
      if (existing.some((a) => a.name === input.name && a.namespace === input.namespace)) {
        throw badRequest(`An agentspace named '${input.name}' already exists in namespace '${input.namespace}'`);
      }
      const id = input.agentspaceId ?? this.newId(input, existing);
      if (!AGENTSPACE_ID.test(id)) throw badRequest(`agentspace_id '${id.slice(0, 80)}' must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`);
      if (existing.some((a) => a.agentspaceId === id)) throw badRequest(`An agentspace with id '${id}' already exists`);
      const now = isoNow(this.deps.clock);
      const record: AgentspaceRecord = {
        ownerAccountId: p.account.id,
        agentspaceId: id,
        name: input.name,
        namespace: input.namespace,
        tag: input.tag ?? 'latest',
        description: input.description ?? null,
        visibility: input.visibility ?? 'private',
        status: input.status ?? 'enabled',
        userId: input.userId ?? null,
        sourceRepoId: input.sourceRepoId ?? null,
        onHold: [],
        createdAt: now,
        updatedAt: now,
      };
      await tx.agentspaces.insert(record);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.create', this.target(p.account, id), { name: input.name, namespace: input.namespace });
      return record;
    });
  }

  async update(ctx: RequestContext, id: string, patch: AgentspacePatch): Promise<AgentspaceRecord> {
    const p = this.writer(ctx);
    this.checkNames(patch);
    return this.deps.storage.transaction(async (tx) => {
      const current = await this.mustFind(tx, p.account, id);
      const next: AgentspaceRecord = { ...current };
      for (const [k, v] of Object.entries(patch) as Array<[keyof AgentspacePatch, unknown]>) {
        if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
      }
      next.updatedAt = isoNow(this.deps.clock);
      if (next.name !== current.name || next.namespace !== current.namespace) {
        const clash = (await tx.agentspaces.list(p.account.id)).find((a) => a.agentspaceId !== id && a.name === next.name && a.namespace === next.namespace);
        if (clash) throw badRequest(`An agentspace named '${next.name}' already exists in namespace '${next.namespace}'`);
      }
      await tx.agentspaces.update(next);
      // The repositories it was published into in this server's /v2/ follow its visibility.
      const repositories = next.visibility !== current.visibility ? await tx.oci.setAgentspaceVisibility(p.account.id, id, next.visibility) : [];
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.update', this.target(p.account, id), {
        fields: Object.keys(patch).filter((k) => patch[k as keyof AgentspacePatch] !== undefined),
        ...(repositories.length > 0 ? { repositories_visibility: { visibility: next.visibility, repositories } } : {}),
      });
      return next;
    });
  }

  /** Deletes the agentspace with its agents, parameters, shared and local secrets (definitions and values). */
  async destroy(ctx: RequestContext, id: string): Promise<void> {
    const p = this.writer(ctx);
    const secrets = await this.deps.storage.transaction(async (tx) => {
      await this.mustFind(tx, p.account, id);
      const doomed = await tx.agentspaces.listSecrets(p.account.id, id);
      await tx.agentspaces.delete(p.account.id, id);
      // Its published repositories keep their visibility, but no longer follow an agentspace of that id.
      await tx.oci.forgetAgentspace(p.account.id, id);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.delete', this.target(p.account, id), { secrets_deleted: doomed.map((s) => s.key) });
      return doomed;
    });
    await this.dropValues(p.account, secrets);
  }

  async query(ctx: RequestContext, filter: AgentspaceFilter): Promise<AgentspaceRecord[]> {
    const p = this.reader(ctx);
    const all = await this.deps.storage.agentspaces.list(p.account.id);
    return all.filter((a) => Object.entries(filter).every(([k, v]) => v === undefined || (a as unknown as Record<string, unknown>)[k] === v));
  }

  // ---- agents --------------------------------------------------------------------------------

  /**
   * Creates or replaces an agent. A spec with schema errors is refused with every error; one
   * that is valid only once migrated (`"$NAME"` shorthand, legacy `max_iterations`) is kept as
   * sent and marked unvalidated until `validate` migrates it.
   */
  async upsertAgent(ctx: RequestContext, id: string, spec: unknown): Promise<AgentspaceAgentRecord> {
    const p = this.writer(ctx);
    if (!isPlainObject(spec)) throw validationFailed(['(root): must be an object'], 'Validation error in the agent spec');
    const assistantId = typeof spec.assistant_id === 'string' ? spec.assistant_id : '';
    const migrated = migrateSpec(assistantId, spec);
    const errors = assistantConfigErrors(migrated.spec);
    if (errors.length > 0) throw validationFailed(errors, 'Validation error in the agent spec');
    const s = spec;
    const pending = migrated.changes;
    return this.deps.storage.transaction(async (tx) => {
      await this.mustFind(tx, p.account, id);
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
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.upsert', this.target(p.account, id, assistantId), { created: !before, validated: record.validated });
      return record;
    });
  }

  async queryAgents(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<AgentspaceAgentRecord[]> {
    const p = this.reader(ctx);
    await this.mustFind(this.deps.storage, p.account, id);
    const agents = await this.deps.storage.agentspaces.listAgents(p.account.id, id);
    return agents.filter((a) => matches(a.spec, filter));
  }

  /** Deletes the agents matching a non-empty filter, with their local secrets and their own parameters. */
  async deleteAgents(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<string[]> {
    const p = this.writer(ctx);
    if (Object.keys(filter).length === 0) throw badRequest('A non-empty filter is required, to prevent deleting every agent by accident');
    const { doomed, secrets } = await this.deps.storage.transaction(async (tx) => {
      const space = await this.mustFind(tx, p.account, id);
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
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.delete', this.target(p.account, id), { assistant_ids: doomed });
      return { doomed, secrets };
    });
    await this.dropValues(p.account, secrets);
    return doomed;
  }

  async hold(ctx: RequestContext, id: string, assistantId: string): Promise<AgentspaceRecord> {
    const p = this.writer(ctx);
    return this.deps.storage.transaction(async (tx) => {
      const space = await this.mustFind(tx, p.account, id);
      if (!(await tx.agentspaces.findAgent(p.account.id, id, assistantId))) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
      if (space.onHold.includes(assistantId)) throw conflict(`Agent '${assistantId}' is already on hold`);
      const next = { ...space, onHold: [...space.onHold, assistantId], updatedAt: isoNow(this.deps.clock) };
      await tx.agentspaces.update(next);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.hold', this.target(p.account, id, assistantId));
      return next;
    });
  }

  async unhold(ctx: RequestContext, id: string, assistantId: string): Promise<AgentspaceRecord> {
    const p = this.writer(ctx);
    return this.deps.storage.transaction(async (tx) => {
      const space = await this.mustFind(tx, p.account, id);
      if (!space.onHold.includes(assistantId)) throw notFound(`Agent '${assistantId}' is not on hold`);
      const next = { ...space, onHold: space.onHold.filter((h) => h !== assistantId), updatedAt: isoNow(this.deps.clock) };
      await tx.agentspaces.update(next);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.agent.unhold', this.target(p.account, id, assistantId));
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
    const space = await this.mustFind(this.deps.storage, owner, id);
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
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'agentspace.agent.resolve', this.target(owner, id, assistantId), {
      secrets: refs,
      parameters: params,
      owner: owner.name,
      ...(p.token.allAccounts ? { all_accounts: true } : {}),
    });
    return resolved;
  }

  // ---- secrets -------------------------------------------------------------------------------

  /** Defines a secret (and stores its value when one is sent). Refused while the agentspace has unvalidated agents. */
  async addSecret(ctx: RequestContext, id: string, input: { key: string; scope: SecretScope; description?: string | null }, value: string | undefined, assistantId?: string | null): Promise<AgentspaceSecretRecord> {
    const p = this.writer(ctx);
    if (!SECRET_KEY.test(input.key)) throw badRequest(`'${input.key.slice(0, 130)}' is not a valid secret key: letters, digits, '_', '.' or '-', starting with a letter or '_' (at most 128)`);
    if (input.scope === 'local' && !assistantId) throw badRequest("A 'local' secret belongs to one agent: pass assistant_id");
    if (input.scope !== 'local' && assistantId) throw badRequest(`assistant_id goes only with scope 'local' (this secret is '${input.scope}')`);
    await this.mustFind(this.deps.storage, p.account, id);
    const unvalidated = (await this.deps.storage.agentspaces.listAgents(p.account.id, id)).filter((a) => !a.validated).map((a) => a.assistantId);
    if (unvalidated.length > 0) throw badRequest('Agentspace has unvalidated agents: run POST /registry/validate first', unvalidated.map((a) => `agent '${a}' is not validated`));
    if (assistantId && !(await this.deps.storage.agentspaces.findAgent(p.account.id, id, assistantId))) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
    // The value goes to the backend first (outside the metadata transaction: a backend may be the same database).
    const where = { scope: input.scope, agentspaceId: input.scope === 'global' ? '' : id, assistantId: input.scope === 'local' ? assistantId! : '' };
    if (value !== undefined) await this.secrets.put(p.account.name, this.namespaceOf(where), input.key, value);
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
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.secret.put', this.target(p.account, id), { key: record.key, scope: record.scope, assistant_id: assistantId ?? null, value_stored: value !== undefined });
      return record;
    });
  }

  /** Every definition that applies in the agentspace: its local and shared ones, then the owner's global ones. */
  async listSecrets(ctx: RequestContext, id: string): Promise<AgentspaceSecretRecord[]> {
    const p = this.reader(ctx);
    await this.mustFind(this.deps.storage, p.account, id);
    return this.secretsOf(this.deps.storage, p.account, id);
  }

  async querySecrets(ctx: RequestContext, id: string, filter: SecretFilter): Promise<AgentspaceSecretRecord[]> {
    return (await this.listSecrets(ctx, id)).filter((s) => secretMatches(s, filter));
  }

  /** The secrets an agent references and where each resolves; with `check`, also whether a value is there. */
  async inspectSecrets(ctx: RequestContext, id: string, assistantId: string, check: boolean): Promise<{ secrets: Array<{ key: string; scope: SecretScope | null }>; errors: GenericError[] }> {
    const p = this.reader(ctx);
    await this.mustFind(this.deps.storage, p.account, id);
    const agent = await this.deps.storage.agentspaces.findAgent(p.account.id, id, assistantId);
    if (!agent) throw notFound(`Agent '${assistantId}' not found in agentspace '${id}'`);
    const out: Array<{ key: string; scope: SecretScope | null }> = [];
    const errors: GenericError[] = [];
    for (const key of secretRefsIn(migrateSpec(assistantId, agent.spec).spec)) {
      const def = await this.definitionFor(p.account, id, assistantId, key);
      out.push({ key, scope: def?.scope ?? null });
      if (!def) {
        errors.push({ id: key, message: `No secret '${key}' is defined for agent '${assistantId}' (looked in local, shared and global)`, details: [] });
        continue;
      }
      if (!check) continue;
      try {
        const v = await this.secrets.get(p.account.name, this.namespaceOf(def), key);
        if (v === undefined) errors.push({ id: key, message: `Secret '${key}' (${def.scope}) has no value in the ${this.secrets.backend} backend`, details: [] });
      } catch (e) {
        errors.push({ id: key, message: `Secret '${key}' (${def.scope}) could not be read from the ${this.secrets.backend} backend`, details: e instanceof Error ? [e.message] : [] });
      }
    }
    return { secrets: out, errors };
  }

  /** Deletes the definitions (and values) matching a non-empty filter. */
  async deleteSecrets(ctx: RequestContext, id: string, filter: SecretFilter): Promise<AgentspaceSecretRecord[]> {
    const p = this.writer(ctx);
    if (Object.values(filter).every((v) => v === undefined)) throw badRequest('A non-empty filter is required, to prevent deleting every secret by accident');
    const doomed = await this.deps.storage.transaction(async (tx) => {
      await this.mustFind(tx, p.account, id);
      const found = (await this.secretsOf(tx, p.account, id)).filter((s) => secretMatches(s, filter));
      for (const s of found) await tx.agentspaces.deleteSecret(p.account.id, s.agentspaceId, s.assistantId, s.key);
      if (found.length > 0) await this.deps.audit.record(tx.audit, ctx, 'agentspace.secret.delete', this.target(p.account, id), { keys: found.map((s) => `${s.scope}:${s.key}`) });
      return found;
    });
    await this.dropValues(p.account, doomed);
    return doomed;
  }

  // ---- parameters ----------------------------------------------------------------------------

  async addParameter(ctx: RequestContext, id: string, input: unknown): Promise<ParameterDef> {
    const p = this.writer(ctx);
    const def = checkParameterDef(input);
    return this.deps.storage.transaction(async (tx) => {
      await this.mustFind(tx, p.account, id);
      if (def.assistant_id && !(await tx.agentspaces.findAgent(p.account.id, id, def.assistant_id))) throw notFound(`Agent '${def.assistant_id}' not found in agentspace '${id}'`);
      const now = isoNow(this.deps.clock);
      const assistantId = def.assistant_id ?? '';
      const existing = (await tx.agentspaces.listParameters(p.account.id, id)).find((x) => x.assistantId === assistantId && x.key === def.key);
      const record: AgentspaceParameterRecord = { ownerAccountId: p.account.id, agentspaceId: id, assistantId, key: def.key, definition: { ...def }, createdAt: existing?.createdAt ?? now, updatedAt: now };
      await tx.agentspaces.putParameter(record);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.parameter.put', this.target(p.account, id), { key: def.key, assistant_id: def.assistant_id ?? null });
      return def;
    });
  }

  async queryParameters(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<ParameterDef[]> {
    const p = this.reader(ctx);
    await this.mustFind(this.deps.storage, p.account, id);
    const all = (await this.deps.storage.agentspaces.listParameters(p.account.id, id)).map((r) => r.definition as unknown as ParameterDef);
    return all.filter((d) => matches(d as unknown as Record<string, unknown>, filter));
  }

  async deleteParameters(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<ParameterDef[]> {
    const p = this.writer(ctx);
    if (Object.keys(filter).length === 0) throw badRequest('A non-empty filter is required, to prevent deleting every parameter by accident');
    return this.deps.storage.transaction(async (tx) => {
      await this.mustFind(tx, p.account, id);
      const doomed = (await tx.agentspaces.listParameters(p.account.id, id)).filter((r) => matches(r.definition, filter));
      for (const r of doomed) await tx.agentspaces.deleteParameter(p.account.id, id, r.assistantId, r.key);
      if (doomed.length > 0) await this.deps.audit.record(tx.audit, ctx, 'agentspace.parameter.delete', this.target(p.account, id), { keys: doomed.map((r) => r.key) });
      return doomed.map((r) => r.definition as unknown as ParameterDef);
    });
  }

  // ---- validate + migrate --------------------------------------------------------------------

  /**
   * Runs every migration on every agent, validates the result against the schema (unknown
   * fields are errors), stores the migrated valid agents, then deletes the local and shared
   * secrets no agent references. `dryRun` reports the same and changes nothing.
   */
  async validate(ctx: RequestContext, id: string, dryRun: boolean): Promise<ValidationReport> {
    const p = dryRun ? this.reader(ctx) : this.writer(ctx);
    const run = async (tx: StorageRepos): Promise<ValidationReport> => {
      await this.mustFind(tx, p.account, id);
      const agents = await tx.agentspaces.listAgents(p.account.id, id);
      const report: ValidationReport = { validated: 0, errors: [], deletedSecrets: [], migrated: [] };
      const specs = new Map<string, Record<string, unknown>>();
      for (const a of agents) {
        const { spec, changes } = migrateSpec(a.assistantId, a.spec);
        report.migrated.push(...changes);
        const errors = assistantConfigErrors(spec);
        if (errors.length === 0 && spec.assistant_id !== a.assistantId) errors.push(`assistant_id: '${String(spec.assistant_id)}' differs from the id it is stored under ('${a.assistantId}')`);
        specs.set(a.assistantId, spec);
        if (errors.length > 0) {
          report.errors.push({ id: a.assistantId, message: `Agent '${a.assistantId}' failed validation`, details: errors });
          if (!dryRun) await tx.agentspaces.putAgent({ ...a, validated: false, errors, updatedAt: isoNow(this.deps.clock) });
          continue;
        }
        report.validated++;
        if (!dryRun && (!a.validated || changes.length > 0)) await tx.agentspaces.putAgent({ ...a, spec, validated: true, errors: [], updatedAt: isoNow(this.deps.clock) });
      }
      const unused = unusedSecrets(await tx.agentspaces.listSecrets(p.account.id, id), specs);
      if (!dryRun) {
        for (const s of unused) await tx.agentspaces.deleteSecret(p.account.id, id, s.assistantId, s.key);
        report.deletedSecrets = unused;
        await this.deps.audit.record(tx.audit, ctx, 'agentspace.validate', this.target(p.account, id), {
          validated: report.validated,
          failed: report.errors.map((e) => e.id),
          migrated: report.migrated.map((m) => `${m.assistant_id}:${m.migration}`),
          deleted_secrets: unused.map((s) => `${s.scope}:${s.key}`),
        });
      }
      return report;
    };
    if (dryRun) return run(this.deps.storage);
    const report = await this.deps.storage.transaction(run);
    await this.dropValues(p.account, report.deletedSecrets);
    return report;
  }

  /** For publish: the problems that keep an agentspace from being published (unvalidated agents, unused secrets). */
  async publishProblems(repos: StorageRepos, owner: AccountRecord, id: string): Promise<{ unvalidated: string[]; unused: AgentspaceSecretRecord[] }> {
    const agents = await repos.agentspaces.listAgents(owner.id, id);
    const specs = new Map(agents.map((a) => [a.assistantId, a.spec]));
    return { unvalidated: agents.filter((a) => !a.validated).map((a) => a.assistantId), unused: unusedSecrets(await repos.agentspaces.listSecrets(owner.id, id), specs) };
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Where a definition's value lives in the secret store. */
  namespaceOf(s: Pick<AgentspaceSecretRecord, 'scope' | 'agentspaceId' | 'assistantId'>): string {
    if (s.scope === 'global') return 'agentspaces/_global';
    if (s.scope === 'shared') return `agentspaces/${s.agentspaceId}`;
    return `agentspaces/${s.agentspaceId}/agents/${s.assistantId}`;
  }

  reader(ctx: RequestContext): Principal {
    return this.deps.policy.requirePermission(ctx, 'read');
  }

  writer(ctx: RequestContext): Principal {
    this.deps.policy.requireWritable();
    return this.deps.policy.requirePermission(ctx, 'publish');
  }

  async mustFind(repos: StorageRepos, owner: AccountRecord, id: string): Promise<AgentspaceRecord> {
    const space = AGENTSPACE_ID.test(id) ? await repos.agentspaces.find(owner.id, id) : undefined;
    if (!space) throw notFound(`Agentspace '${id.slice(0, 80)}' not found`);
    return space;
  }

  target(owner: AccountRecord, id: string, assistantId?: string): string {
    return `agentspace:${owner.name}/${id}${assistantId ? `/${assistantId}` : ''}`;
  }

  async secretsOf(repos: StorageRepos, owner: AccountRecord, id: string): Promise<AgentspaceSecretRecord[]> {
    return [...(await repos.agentspaces.listSecrets(owner.id, id)), ...(await repos.agentspaces.listSecrets(owner.id, ''))];
  }

  private async definitionFor(owner: AccountRecord, id: string, assistantId: string, key: string): Promise<AgentspaceSecretRecord | undefined> {
    const here = await this.deps.storage.agentspaces.listSecrets(owner.id, id);
    return (
      here.find((s) => s.scope === 'local' && s.assistantId === assistantId && s.key === key) ??
      here.find((s) => s.scope === 'shared' && s.key === key) ??
      (await this.deps.storage.agentspaces.listSecrets(owner.id, '')).find((s) => s.key === key)
    );
  }

  private async resolveSecret(owner: AccountRecord, id: string, assistantId: string, key: string): Promise<{ value: string; problem?: undefined } | { value: undefined; problem: string }> {
    const def = await this.definitionFor(owner, id, assistantId, key);
    if (!def) return { value: undefined, problem: `secret '${key}': not defined (looked in local, shared and global)` };
    const value = await this.secrets.get(owner.name, this.namespaceOf(def), key);
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

  /**
   * Removes deleted definitions' values from the backend, after the metadata commit (a backend
   * may share the database). A read-only backend (environment) keeps its own.
   */
  private async dropValues(owner: AccountRecord, secrets: AgentspaceSecretRecord[]): Promise<void> {
    if (this.secrets.backend === 'env') return;
    for (const s of secrets) await this.secrets.delete(owner.name, this.namespaceOf(s), s.key);
  }

  private checkNames(input: { name?: string; namespace?: string }): void {
    const problems: string[] = [];
    if (input.name !== undefined && !/^\S(.{0,126}\S)?$/.test(input.name)) problems.push('name: 1-128 characters, not starting or ending with a space');
    if (input.namespace !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input.namespace)) problems.push("namespace: 1-64 letters, digits, '.', '_' or '-'");
    if (problems.length > 0) throw validationFailed(problems);
  }

  /** `default` for an owner's first agentspace without an id, else a slug of namespace and name. */
  private newId(input: NewAgentspace, existing: AgentspaceRecord[]): string {
    if (!existing.some((a) => a.agentspaceId === DEFAULT_AGENTSPACE)) return DEFAULT_AGENTSPACE;
    const base = `${input.namespace}-${input.name}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 56) || 'agentspace';
    let id = base;
    for (let n = 2; existing.some((a) => a.agentspaceId === id); n++) id = `${base}-${n}`;
    return id;
  }
}

/** Each filter field equals the item's field (or, for a list field, is one of its items). */
const matches = (item: Record<string, unknown>, filter: Record<string, unknown>): boolean =>
  Object.entries(filter).every(([k, v]) => {
    const have = item[k];
    if (Array.isArray(have) && !Array.isArray(v)) return have.some((x) => isDeepStrictEqual(x, v));
    return isDeepStrictEqual(have ?? null, v ?? null);
  });

const secretMatches = (s: AgentspaceSecretRecord, f: SecretFilter): boolean =>
  (f.key === undefined || s.key === f.key) &&
  (f.scope === undefined || s.scope === f.scope) &&
  (f.description === undefined || s.description === f.description) &&
  (f.assistant_id === undefined || (s.assistantId || null) === f.assistant_id);

/** Local and shared definitions no agent references (a local one counts only for its own agent). */
const unusedSecrets = (secrets: AgentspaceSecretRecord[], specs: Map<string, Record<string, unknown>>): AgentspaceSecretRecord[] => {
  const refs = new Map([...specs].map(([aid, spec]) => [aid, new Set(secretRefsIn(migrateSpec(aid, spec).spec))]));
  return secrets.filter((s) => {
    if (s.scope === 'local') return !(refs.get(s.assistantId)?.has(s.key) ?? false);
    return ![...refs.values()].some((r) => r.has(s.key));
  });
};

export { ASSISTANT_ID };
