import type { AuditLog } from '../audit/audit-log.js';
import type { AccessPolicy } from '../auth/access-policy.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { CoreDeps } from '../core-deps.js';
import type { Storage } from '../storage.js';
import { isoNow, type Clock } from '../time.js';
import { DEFAULT_GROUP, groupNameProblem } from './group-names.js';
import type { GroupStore } from './group-store.js';

/** A group as ToolHive shows it: its name and the clients registered to it. */
export interface GroupView {
  name: string;
  registered_clients: string[];
  skills: string[];
  plugins: string[];
}

/**
 * What must happen to a group's members before it goes: the workload supervisor moves them to the
 * default group, or deletes them when `withWorkloads` (ToolHive's `?with-workloads=true`).
 */
export type GroupDeletionHook = (group: string, withWorkloads: boolean) => Promise<void>;

export const groupNotFound = (name: string) => notFound(`Group '${name}' not found`);

/**
 * Groups of workloads and the clients registered to them (ToolHive's `/api/v1beta/groups`). Groups
 * are server-wide; every signed-in account may list them, only an administrator creates or deletes one.
 */
export class GroupService {
  private readonly deletionHooks: GroupDeletionHook[] = [];

  private readonly storage: Storage;
  private readonly policy: AccessPolicy;
  private readonly audit: AuditLog;
  private readonly clock: Clock;

  constructor(
    deps: CoreDeps,
    readonly store: GroupStore,
  ) {
    ({ storage: this.storage, policy: this.policy, audit: this.audit, clock: this.clock } = deps);
  }

  /** The workload supervisor registers here to move or delete a group's workloads before the group goes. */
  onDelete(hook: GroupDeletionHook): void {
    this.deletionHooks.push(hook);
  }

  static checkName(name: string): void {
    const problem = groupNameProblem(name);
    if (problem) throw badRequest('Invalid group name', [problem]);
  }

  async list(ctx: RequestContext): Promise<GroupView[]> {
    this.policy.requirePrincipal(ctx);
    const [groups, regs] = await Promise.all([this.store.list(), this.store.registrations()]);
    return groups.map((g) => ({
      name: g.name,
      registered_clients: regs.filter((r) => r.group === g.name).map((r) => r.client),
      skills: [],
      plugins: [],
    }));
  }

  async get(ctx: RequestContext, name: string): Promise<GroupView> {
    this.policy.requirePrincipal(ctx);
    GroupService.checkName(name);
    await this.requireExists(name);
    const regs = await this.store.registrations();
    return { name, registered_clients: regs.filter((r) => r.group === name).map((r) => r.client), skills: [], plugins: [] };
  }

  /** Throws not_found unless the group exists (for workloads and clients that name one). */
  async requireExists(name: string): Promise<void> {
    if (!(await this.store.get(name))) throw groupNotFound(name);
  }

  async create(ctx: RequestContext, name: string): Promise<{ name: string }> {
    this.policy.requireWritable();
    this.policy.requireAdmin(ctx);
    GroupService.checkName(name);
    if (!(await this.store.create({ name, createdAt: isoNow(this.clock) }))) throw conflict(`Group '${name}' already exists`);
    await this.audit.record(this.storage.audit, ctx, 'group.create', `group:${name}`, {});
    return { name };
  }

  async delete(ctx: RequestContext, name: string, withWorkloads: boolean): Promise<void> {
    this.policy.requireWritable();
    this.policy.requireAdmin(ctx);
    GroupService.checkName(name);
    if (name === DEFAULT_GROUP) throw badRequest('Cannot delete the default group');
    await this.requireExists(name);
    for (const hook of this.deletionHooks) await hook(name, withWorkloads);
    if (!(await this.store.delete(name))) throw groupNotFound(name);
    await this.audit.record(this.storage.audit, ctx, 'group.delete', `group:${name}`, { with_workloads: withWorkloads });
  }
}
