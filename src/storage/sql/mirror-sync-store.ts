import type { Kysely, Selectable } from 'kysely';
import type { MirrorKind } from '../../core/mirrors/mirror.js';
import {
  ACTIVE_SYNC_STATUSES,
  type MirrorSyncPatch,
  type MirrorSyncPhase,
  type MirrorSyncRecord,
  type MirrorSyncReport,
  type MirrorSyncStatus,
  type MirrorSyncStore,
} from '../../core/mirrors/mirror-sync.js';
import { SqlLeasedJobs } from './leased-jobs.js';
import type { Database, MirrorSyncsTable } from './schema.js';

const recordOf = (r: Selectable<MirrorSyncsTable>): MirrorSyncRecord => ({
  id: r.id,
  mirror: r.mirror,
  kind: r.kind as MirrorKind,
  status: r.status as MirrorSyncStatus,
  filter: r.filter,
  phase: r.phase as MirrorSyncPhase,
  done: Number(r.done),
  total: r.total === null ? null : Number(r.total),
  checkpoint: r.checkpoint,
  report: r.report === null ? null : (JSON.parse(r.report) as MirrorSyncReport),
  error: r.error,
  resumedFrom: r.resumed_from,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  updatedAt: r.updated_at,
});

/**
 * Sync jobs of mirrors on SQLite and PostgreSQL (migration 0040-mirror-syncs): leased through
 * `SqlLeasedJobs`; one active job per mirror, which the partial unique index enforces, so of two
 * starts at once only one is inserted.
 */
export class SqlMirrorSyncStore extends SqlLeasedJobs implements MirrorSyncStore {
  constructor(private readonly db: Kysely<Database>) {
    super(db, { table: 'mirror_syncs', order: 'seq', active: ACTIVE_SYNC_STATUSES, renewWhileActive: true });
  }

  async insert(r: MirrorSyncRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('mirror_syncs')
      .values({
        id: r.id,
        mirror: r.mirror,
        kind: r.kind,
        status: r.status,
        filter: r.filter,
        phase: r.phase,
        done: r.done,
        total: r.total,
        checkpoint: r.checkpoint,
        report: r.report === null ? null : JSON.stringify(r.report),
        error: r.error,
        resumed_from: r.resumedFrom,
        requested_by: r.requestedBy,
        lease_owner: null,
        lease_until: null,
        created_at: r.createdAt,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
        updated_at: r.updatedAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async find(id: string): Promise<MirrorSyncRecord | undefined> {
    const r = await this.db.selectFrom('mirror_syncs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && recordOf(r);
  }

  async list(mirror: string, limit: number): Promise<MirrorSyncRecord[]> {
    return (await this.db.selectFrom('mirror_syncs').selectAll().where('mirror', '=', mirror).orderBy('seq', 'desc').limit(limit).execute()).map(recordOf);
  }

  async update(id: string, owner: string, p: MirrorSyncPatch): Promise<boolean> {
    const r = await this.db
      .updateTable('mirror_syncs')
      .set({
        updated_at: p.updatedAt,
        ...(p.status !== undefined ? { status: p.status } : {}),
        ...(p.phase !== undefined ? { phase: p.phase } : {}),
        ...(p.done !== undefined ? { done: p.done } : {}),
        ...(p.total !== undefined ? { total: p.total } : {}),
        ...(p.checkpoint !== undefined ? { checkpoint: p.checkpoint } : {}),
        ...(p.report !== undefined ? { report: p.report === null ? null : JSON.stringify(p.report) } : {}),
        ...(p.error !== undefined ? { error: p.error } : {}),
        ...(p.startedAt !== undefined ? { started_at: p.startedAt } : {}),
        ...(p.finishedAt !== undefined ? { finished_at: p.finishedAt } : {}),
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', 'in', ACTIVE_SYNC_STATUSES)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async cancel(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('mirror_syncs')
      .set({ status: 'cancelled', phase: 'finished', finished_at: at, updated_at: at })
      .where('id', '=', id)
      .where('status', 'in', ACTIVE_SYNC_STATUSES)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
