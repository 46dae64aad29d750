import type { Kysely, Selectable } from 'kysely';
import type { SkillInstallRecord, SkillInstallStore } from '../../core/skills/skill-install-store.js';
import type { Database, SkillInstallsTable } from './schema.js';

const strings = (text: string): string[] => {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

const recordOf = (r: Selectable<SkillInstallsTable>): SkillInstallRecord => ({
  accountId: Number(r.account_id),
  name: r.name,
  scope: 'user',
  reference: r.reference,
  tag: r.tag,
  digest: r.digest,
  clients: strings(r.clients),
  group: r.group_name,
  description: r.description,
  author: r.author,
  tags: strings(r.tags),
  installedAt: r.installed_at,
});

export class SqlSkillInstallStore implements SkillInstallStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(accountId: number): Promise<SkillInstallRecord[]> {
    const rows = await this.db.selectFrom('skill_installs').selectAll().where('account_id', '=', accountId).orderBy('name').execute();
    return rows.map(recordOf);
  }

  async get(accountId: number, name: string): Promise<SkillInstallRecord | undefined> {
    const r = await this.db.selectFrom('skill_installs').selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return r && recordOf(r);
  }

  async byName(name: string): Promise<SkillInstallRecord[]> {
    const rows = await this.db.selectFrom('skill_installs').selectAll().where('name', '=', name).orderBy('account_id').execute();
    return rows.map(recordOf);
  }

  async put(r: SkillInstallRecord): Promise<void> {
    const values = {
      account_id: r.accountId,
      name: r.name,
      scope: r.scope,
      reference: r.reference,
      tag: r.tag,
      digest: r.digest,
      clients: JSON.stringify(r.clients),
      group_name: r.group,
      description: r.description,
      author: r.author,
      tags: JSON.stringify(r.tags),
      installed_at: r.installedAt,
    };
    const { account_id: _a, name: _n, ...changes } = values;
    await this.db
      .insertInto('skill_installs')
      .values(values)
      .onConflict((oc) => oc.columns(['account_id', 'name']).doUpdateSet(changes))
      .execute();
  }

  async delete(accountId: number, name: string): Promise<boolean> {
    const res = await this.db.deleteFrom('skill_installs').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
