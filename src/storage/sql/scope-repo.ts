import type { Kysely, Selectable } from 'kysely';
import { isVisibility, type Visibility } from '../../core/access/visibility.js';
import type { ScopeRecord, ScopeRepo, ScopeSigning } from '../../core/accounts/account-repo.js';
import type { Database, ScopesTable } from './schema.js';
import { runCompiled } from './compiled-statement.js';
import { rowFinder, type RowReader } from './dialect.js';

const toScope = (r: Selectable<ScopesTable>): ScopeRecord => ({
  name: r.name,
  ownerAccountId: Number(r.owner_account_id),
  defaultVisibility: isVisibility(r.default_visibility) ? r.default_visibility : 'private',
  createdAt: r.created_at,
  signing: { required: Number(r.require_signatures) === 1, keys: r.signing_keys ? (JSON.parse(r.signing_keys) as string[]) : [] },
});

const SCOPE_COLUMNS = ['name', 'owner_account_id', 'default_visibility', 'created_at', 'signing_keys', 'require_signatures'];

export class SqlScopeRepo implements ScopeRepo {
  /** SQLite outside transactions: scope rows through the read connection (see RowReader). */
  private readonly byName: ((name: unknown) => Selectable<ScopesTable> | undefined) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readRow?: RowReader,
  ) {
    this.byName = readRow && rowFinder(readRow, 'scopes', SCOPE_COLUMNS, 'name');
  }

  async find(name: string): Promise<ScopeRecord | undefined> {
    if (this.byName) {
      const r = this.byName(name.toLowerCase());
      return r && toScope(r);
    }
    const key = name.toLowerCase();
    const [r] = await runCompiled(this.db, 'scopes.find', [key], () => this.db.selectFrom('scopes').selectAll().where('name', '=', key));
    return r && toScope(r);
  }

  async insert(name: string, ownerAccountId: number, at: string, defaultVisibility: Visibility = 'public'): Promise<ScopeRecord> {
    const r = await this.db
      .insertInto('scopes')
      .values({ name: name.toLowerCase(), owner_account_id: ownerAccountId, default_visibility: defaultVisibility, created_at: at })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toScope(r);
  }

  async listByOwner(ownerAccountId: number): Promise<ScopeRecord[]> {
    const rows = await this.db.selectFrom('scopes').selectAll().where('owner_account_id', '=', ownerAccountId).orderBy('name').execute();
    return rows.map(toScope);
  }

  async setDefaultVisibility(name: string, visibility: Visibility): Promise<void> {
    await this.db.updateTable('scopes').set({ default_visibility: visibility }).where('name', '=', name.toLowerCase()).execute();
  }

  async setSigning(name: string, signing: ScopeSigning): Promise<void> {
    await this.db
      .updateTable('scopes')
      .set({ signing_keys: signing.keys.length > 0 ? JSON.stringify(signing.keys) : null, require_signatures: signing.required ? 1 : 0 })
      .where('name', '=', name.toLowerCase())
      .execute();
  }
}
