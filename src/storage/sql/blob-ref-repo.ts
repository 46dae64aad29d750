import type { Kysely } from 'kysely';
import type { BlobRefRepo } from '../../core/blobs/blob-ref-repo.js';
import type { ManagedDatabase } from './managed-repo.js';
import type { Database } from './schema.js';

/**
 * Blobs in use: the tarball of every version that is not unpublished, every managed file's bytes,
 * every OCI manifest and every digest a manifest references, and blobs linked into an OCI
 * repository since `linkedSince`.
 */
export class SqlBlobRefRepo implements BlobRefRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async referencedDigests(linkedSince?: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('versions').select('digest').distinct().where('unpublished_at', 'is', null).execute();
    const managed = await (this.db as unknown as Kysely<ManagedDatabase>).selectFrom('managed_objects').select('digest').distinct().where('digest', 'is not', null).execute();
    const manifests = await this.db.selectFrom('oci_manifests').select('digest').distinct().execute();
    const refs = await this.db.selectFrom('oci_manifest_refs').select('ref_digest as digest').distinct().execute();
    let links = this.db.selectFrom('oci_blob_links').select('digest').distinct();
    if (linkedSince !== undefined) links = links.where('linked_at', '>=', linkedSince);
    return new Set([...rows.map((r) => r.digest), ...managed.map((r) => r.digest!), ...[...manifests, ...refs, ...(await links.execute())].map((r) => r.digest)]);
  }

  async isReferenced(digest: string, linkedSince?: string): Promise<boolean> {
    const row = await this.db.selectFrom('versions').select('id').where('digest', '=', digest).where('unpublished_at', 'is', null).limit(1).executeTakeFirst();
    if (row) return true;
    const file = await (this.db as unknown as Kysely<ManagedDatabase>).selectFrom('managed_objects').select('seq').where('digest', '=', digest).limit(1).executeTakeFirst();
    if (file) return true;
    if (await this.db.selectFrom('oci_manifests').select('digest').where('digest', '=', digest).limit(1).executeTakeFirst()) return true;
    if (await this.db.selectFrom('oci_manifest_refs').select('ref_digest').where('ref_digest', '=', digest).limit(1).executeTakeFirst()) return true;
    let links = this.db.selectFrom('oci_blob_links').select('digest').where('digest', '=', digest);
    if (linkedSince !== undefined) links = links.where('linked_at', '>=', linkedSince);
    return (await links.limit(1).executeTakeFirst()) !== undefined;
  }
}
