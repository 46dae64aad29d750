import type { Kysely } from 'kysely';
import type { SecretRootKeyRecord, SecretValueRecord, SecretValueRepo } from '../../core/secrets/secret-value-repo.js';
import type { Database, SecretValuesTable } from './schema.js';

const toValue = (r: SecretValuesTable): SecretValueRecord => ({
  owner: r.owner,
  namespace: r.namespace,
  key: r.key,
  keyId: r.key_id,
  ciphertext: r.ciphertext,
  updatedAt: r.updated_at,
});

export class SqlSecretValueRepo implements SecretValueRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async put(row: SecretValueRecord): Promise<void> {
    const values = { owner: row.owner, namespace: row.namespace, key: row.key, key_id: row.keyId, ciphertext: row.ciphertext, updated_at: row.updatedAt };
    await this.db
      .insertInto('secret_values')
      .values(values)
      .onConflict((oc) => oc.columns(['owner', 'namespace', 'key']).doUpdateSet({ key_id: row.keyId, ciphertext: row.ciphertext, updated_at: row.updatedAt }))
      .execute();
  }

  async get(owner: string, namespace: string, key: string): Promise<SecretValueRecord | undefined> {
    const row = await this.db.selectFrom('secret_values').selectAll().where('owner', '=', owner).where('namespace', '=', namespace).where('key', '=', key).executeTakeFirst();
    return row && toValue(row);
  }

  async delete(owner: string, namespace: string, key: string): Promise<boolean> {
    const r = await this.db.deleteFrom('secret_values').where('owner', '=', owner).where('namespace', '=', namespace).where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listKeys(owner: string, namespace: string): Promise<string[]> {
    const rows = await this.db.selectFrom('secret_values').select('key').where('owner', '=', owner).where('namespace', '=', namespace).orderBy('key').execute();
    return rows.map((r) => r.key);
  }

  async listNotUnder(keyId: string, limit: number): Promise<SecretValueRecord[]> {
    const rows = await this.db.selectFrom('secret_values').selectAll().where('key_id', '<>', keyId).orderBy('owner').orderBy('namespace').orderBy('key').limit(limit).execute();
    return rows.map(toValue);
  }

  async replaceCiphertext(row: SecretValueRecord, expected: string): Promise<boolean> {
    const r = await this.db
      .updateTable('secret_values')
      .set({ key_id: row.keyId, ciphertext: row.ciphertext, updated_at: row.updatedAt })
      .where('owner', '=', row.owner)
      .where('namespace', '=', row.namespace)
      .where('key', '=', row.key)
      .where('ciphertext', '=', expected)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async keyIdsInUse(): Promise<string[]> {
    const rows = await this.db.selectFrom('secret_values').select('key_id').distinct().execute();
    return rows.map((r) => r.key_id);
  }

  async verifiers(): Promise<SecretRootKeyRecord[]> {
    const rows = await this.db.selectFrom('secret_root_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ keyId: r.key_id, verifier: r.verifier, createdAt: r.created_at, retiredAt: r.retired_at }));
  }

  async insertVerifier(row: SecretRootKeyRecord): Promise<void> {
    await this.db
      .insertInto('secret_root_keys')
      .values({ key_id: row.keyId, verifier: row.verifier, created_at: row.createdAt, retired_at: row.retiredAt })
      .onConflict((oc) => oc.column('key_id').doNothing())
      .execute();
  }

  async retireVerifier(keyId: string, at: string): Promise<void> {
    await this.db.updateTable('secret_root_keys').set({ retired_at: at }).where('key_id', '=', keyId).execute();
  }
}
