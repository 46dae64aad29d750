import type { Kysely, Migration } from 'kysely';

/**
 * Agentry upstreams (core/mirrors/agentry-mirror.ts): the scopes this registry took from an upstream
 * (and which mirror and URL they came from: publishing into them is refused), and when each mirrored
 * package's dist-tags were last asked of the upstream. No foreign key to `mirrors`: what was fetched
 * stays served (and marked) after its mirror is removed.
 */
export const agentryMirrorsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mirror_scopes')
      .addColumn('scope', 'text', (c) => c.primaryKey())
      .addColumn('mirror', 'text', (c) => c.notNull())
      .addColumn('upstream', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('mirror_packages')
      .addColumn('pkg_key', 'text', (c) => c.primaryKey())
      .addColumn('mirror', 'text', (c) => c.notNull())
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('mirror_packages_mirror').on('mirror_packages').columns(['mirror', 'pkg_key']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('mirror_packages').execute();
    await db.schema.dropTable('mirror_scopes').execute();
  },
});
