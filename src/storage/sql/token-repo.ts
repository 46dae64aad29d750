import type { Kysely } from 'kysely';
import type { NewToken, TokenRecord, TokenRepo } from '../../core/tokens/token-repo.js';
import { toToken } from './rows.js';
import type { Database } from './schema.js';

export class SqlTokenRepo implements TokenRepo {
  constructor(private readonly db: Kysely<Database>) {}

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
