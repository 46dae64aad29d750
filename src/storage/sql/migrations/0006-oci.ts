import { randomBytes } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';

/**
 * The OCI registry: blobs linked into repositories, manifests and the digests they reference,
 * tags, upload sessions, and the key that signs short-lived registry bearer tokens.
 */
export const ociMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oci_blob_links')
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('linked_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('oci_blob_links_pk', ['repo', 'digest'])
      .execute();
    await db.schema.createIndex('oci_blob_links_digest_idx').on('oci_blob_links').column('digest').execute();

    await db.schema
      .createTable('oci_manifests')
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('media_type', 'text', (c) => c.notNull())
      .addColumn('artifact_type', 'text')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('annotations', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('oci_manifests_pk', ['repo', 'digest'])
      .execute();
    await db.schema.createIndex('oci_manifests_subject_idx').on('oci_manifests').columns(['repo', 'subject']).execute();
    await db.schema.createIndex('oci_manifests_digest_idx').on('oci_manifests').column('digest').execute();

    await db.schema
      .createTable('oci_manifest_refs')
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('manifest_digest', 'text', (c) => c.notNull())
      .addColumn('ref_digest', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('oci_manifest_refs_pk', ['repo', 'manifest_digest', 'ref_digest'])
      .execute();
    await db.schema.createIndex('oci_manifest_refs_ref_idx').on('oci_manifest_refs').column('ref_digest').execute();

    await db.schema
      .createTable('oci_tags')
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('oci_tags_pk', ['repo', 'tag'])
      .execute();
    await db.schema.createIndex('oci_tags_digest_idx').on('oci_tags').columns(['repo', 'digest']).execute();

    await db.schema
      .createTable('oci_uploads')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('oci_signing_keys')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('secret', 'text', (c) => c.notNull())
      .execute();
    await (db as Kysely<{ oci_signing_keys: { id: number; secret: string } }>)
      .insertInto('oci_signing_keys')
      .values({ id: 1, secret: randomBytes(32).toString('hex') })
      .execute();
  },
});
