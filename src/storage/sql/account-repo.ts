import type { Kysely, Selectable } from 'kysely';
import type { AccountRecord, AccountRepo, MembershipRecord, NewAccount, OrgRole } from '../../core/accounts/account-repo.js';
import { toAccount } from './rows.js';
import type { AccountsTable, Database } from './schema.js';
import { rowFinder, type RowReader } from './dialect.js';

const ACCOUNT_COLUMNS = ['id', 'name', 'kind', 'display_name', 'email', 'avatar_url', 'bio', 'website', 'is_admin', 'created_at', 'updated_at'];

export class SqlAccountRepo implements AccountRepo {
  /** SQLite outside transactions: the lookup every authenticated request makes, through the read connection (see RowReader). */
  private readonly byId: ((id: unknown) => Selectable<AccountsTable> | undefined) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readRow?: RowReader,
  ) {
    this.byId = readRow && rowFinder(readRow, 'accounts', ACCOUNT_COLUMNS, 'id');
  }

  async findById(id: number): Promise<AccountRecord | undefined> {
    if (this.byId) {
      const r = this.byId(id);
      return r && toAccount(r);
    }
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccount(row);
  }

  async findByIds(ids: readonly number[]): Promise<AccountRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
    return rows.map(toAccount);
  }

  async findByName(name: string): Promise<AccountRecord | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('name', '=', name.toLowerCase()).executeTakeFirst();
    return row && toAccount(row);
  }

  async insert(a: NewAccount, at: string): Promise<AccountRecord> {
    const row = await this.db
      .insertInto('accounts')
      .values({
        name: a.name.toLowerCase(),
        kind: a.kind,
        display_name: a.displayName ?? null,
        email: a.email ?? null,
        avatar_url: null,
        bio: null,
        website: null,
        is_admin: a.isAdmin ? 1 : 0,
        created_at: at,
        updated_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAccount(row);
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async updateProfile(id: number, patch: Partial<Pick<AccountRecord, 'displayName' | 'email' | 'avatarUrl'>>, at: string): Promise<void> {
    const set: { display_name?: string | null; email?: string | null; avatar_url?: string | null; updated_at: string } = { updated_at: at };
    if (patch.displayName !== undefined) set.display_name = patch.displayName;
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.avatarUrl !== undefined) set.avatar_url = patch.avatarUrl;
    await this.db.updateTable('accounts').set(set).where('id', '=', id).execute();
  }

  async membership(orgId: number, userId: number): Promise<MembershipRecord | undefined> {
    const r = await this.db.selectFrom('org_members').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
    return r && { orgId: Number(r.org_id), userId: Number(r.user_id), role: r.role as OrgRole, createdAt: r.created_at };
  }

  async upsertMembership(orgId: number, userId: number, role: OrgRole, at: string): Promise<void> {
    await this.db
      .insertInto('org_members')
      .values({ org_id: orgId, user_id: userId, role, created_at: at })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  async deleteMembership(orgId: number, userId: number): Promise<boolean> {
    const r = await this.db.deleteFrom('org_members').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listMembers(orgId: number): Promise<Array<{ account: AccountRecord; role: OrgRole }>> {
    const rows = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts', 'accounts.id', 'org_members.user_id')
      .selectAll('accounts')
      .select('org_members.role')
      .where('org_members.org_id', '=', orgId)
      .orderBy('accounts.name')
      .execute();
    return rows.map((r) => ({ account: toAccount(r), role: r.role as OrgRole }));
  }

  async listOrgsOf(userId: number): Promise<Array<{ account: AccountRecord; role: OrgRole }>> {
    const rows = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts', 'accounts.id', 'org_members.org_id')
      .selectAll('accounts')
      .select('org_members.role')
      .where('org_members.user_id', '=', userId)
      .orderBy('accounts.name')
      .execute();
    return rows.map((r) => ({ account: toAccount(r), role: r.role as OrgRole }));
  }
}
