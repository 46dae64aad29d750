import type { Kysely } from 'kysely';
import type { IdempotencyRecord, IdempotencyRepo } from '../../core/idempotency/idempotency-repo.js';
import type { Database } from './schema.js';

export class SqlIdempotencyRepo implements IdempotencyRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async find(accountId: number, key: string, now: string): Promise<IdempotencyRecord | undefined> {
    const r = await this.db.selectFrom('publish_idempotency_keys').selectAll().where('account_id', '=', accountId).where('key', '=', key).where('expires_at', '>', now).executeTakeFirst();
    return r && { accountId: r.account_id, key: r.key, fingerprint: r.fingerprint, packageId: r.package_id, version: r.version, createdAt: r.created_at, expiresAt: r.expires_at };
  }

  async insert(r: IdempotencyRecord): Promise<boolean> {
    await this.db.deleteFrom('publish_idempotency_keys').where('account_id', '=', r.accountId).where('key', '=', r.key).where('expires_at', '<=', r.createdAt).execute();
    const res = await this.db
      .insertInto('publish_idempotency_keys')
      .values({
        account_id: r.accountId,
        key: r.key,
        fingerprint: r.fingerprint,
        package_id: r.packageId,
        version: r.version,
        created_at: r.createdAt,
        expires_at: r.expiresAt,
      })
      .onConflict((oc) => oc.columns(['account_id', 'key']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async deleteExpired(now: string): Promise<number> {
    const res = await this.db.deleteFrom('publish_idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
