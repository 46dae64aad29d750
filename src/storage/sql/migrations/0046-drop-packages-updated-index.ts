import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Drops `packages_updated_idx` (updated_at): the only query ordering or filtering packages by
 * `updated_at` is the listing's `newest` order (updated_at DESC, id DESC), which
 * `packages_list_newest_idx` (0034) serves on both stores. Every publish and every write that
 * moves `updated_at` maintained both; now one.
 */
export const dropPackagesUpdatedIndexMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`DROP INDEX packages_updated_idx`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.createIndex('packages_updated_idx').on('packages').column('updated_at').execute();
  },
});
