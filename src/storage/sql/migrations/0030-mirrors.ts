import type { Kysely, Migration } from 'kysely';

/**
 * Upstreams (pull-through mirrors, core/mirrors): one row per mirror (its password is in the secret
 * store, not here), and the tags of mirrored OCI repositories with when the upstream was last asked.
 */
export const mirrorsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mirrors')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('username', 'text')
      .addColumn('has_password', 'integer', (c) => c.notNull())
      .addColumn('ttl_seconds', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('mirror_tags')
      .addColumn('mirror', 'text', (c) => c.notNull().references('mirrors.name').onDelete('cascade'))
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('mirror_tags_pk', ['mirror', 'repo', 'tag'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('mirror_tags').execute();
    await db.schema.dropTable('mirrors').execute();
  },
});
