import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The keys that make runs of a registry agent share one managed agent (issue 19) unique per
 * account: a package version's mapped agent (an `agent` named `package:@scope/name@version#…`)
 * and an agentspace agent's run record (`agentspace_run` named `<agentspace>/<assistant>`).
 * First runs insert under the key or, when another run got there first, read that one, so two
 * processes (or two requests) never make two. Rows earlier servers made twice keep the oldest:
 * a duplicate agent loses its key (it stays, as a plain agent), a duplicate record is dropped.
 */
export const runKeysMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    const keep = sql`SELECT MIN(seq) FROM managed_objects WHERE kind = ${'agent'} AND name IS NOT NULL GROUP BY account_id, name`;
    await sql`UPDATE managed_objects SET name = NULL WHERE kind = ${'agent'} AND name IS NOT NULL AND seq NOT IN (${keep})`.execute(db);
    const keepRuns = sql`SELECT MIN(seq) FROM managed_objects WHERE kind = ${'agentspace_run'} GROUP BY account_id, name`;
    await sql`DELETE FROM managed_objects WHERE kind = ${'agentspace_run'} AND seq NOT IN (${keepRuns})`.execute(db);
    await sql`CREATE UNIQUE INDEX managed_objects_run_key_uq ON managed_objects (kind, account_id, name)
      WHERE name IS NOT NULL AND kind IN ('agent', 'agentspace_run')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX managed_objects_run_key_uq`.execute(db);
  },
});
