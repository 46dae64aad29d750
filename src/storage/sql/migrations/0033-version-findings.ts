import type { Kysely, Migration } from 'kysely';

/**
 * Publish-time findings (issue 18, point 4): what a version was flagged for at publish (risky agent
 * permissions, MCP packages from unknown registries), as a JSON array; null for versions published
 * before (read as none).
 */
export const versionFindingsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('versions').addColumn('findings', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('versions').dropColumn('findings').execute();
  },
});
