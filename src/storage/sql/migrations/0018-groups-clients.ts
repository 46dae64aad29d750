import type { Kysely, Migration } from 'kysely';

/**
 * ToolHive-style groups (core/groups) and the MCP clients registered to them. A registration's
 * group is '' when the client was registered with no group (ToolHive's global list). The `default`
 * group always exists, so it is created here.
 */
export const groupsClientsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('workload_groups')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('client_registrations')
      .addColumn('client', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('client_registrations_pk', ['client', 'group_name'])
      .execute();
    await (db as Kysely<{ workload_groups: { name: string; created_at: string } }>).insertInto('workload_groups').values({ name: 'default', created_at: new Date().toISOString() }).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('client_registrations').execute();
    await db.schema.dropTable('workload_groups').execute();
  },
});
