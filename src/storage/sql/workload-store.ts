import type { Kysely } from 'kysely';
import type { WorkloadStore } from '../../core/workloads/workload-store.js';
import { WORKLOAD_STATUSES, type DesiredState, type WorkloadConfig, type WorkloadRecord, type WorkloadStatus } from '../../core/workloads/workload.js';
import type { Database, WorkloadsTable } from './schema.js';

const statusOf = (s: string): WorkloadStatus => ((WORKLOAD_STATUSES as readonly string[]).includes(s) ? (s as WorkloadStatus) : 'unknown');

const toRecord = (r: WorkloadsTable): WorkloadRecord => ({
  name: r.name,
  ownerAccountId: r.owner_account_id,
  ownerName: r.owner_name,
  config: JSON.parse(r.config) as WorkloadConfig,
  desired: r.desired === 'running' ? 'running' : 'stopped',
  status: statusOf(r.status),
  statusContext: r.status_context,
  createdAt: r.created_at,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
});

/** The workloads table (migration 0017-workloads). */
export class SqlWorkloadStore implements WorkloadStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<WorkloadRecord[]> {
    return (await this.db.selectFrom('workloads').selectAll().orderBy('name').execute()).map(toRecord);
  }

  async get(name: string): Promise<WorkloadRecord | undefined> {
    const r = await this.db.selectFrom('workloads').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toRecord(r);
  }

  async insert(r: WorkloadRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('workloads')
      .values({
        name: r.name,
        owner_account_id: r.ownerAccountId,
        owner_name: r.ownerName,
        group_name: r.config.group,
        config: JSON.stringify(r.config),
        desired: r.desired,
        status: r.status,
        status_context: r.statusContext,
        created_at: r.createdAt,
        started_at: r.startedAt,
        updated_at: r.updatedAt,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async update(r: WorkloadRecord): Promise<void> {
    await this.db
      .updateTable('workloads')
      .set({ group_name: r.config.group, config: JSON.stringify(r.config), desired: r.desired, updated_at: r.updatedAt })
      .where('name', '=', r.name)
      .execute();
  }

  async setDesired(name: string, desired: DesiredState, at: string): Promise<void> {
    await this.db.updateTable('workloads').set({ desired, updated_at: at }).where('name', '=', name).execute();
  }

  async setStatus(name: string, status: WorkloadStatus, statusContext: string, startedAt?: string | null): Promise<void> {
    await this.db
      .updateTable('workloads')
      .set({ status, status_context: statusContext, ...(startedAt !== undefined ? { started_at: startedAt } : {}) })
      .where('name', '=', name)
      .execute();
  }

  async delete(name: string): Promise<boolean> {
    const res = await this.db.deleteFrom('workloads').where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
