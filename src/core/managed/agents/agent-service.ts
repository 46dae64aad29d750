import type { RequestContext } from '../../auth/principal.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import type { StorageRepos } from '../../storage.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { archiveFilter, ownedObject, readableObject, writer, type ManagedDeps, listOwned } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { type Paged, type PageRequest } from '../page-token.js';
import { FIRST_REVISION, findRevision, listRevisions, nextRevision, recordRevision } from '../revision-history.js';
import { canonical, newAgentConfig, patchAgentConfig, type AgentConfig, type AgentInput } from './agent-config.js';
import { publishAgentPackage, type AgentPublishInput, type AgentPublishResult } from './agent-package.js';
import { checkRoster } from '../../sessions/threads/roster-check.js';
import { newManagedObject } from '../new-managed-object.js';

/** One revision of a managed agent, as every door shows it. */
export interface AgentView {
  id: string;
  version: number;
  config: AgentConfig;
  createdAt: string;
  /** When this revision was made. */
  updatedAt: string;
  archivedAt: string | null;
}

export interface AgentListQuery extends PageRequest {
  archived?: boolean;
  includeArchived?: boolean;
}

const view = (o: ManagedObjectRecord, config: AgentConfig, version: number, updatedAt: string): AgentView => ({
  id: o.id,
  version,
  config,
  createdAt: o.createdAt,
  updatedAt,
  archivedAt: o.archivedAt,
});

const current = (o: ManagedObjectRecord): AgentView => view(o, o.data as unknown as AgentConfig, o.version, o.updatedAt);

/**
 * Managed agents: configurations with an integer version history. A change makes a new,
 * immutable revision; an update that changes nothing makes none; an update naming a version
 * other than the current one is refused (409), so concurrent editors cannot overwrite each other.
 */
export class AgentService {
  constructor(private readonly deps: ManagedDeps) {}

  async create(ctx: RequestContext, input: AgentInput): Promise<AgentView> {
    return (await this.insert(ctx, input, null))!;
  }

  /**
   * Creates the agent under a run key (the agent a package version maps to, issue 19), or nothing
   * when another run already holds the key (undefined: read that one): insert-or-read, so
   * concurrent first runs, in one process or several, make one agent.
   */
  async createKeyed(ctx: RequestContext, input: AgentInput, key: string): Promise<AgentView | undefined> {
    return this.insert(ctx, input, key);
  }

  private async insert(ctx: RequestContext, input: AgentInput, key: string | null): Promise<AgentView | undefined> {
    const p = writer(this.deps, ctx);
    const config = newAgentConfig(input);
    return this.deps.storage.transaction(async (tx) => {
      await this.checkEnvironment(tx, config.environment_id, ctx);
      await checkRoster(tx.managed, p.account.id, null, config.multiagent);
      const now = isoNow(this.deps.clock);
      const row = newManagedObject(
        {
          id: newManagedId('agent'),
          kind: 'agent',
          accountId: p.account.id,
          refId: config.environment_id,
          name: key,
          version: FIRST_REVISION,
          data: config as unknown as Record<string, unknown>,
        },
        now,
      );
      const o = key === null ? await tx.managed.insert(row) : await tx.managed.insertUnlessNamed(row);
      if (!o) return undefined;
      await recordRevision(tx.managed, o.id, FIRST_REVISION, o.data, now);
      await this.deps.audit.record(tx.audit, ctx, 'managed.agent.create', o.id, { name: config.name, version: FIRST_REVISION });
      return current(o);
    });
  }

  async list(ctx: RequestContext, q: AgentListQuery): Promise<Paged<AgentView>> {
    return listOwned(this.deps, ctx, 'agent', q, { archived: archiveFilter(q) }, current);
  }

  /** The current revision, or revision `version` when given. */
  async get(ctx: RequestContext, id: string, version?: number): Promise<AgentView> {
    const o = await readableObject(this.deps, ctx, 'agent', id);
    if (version === undefined || version === o.version) return current(o);
    const r = await findRevision(this.deps.storage.managed, o.id, version);
    if (!r) throw notFound(`Agent ${id} has no version ${version} (its current version is ${o.version})`);
    return view(o, r.data as unknown as AgentConfig, r.revision, r.createdAt);
  }

  /** Every revision, newest first. */
  async versions(ctx: RequestContext, id: string, req: PageRequest): Promise<Paged<AgentView>> {
    const o = await readableObject(this.deps, ctx, 'agent', id);
    const page = await listRevisions(this.deps.storage.managed, o.id, req);
    return { rows: page.rows.map((r) => view(o, r.data as unknown as AgentConfig, r.revision, r.createdAt)), nextPage: page.nextPage };
  }

  /** Applies a partial update; `expectedVersion` (the body's `version`) must be the current one when given. */
  async update(ctx: RequestContext, id: string, input: AgentInput, expectedVersion?: number): Promise<AgentView> {
    const p = writer(this.deps, ctx);
    return this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'agent', id, p, true);
      if (o.archivedAt) throw badRequest(`Agent ${id} is archived and cannot be changed`);
      if (expectedVersion !== undefined && expectedVersion !== o.version) {
        throw conflict(`Agent ${id} is at version ${o.version}, not ${expectedVersion}: read it again and reapply your change`);
      }
      const before = o.data as unknown as AgentConfig;
      const after = patchAgentConfig(before, input);
      if (canonical(after) === canonical(before)) return current(o);
      if (after.environment_id !== before.environment_id) await this.checkEnvironment(tx, after.environment_id, ctx);
      if (canonical(after.multiagent) !== canonical(before.multiagent)) await checkRoster(tx.managed, p.account.id, o.id, after.multiagent);
      const now = isoNow(this.deps.clock);
      const version = nextRevision(o.version);
      const data = after as unknown as Record<string, unknown>;
      await recordRevision(tx.managed, o.id, version, data, now);
      await tx.managed.update(o.id, { data, version, refId: after.environment_id, updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.agent.update', o.id, { version });
      return view(o, after, version, now);
    });
  }

  /** Archives the agent (a soft delete: it and its revisions stay readable; it cannot change any more). */
  async archive(ctx: RequestContext, id: string): Promise<AgentView> {
    const p = writer(this.deps, ctx);
    return this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'agent', id, p, true);
      if (o.archivedAt) return current(o);
      const now = isoNow(this.deps.clock);
      await tx.managed.update(o.id, { archivedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.agent.archive', o.id, { version: o.version });
      return current({ ...o, archivedAt: now });
    });
  }

  /** Publishes the agent (its current version, or `version`) as a semver agent package in the caller's scope. */
  async publish(ctx: RequestContext, id: string, input: AgentPublishInput & { agentVersion?: number }): Promise<AgentPublishResult> {
    // Only its owner publishes a managed agent, on purpose: reading it (an administrator may) is not enough.
    await ownedObject(this.deps.storage, 'agent', id, writer(this.deps, ctx));
    const agent = await this.get(ctx, id, input.agentVersion);
    return publishAgentPackage(this.deps.packages, ctx, agent, input);
  }

  /** The environment an agent names must be the caller's and live; it is locked so a concurrent delete waits. */
  private async checkEnvironment(tx: StorageRepos, environmentId: string | null, ctx: RequestContext): Promise<void> {
    if (environmentId === null) return;
    const env = await ownedObject(tx, 'environment', environmentId, ctx.principal!, true).catch(() => undefined);
    if (!env) throw badRequest(`environment_id: environment ${environmentId} not found`);
    if (env.archivedAt) throw badRequest(`environment_id: environment ${environmentId} is archived`);
  }
}
