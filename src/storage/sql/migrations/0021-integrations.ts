import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Integrations (issue 14, point 6) keep their installs, publications, threads and seen inbound
 * events as managed objects. A thread (integration, channel, thread → session) and a seen event
 * (integration, event id) must be unique even when two server processes receive at once: a
 * partial unique index on their names decides, so one thread gets one session and a retried or
 * replayed event starts one turn.
 */
export const integrationsMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`CREATE UNIQUE INDEX managed_objects_integration_name_uq ON managed_objects (kind, account_id, name) WHERE kind IN ('integration_thread', 'integration_event')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX managed_objects_integration_name_uq`.execute(db);
  },
});
