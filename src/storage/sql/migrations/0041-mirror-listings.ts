import type { Kysely, Migration } from 'kysely';

/**
 * What OCI upstreams last listed for a mirrored repository (core/mirrors): its tags (`tags`) and the
 * referrers of a manifest (`referrers:<digest>`), as a JSON array, with when the upstream was asked;
 * served within the mirror's TTL and whenever the upstream cannot be reached.
 */
export const mirrorListingsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mirror_listings')
      .addColumn('mirror', 'text', (c) => c.notNull().references('mirrors.name').onDelete('cascade'))
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('listing', 'text', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('mirror_listings_pk', ['mirror', 'repo', 'listing'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('mirror_listings').execute();
  },
});
