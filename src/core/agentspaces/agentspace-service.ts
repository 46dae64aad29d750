import type { CoreDeps } from '../core-deps.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, validationFailed } from '../errors.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import type { AgentspaceRecord, AgentspaceSecretRecord } from './agentspace-repo.js';
import {
  AGENTSPACE_ID,
  DEFAULT_AGENTSPACE,
  agentspaceReader,
  agentspaceTarget,
  agentspaceWriter,
  dropSecretValues,
  mustFindAgentspace,
  unusedSecrets,
  type GenericError,
} from './agentspace-common.js';
import { ASSISTANT_ID, assistantConfigErrors } from './assistant-config.js';
import { migrateSpec, type MigrationChange } from './migrations.js';

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

export interface ValidationReport {
  validated: number;
  errors: GenericError[];
  deletedSecrets: AgentspaceSecretRecord[];
  migrated: MigrationChange[];
}

/**
 * Agentspaces (Alquimia's 000): an account's mutable working sets of agent configs, secret
 * definitions and parameters. This service keeps the agentspaces themselves, and validates and
 * migrates them as a whole; their agents, secrets and parameters have a service each
 * (agentspace-agents.ts, agentspace-secrets.ts, agentspace-parameters.ts). Secret values go only
 * to the secret store; they are handed out in exactly one place, `AgentspaceAgents.resolve`, to
 * `runtime` tokens.
 */
export class AgentspaceService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly secrets: SecretService,
  ) {}

  async get(ctx: RequestContext, id: string): Promise<AgentspaceRecord> {
    const p = agentspaceReader(this.deps, ctx);
    return mustFindAgentspace(this.deps.storage, p.account, id);
  }

  async create(ctx: RequestContext, input: NewAgentspace): Promise<AgentspaceRecord> {
    const p = agentspaceWriter(this.deps, ctx);
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
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.create', agentspaceTarget(p.account, id), { name: input.name, namespace: input.namespace });
      return record;
    });
  }

  async update(ctx: RequestContext, id: string, patch: AgentspacePatch): Promise<AgentspaceRecord> {
    const p = agentspaceWriter(this.deps, ctx);
    this.checkNames(patch);
    return this.deps.storage.transaction(async (tx) => {
      const current = await mustFindAgentspace(tx, p.account, id);
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
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.update', agentspaceTarget(p.account, id), {
        fields: Object.keys(patch).filter((k) => patch[k as keyof AgentspacePatch] !== undefined),
        ...(repositories.length > 0 ? { repositories_visibility: { visibility: next.visibility, repositories } } : {}),
      });
      return next;
    });
  }

  /** Deletes the agentspace with its agents, parameters, shared and local secrets (definitions and values). */
  async destroy(ctx: RequestContext, id: string): Promise<void> {
    const p = agentspaceWriter(this.deps, ctx);
    const secrets = await this.deps.storage.transaction(async (tx) => {
      await mustFindAgentspace(tx, p.account, id);
      const doomed = await tx.agentspaces.listSecrets(p.account.id, id);
      await tx.agentspaces.delete(p.account.id, id);
      // Its published repositories keep their visibility, but no longer follow an agentspace of that id.
      await tx.oci.forgetAgentspace(p.account.id, id);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.delete', agentspaceTarget(p.account, id), { secrets_deleted: doomed.map((s) => s.key) });
      return doomed;
    });
    await dropSecretValues(this.secrets, p.account, secrets);
  }

  async query(ctx: RequestContext, filter: AgentspaceFilter): Promise<AgentspaceRecord[]> {
    const p = agentspaceReader(this.deps, ctx);
    const all = await this.deps.storage.agentspaces.list(p.account.id);
    return all.filter((a) => Object.entries(filter).every(([k, v]) => v === undefined || (a as unknown as Record<string, unknown>)[k] === v));
  }

  /**
   * Runs every migration on every agent, validates the result against the schema (unknown
   * fields are errors), stores the migrated valid agents, then deletes the local and shared
   * secrets no agent references. `dryRun` reports the same and changes nothing.
   */
  async validate(ctx: RequestContext, id: string, dryRun: boolean): Promise<ValidationReport> {
    const p = dryRun ? agentspaceReader(this.deps, ctx) : agentspaceWriter(this.deps, ctx);
    const run = async (tx: StorageRepos): Promise<ValidationReport> => {
      await mustFindAgentspace(tx, p.account, id);
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
        await this.deps.audit.record(tx.audit, ctx, 'agentspace.validate', agentspaceTarget(p.account, id), {
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
    await dropSecretValues(this.secrets, p.account, report.deletedSecrets);
    return report;
  }

  /** For publish: the problems that keep an agentspace from being published (unvalidated agents, unused secrets). */
  async publishProblems(repos: StorageRepos, owner: AccountRecord, id: string): Promise<{ unvalidated: string[]; unused: AgentspaceSecretRecord[] }> {
    const agents = await repos.agentspaces.listAgents(owner.id, id);
    const specs = new Map(agents.map((a) => [a.assistantId, a.spec]));
    return { unvalidated: agents.filter((a) => !a.validated).map((a) => a.assistantId), unused: unusedSecrets(await repos.agentspaces.listSecrets(owner.id, id), specs) };
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
    const base =
      `${input.namespace}-${input.name}`
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/^[^a-z0-9]+/, '')
        .slice(0, 56) || 'agentspace';
    let id = base;
    for (let n = 2; existing.some((a) => a.agentspaceId === id); n++) id = `${base}-${n}`;
    return id;
  }
}

export { ASSISTANT_ID };
