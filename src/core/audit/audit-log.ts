import type { RequestContext } from '../auth/principal.js';
import type { AuditQuery, AuditRepo, AuditRecord } from './audit-repo.js';
import type { Page } from '../page.js';
import { isoNow, type Clock } from '../time.js';

/** Records every write: who (account and token), what (action, target), when, from where. */
export class AuditLog {
  constructor(private readonly clock: Clock) {}

  async record(repo: AuditRepo, ctx: RequestContext, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
    await repo.append({
      at: isoNow(this.clock),
      actor: ctx.principal?.account.name ?? null,
      tokenId: ctx.principal?.token.id ?? null,
      action,
      target,
      ip: ctx.ip,
      details,
    });
  }

  list(repo: AuditRepo, q: AuditQuery): Promise<Page<AuditRecord>> {
    return repo.list(q);
  }
}
