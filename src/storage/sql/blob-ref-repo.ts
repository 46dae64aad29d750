import type { Kysely } from 'kysely';
import type { BlobRefRepo } from '../../core/storage.js';
import type { ManagedDatabase } from './managed-repo.js';
import type { Database } from './schema.js';

/** Blobs in use: the tarball of every version that is not unpublished, and every managed file's bytes. */
export class SqlBlobRefRepo implements BlobRefRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async referencedDigests(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('versions').select('digest').distinct().where('unpublished_at', 'is', null).execute();
    const managed = await (this.db as unknown as Kysely<ManagedDatabase>).selectFrom('managed_objects').select('digest').distinct().where('digest', 'is not', null).execute();
    return new Set([...rows.map((r) => r.digest), ...managed.map((r) => r.digest!)]);
  }

  async isReferenced(digest: string): Promise<boolean> {
    const row = await this.db.selectFrom('versions').select('id').where('digest', '=', digest).where('unpublished_at', 'is', null).limit(1).executeTakeFirst();
    if (row) return true;
    const file = await (this.db as unknown as Kysely<ManagedDatabase>).selectFrom('managed_objects').select('seq').where('digest', '=', digest).limit(1).executeTakeFirst();
    return file !== undefined;
  }
}
