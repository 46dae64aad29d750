import type { Principal, RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { AgentryError, badRequest, forbidden, notFound } from '../errors.js';
import type { WorkloadStore } from './workload-store.js';
import { REDACTED_VALUE, workloadNameProblem, type WorkloadRecord } from './workload.js';

/**
 * Who may do what with a workload: read it (its visibility, decided by the AccessPolicy), see its
 * plain values, and manage it (its owner and administrators, with a publish or admin token).
 */
export class WorkloadAccess {
  constructor(
    private readonly core: CoreDeps,
    private readonly store: WorkloadStore,
  ) {}

  missing(name: string): AgentryError {
    return notFound(`Workload '${name}' not found`);
  }

  canRead(ctx: RequestContext, r: WorkloadRecord): Promise<boolean> {
    return this.core.policy.canRead(ctx, { ownerAccountId: r.ownerAccountId, visibility: r.config.visibility });
  }

  /** The record as `ctx` may see it: whole for those who may manage it, its plain env and header values redacted for other readers. */
  shownTo(ctx: RequestContext, r: WorkloadRecord): WorkloadRecord {
    if (this.mayManage(ctx.principal, r)) return r;
    const redacted = (values: Record<string, string>) => Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED_VALUE]));
    return { ...r, config: { ...r.config, env: redacted(r.config.env), headers: redacted(r.config.headers) } };
  }

  mayManage(p: Principal | null, r: WorkloadRecord): boolean {
    if (!p || p.token.permission === 'read' || p.token.permission === 'runtime') return false;
    return p.account.isAdmin || p.account.id === r.ownerAccountId;
  }

  /** The workload as stored, if the caller may read it (404 otherwise): for the service's own use, never handed out as it is. */
  async readable(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    const problem = workloadNameProblem(name);
    if (problem) throw badRequest(problem);
    const r = await this.store.get(name);
    if (!r) throw this.missing(name);
    await this.core.policy.requireRead(ctx, { ownerAccountId: r.ownerAccountId, visibility: r.config.visibility }, () => this.missing(name));
    return r;
  }

  /** The workload, if the caller may manage it (its owner, administrators): 404 when it may not even read it, 403 when it only reads. */
  async managed(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    const r = await this.readable(ctx, name);
    if (!ctx.principal) throw new AgentryError('unauthorized', 'Authentication required');
    if (!this.mayManage(ctx.principal, r)) throw forbidden(`Only the owner of workload '${name}' and administrators manage it (with a publish or admin token)`);
    return r;
  }
}
