import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The columns a table of leased jobs has: one worker at a time holds a job's row until `lease_until`. */
interface LeasedJobColumns {
  id: string;
  status: string;
  lease_owner: string | null;
  lease_until: string | null;
  seq: number;
  updated_at: string;
}

type LeasedJobDatabase = Record<string, LeasedJobColumns>;

/** Which table, and how its jobs are leased. */
export interface LeasedJobTable {
  table: string;
  /** The order `claimable` hands jobs out in (oldest first). */
  order: 'seq' | 'updated_at';
  /** The statuses of a job a worker may hold. */
  active: readonly string[];
  /** Whether a renewal also needs the job still active (else holding the lease is enough). */
  renewWhileActive: boolean;
}

/**
 * Claim, renew and release of the leases on a table of jobs (sessions, eval runs), the same on
 * SQLite and PostgreSQL: a job is claimable while active with no lease or one that ran out; a claim
 * is a conditional update, so of two workers claiming at once only one gets the row.
 */
export class SqlLeasedJobs {
  private readonly leaseDb: Kysely<LeasedJobDatabase>;

  constructor(
    db: Kysely<Database>,
    private readonly jobs: LeasedJobTable,
  ) {
    this.leaseDb = db as unknown as Kysely<LeasedJobDatabase>;
  }

  async claimable(now: string, limit: number): Promise<string[]> {
    const rows = await this.leaseDb
      .selectFrom(this.jobs.table)
      .select('id')
      .where('status', 'in', this.jobs.active)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy(this.jobs.order, 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async claim(id: string, owner: string, now: string, until: string): Promise<boolean> {
    const r = await this.leaseDb
      .updateTable(this.jobs.table)
      .set({ lease_owner: owner, lease_until: until })
      .where('id', '=', id)
      .where('status', 'in', this.jobs.active)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async renew(id: string, owner: string, until: string): Promise<boolean> {
    let q = this.leaseDb.updateTable(this.jobs.table).set({ lease_until: until }).where('id', '=', id).where('lease_owner', '=', owner);
    if (this.jobs.renewWhileActive) q = q.where('status', 'in', this.jobs.active);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async release(id: string, owner: string): Promise<void> {
    await this.leaseDb.updateTable(this.jobs.table).set({ lease_owner: null, lease_until: null }).where('id', '=', id).where('lease_owner', '=', owner).execute();
  }
}
