import type { Kysely, Migration } from 'kysely';

/**
 * Skills an account installed into MCP clients' skills folders (core/skills/skill-installs.ts,
 * ToolHive's `/api/v1beta/skills`): one row per account and skill name; the clients it was written
 * for and its tags as JSON arrays.
 */
export const skillInstallsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('skill_installs')
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('reference', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('clients', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('author', 'text', (c) => c.notNull())
      .addColumn('tags', 'text', (c) => c.notNull())
      .addColumn('installed_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('skill_installs_pk', ['account_id', 'name'])
      .execute();
    await db.schema.createIndex('skill_installs_name').on('skill_installs').column('name').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('skill_installs').execute();
  },
});
