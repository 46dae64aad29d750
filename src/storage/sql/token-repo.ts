import type { Kysely, Selectable } from 'kysely';
import type { NewToken, TokenRecord, TokenRepo } from '../../core/tokens/token-repo.js';
import { toToken } from './rows.js';
import type { Database, TokensTable } from './schema.js';
import { rowFinder, type RowReader } from './dialect.js';

const TOKEN_COLUMNS = ['id', 'account_id', 'name', 'hash', 'prefix', 'permission', 'scopes', 'expires_at', 'revoked_at', 'last_used_at', 'created_at', 'all_accounts'];

export class SqlTokenRepo implements TokenRepo {
  /** SQLite outside transactions: the lookup every authenticated request makes, through the read connection (see RowReader). */
  private readonly byHash: ((hash: unknown) => Selectable<TokensTable> | undefined) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readRow?: RowReader,
  ) {
    this.byHash = readRow && rowFinder(readRow, 'tokens', TOKEN_COLUMNS, 'hash');
  }

  async insert(t: NewToken): Promise<TokenRecord> {
    const row = await this.db
      .insertInto('tokens')
      .values({
        account_id: t.accountId,
        name: t.name,
        hash: t.hash,
        prefix: t.prefix,
        permission: t.permission,
        scopes: t.scopes ? JSON.stringify(t.scopes) : null,
        expires_at: t.expiresAt,
        revoked_at: null,
        last_used_at: null,
        created_at: t.createdAt,
        all_accounts: t.allAccounts ? 1 : 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toToken(row);
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    if (this.byHash) {
      const r = this.byHash(hash);
      return r && toToken(r);
    }
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row && toToken(row);
  }

  async findById(id: number): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toToken(row);
  }

  async listByAccount(accountId: number): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom('tokens').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
    return rows.map(toToken);
  }

  async revoke(id: number, at: string): Promise<void> {
    await this.db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  async touch(id: number, at: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
