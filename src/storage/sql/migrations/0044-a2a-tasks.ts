import { sql, type Kysely, type Migration } from 'kysely';

/**
 * A2A serving (issue 20) keeps its tasks (`a2a_task`, named by task id) and the session each A2A
 * context continues (`a2a_context`, named `<agent path> <context id>`) as managed objects. Both
 * names are keys within an account: a partial unique index decides when two server processes
 * write at once, so a task is one record and concurrent first messages of a context bind one session.
 */
export const a2aTasksMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE UNIQUE INDEX managed_objects_a2a_name_uq ON managed_objects (kind, account_id, name) WHERE kind IN ('a2a_task', 'a2a_context')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX managed_objects_a2a_name_uq`.execute(db);
  },
});
