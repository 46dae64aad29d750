import type { Generated, Kysely, Selectable, Updateable } from 'kysely';
import type { EvalSpec, TrialResult } from '../../core/evals/eval-spec.js';
import { ACTIVE_EVAL_STATUSES, type EvalRunPatch, type EvalRunQuery, type EvalRunRecord, type EvalStatus, type EvalStore, type NewEvalRun } from '../../core/evals/eval-store.js';
import { SqlLeasedJobs } from './leased-jobs.js';
import type { Database } from './schema.js';

/** The table of migration 0020-evals. */
export interface EvalDatabase {
  eval_runs: {
    seq: Generated<number>;
    id: string;
    account_id: number;
    token_id: number;
    agent_id: string;
    status: string;
    spec: string;
    results: string;
    error: string | null;
    lease_owner: string | null;
    lease_until: string | null;
    created_at: string;
    updated_at: string;
    started_at: string | null;
    ended_at: string | null;
  };
}

const toRecord = (r: Selectable<EvalDatabase['eval_runs']>): EvalRunRecord => ({
  seq: Number(r.seq),
  id: r.id,
  accountId: Number(r.account_id),
  tokenId: Number(r.token_id),
  agentId: r.agent_id,
  status: r.status as EvalStatus,
  spec: JSON.parse(r.spec) as EvalSpec,
  results: JSON.parse(r.results) as TrialResult[],
  error: r.error,
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
});

const ACTIVE = ACTIVE_EVAL_STATUSES as EvalStatus[];

const setOf = (p: EvalRunPatch): Updateable<EvalDatabase['eval_runs']> => {
  const set: Updateable<EvalDatabase['eval_runs']> = { updated_at: p.updatedAt };
  if (p.status !== undefined) set.status = p.status;
  if (p.results !== undefined) set.results = JSON.stringify(p.results);
  if (p.error !== undefined) set.error = p.error;
  if (p.startedAt !== undefined) set.started_at = p.startedAt;
  if (p.endedAt !== undefined) set.ended_at = p.endedAt;
  return set;
};

/**
 * Eval runs on SQLite and PostgreSQL (core/evals' own port, outside the `Storage` aggregate); a
 * run's lease (claimable, claim, renew, release) comes from `SqlLeasedJobs`.
 */
export class SqlEvalStore extends SqlLeasedJobs implements EvalStore {
  private readonly db: Kysely<EvalDatabase>;

  constructor(db: Kysely<Database>) {
    super(db, { table: 'eval_runs', order: 'seq', active: ACTIVE, renewWhileActive: true });
    this.db = db as unknown as Kysely<EvalDatabase>;
  }

  async insert(r: NewEvalRun): Promise<EvalRunRecord> {
    const row = await this.db
      .insertInto('eval_runs')
      .values({
        id: r.id,
        account_id: r.accountId,
        token_id: r.tokenId,
        agent_id: r.agentId,
        status: r.status,
        spec: JSON.stringify(r.spec),
        results: JSON.stringify(r.results),
        error: r.error,
        lease_owner: null,
        lease_until: null,
        created_at: r.createdAt,
        updated_at: r.updatedAt,
        started_at: r.startedAt,
        ended_at: r.endedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  async find(id: string): Promise<EvalRunRecord | undefined> {
    const r = await this.db.selectFrom('eval_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRecord(r);
  }

  async list(q: EvalRunQuery): Promise<EvalRunRecord[]> {
    let s = this.db.selectFrom('eval_runs').selectAll().where('account_id', '=', q.accountId);
    if (q.agentId !== undefined) s = s.where('agent_id', '=', q.agentId);
    if (q.statuses?.length) s = s.where('status', 'in', q.statuses);
    if (q.beforeSeq !== undefined) s = s.where('seq', '<', q.beforeSeq);
    return (await s.orderBy('seq', 'desc').limit(q.limit).execute()).map(toRecord);
  }

  async save(id: string, owner: string, patch: EvalRunPatch): Promise<boolean> {
    const r = await this.db.updateTable('eval_runs').set(setOf(patch)).where('id', '=', id).where('lease_owner', '=', owner).where('status', 'in', ACTIVE).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async saveIfActive(id: string, patch: EvalRunPatch): Promise<boolean> {
    const r = await this.db.updateTable('eval_runs').set(setOf(patch)).where('id', '=', id).where('status', 'in', ACTIVE).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
