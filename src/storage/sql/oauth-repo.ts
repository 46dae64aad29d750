import type { Kysely } from 'kysely';
import type { OAuthRepo, OAuthStateRecord } from '../../core/oauth/oauth-repo.js';
import type { Database } from './schema.js';

export class SqlOAuthRepo implements OAuthRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async saveState(stateHash: string, s: OAuthStateRecord): Promise<void> {
    await this.db.insertInto('oauth_states').values({ state_hash: stateHash, redirect_uri: s.redirectUri, created_at: s.createdAt, expires_at: s.expiresAt }).execute();
  }

  async takeState(stateHash: string): Promise<OAuthStateRecord | undefined> {
    // DELETE … RETURNING: of two concurrent callbacks with one state, only one gets the row.
    const row = await this.db.deleteFrom('oauth_states').where('state_hash', '=', stateHash).returningAll().executeTakeFirst();
    return row && { redirectUri: row.redirect_uri, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  async pruneStates(now: string): Promise<void> {
    await this.db.deleteFrom('oauth_states').where('expires_at', '<', now).execute();
  }

  async findAccountId(provider: string, subject: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('oauth_identities').select('account_id').where('provider', '=', provider).where('subject', '=', subject).executeTakeFirst();
    return row ? Number(row.account_id) : undefined;
  }

  async link(provider: string, subject: string, accountId: number, at: string): Promise<void> {
    await this.db
      .insertInto('oauth_identities')
      .values({ provider, subject, account_id: accountId, created_at: at })
      .onConflict((oc) => oc.columns(['provider', 'subject']).doUpdateSet({ account_id: accountId }))
      .execute();
  }
}
