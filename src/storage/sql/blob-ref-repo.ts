import type { Kysely } from 'kysely';
import type { BlobRefRepo } from '../../core/storage.js';
import type { Database } from './schema.js';

/** Blobs in use: the tarball of every version that is not unpublished. */
export class SqlBlobRefRepo implements BlobRefRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async referencedDigests(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('versions').select('digest').distinct().where('unpublished_at', 'is', null).execute();
    return new Set(rows.map((r) => r.digest));
  }

  async isReferenced(digest: string): Promise<boolean> {
    const row = await this.db.selectFrom('versions').select('id').where('digest', '=', digest).where('unpublished_at', 'is', null).limit(1).executeTakeFirst();
    return row !== undefined;
  }
}
