import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/** Version status for the MCP registry: why a version was unpublished, and when its status last changed. */
export const mcpMigration = (_dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('versions').addColumn('unpublish_reason', 'text').execute();
    await db.schema.alterTable('versions').addColumn('status_changed_at', 'text').execute();
  },
});
