import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * Runs of registry agents (issue 19).
 *
 * 1. The keys that make runs share one managed agent become unique per account: a package
 *    version's mapped agent (an `agent` named `package:@scope/name@version#…`) and an agentspace
 *    agent's run record (`agentspace_run` named `<agentspace>/<assistant>`). First runs insert
 *    under the key or, when another run got there first, read that one, so two processes (or two
 *    requests) never make two. Rows earlier servers made twice keep the oldest: a duplicate agent
 *    loses its key (it stays, as a plain agent), a duplicate record is dropped.
 * 2. `versions.session_count`: how many sessions ran each version (its owners see it beside the
 *    downloads), counted from the sessions earlier servers recorded (`agent.source` of their data).
 */
export const runKeysMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const keep = sql`SELECT MIN(seq) FROM managed_objects WHERE kind = ${'agent'} AND name IS NOT NULL GROUP BY account_id, name`;
    await sql`UPDATE managed_objects SET name = NULL WHERE kind = ${'agent'} AND name IS NOT NULL AND seq NOT IN (${keep})`.execute(db);
    const keepRuns = sql`SELECT MIN(seq) FROM managed_objects WHERE kind = ${'agentspace_run'} GROUP BY account_id, name`;
    await sql`DELETE FROM managed_objects WHERE kind = ${'agentspace_run'} AND seq NOT IN (${keepRuns})`.execute(db);
    await sql`CREATE UNIQUE INDEX managed_objects_run_key_uq ON managed_objects (kind, account_id, name)
      WHERE name IS NOT NULL AND kind IN ('agent', 'agentspace_run')`.execute(db);

    await db.schema
      .alterTable('versions')
      .addColumn('session_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    const field = (path: string) => (dialect === 'postgres' ? sql.raw(`(data::jsonb #>> '{agent,source,${path}}')`) : sql.raw(`json_extract(data, '$.agent.source.${path}')`));
    // One pass over the sessions (those whose text shows a package source), then one update per version run.
    const counts = await sql<{ name: string; version: string; n: number | string }>`
      SELECT ${field('name')} AS name, ${field('version')} AS version, COUNT(*) AS n FROM sessions
      WHERE data LIKE ${'%"source":{"type":"package"%'} AND ${field('type')} = ${'package'}
      GROUP BY ${field('name')}, ${field('version')}`.execute(db);
    for (const r of counts.rows) {
      const m = /^@([^/]+)\/(.+)$/.exec(r.name ?? '');
      if (!m || typeof r.version !== 'string') continue;
      await sql`UPDATE versions SET session_count = ${Number(r.n)} WHERE version = ${r.version}
        AND package_id IN (SELECT id FROM packages WHERE kind = ${'agent'} AND scope = ${m[1]} AND name = ${m[2]})`.execute(db);
    }
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('versions').dropColumn('session_count').execute();
    await sql`DROP INDEX managed_objects_run_key_uq`.execute(db);
  },
});
