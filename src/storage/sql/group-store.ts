import type { Kysely } from 'kysely';
import type { ClientRegistration, GroupRecord, GroupStore } from '../../core/groups/group-store.js';
import type { Database } from './schema.js';

export class SqlGroupStore implements GroupStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<GroupRecord[]> {
    const rows = await this.db.selectFrom('workload_groups').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at }));
  }

  async get(name: string): Promise<GroupRecord | undefined> {
    const r = await this.db.selectFrom('workload_groups').selectAll().where('name', '=', name).executeTakeFirst();
    return r && { name: r.name, createdAt: r.created_at };
  }

  async create(group: GroupRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('workload_groups')
      .values({ name: group.name, created_at: group.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  delete(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('client_registrations').where('group_name', '=', name).execute();
      const res = await trx.deleteFrom('workload_groups').where('name', '=', name).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  async registrations(): Promise<ClientRegistration[]> {
    const rows = await this.db.selectFrom('client_registrations').select(['client', 'group_name']).orderBy('client').orderBy('group_name').execute();
    return rows.map((r) => ({ client: r.client, group: r.group_name }));
  }

  async register(client: string, group: string): Promise<void> {
    await this.db
      .insertInto('client_registrations')
      .values({ client, group_name: group, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['client', 'group_name']).doNothing())
      .execute();
  }

  async unregister(client: string, groups?: string[]): Promise<void> {
    let q = this.db.deleteFrom('client_registrations').where('client', '=', client);
    if (groups) {
      if (groups.length === 0) return;
      q = q.where('group_name', 'in', groups);
    }
    await q.execute();
  }
}
