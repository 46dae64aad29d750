import type { Kysely, Migration } from 'kysely';

/**
 * The listings of MCP upstreams (core/mirrors/mcp-mirror.ts): one row per upstream server version,
 * as the upstream's `/v0.1/servers` gave it, keyed by mirror, lower-cased name and version; and per
 * mirror where its listing walk stands (the last complete one, the one under way and its cursor).
 */
export const mcpMirrorCacheMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mirror_mcp_servers')
      .addColumn('mirror', 'text', (c) => c.notNull().references('mirrors.name').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('is_latest', 'integer', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('published_at', 'text')
      .addColumn('updated_at', 'text')
      .addColumn('server_json', 'text', (c) => c.notNull())
      .addColumn('official_json', 'text')
      .addColumn('synced_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('mirror_mcp_servers_pk', ['mirror', 'key', 'version'])
      .execute();
    await db.schema.createIndex('mirror_mcp_servers_key_idx').on('mirror_mcp_servers').columns(['key', 'version']).execute();
    await db.schema
      .createTable('mirror_mcp_state')
      .addColumn('mirror', 'text', (c) => c.primaryKey().references('mirrors.name').onDelete('cascade'))
      .addColumn('listed_at', 'text')
      .addColumn('run_started_at', 'text')
      .addColumn('checkpoint', 'text')
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('mirror_mcp_state').execute();
    await db.schema.dropTable('mirror_mcp_servers').execute();
  },
});
