import type { Kysely } from 'kysely';
import type { AuditQuery, AuditRecord, AuditRepo, NewAuditRecord } from '../../core/audit/audit-repo.js';
import type { Page } from '../../core/page.js';
import { runCompiled } from './compiled-statement.js';
import { toAudit } from './rows.js';
import type { Database } from './schema.js';

export class SqlAuditRepo implements AuditRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async append(e: NewAuditRecord): Promise<void> {
    const values = { at: e.at, actor: e.actor, token_id: e.tokenId, action: e.action, target: e.target, ip: e.ip, details: JSON.stringify(e.details) };
    await runCompiled(this.db, 'audit.append', Object.values(values), () => this.db.insertInto('audit_log').values(values));
  }

  async appendMany(entries: NewAuditRecord[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => ({ at: e.at, actor: e.actor, token_id: e.tokenId, action: e.action, target: e.target, ip: e.ip, details: JSON.stringify(e.details) }));
    await this.db.transaction().execute(async (trx) => {
      // In chunks: SQLite takes at most 32766 bound parameters per statement (7 a row).
      for (let i = 0; i < rows.length; i += 500)
        await trx
          .insertInto('audit_log')
          .values(rows.slice(i, i + 500))
          .execute();
    });
  }

  async list(q: AuditQuery): Promise<Page<AuditRecord>> {
    let base = this.db.selectFrom('audit_log');
    if (q.actor) base = base.where('actor', '=', q.actor);
    if (q.action) base = base.where('action', '=', q.action);
    if (q.target) base = base.where('target', '=', q.target);
    const [rows, total] = await Promise.all([
      base.selectAll().orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows: rows.map(toAudit), total: Number(total.n) };
  }
}
