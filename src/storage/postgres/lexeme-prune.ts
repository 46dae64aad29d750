import { sql, type Kysely } from 'kysely';
import type { LexemePruneReport } from '../../core/search/lexeme-prune.js';
import { waitUnlessAborted } from '../../core/sessions/model-retry.js';
import { LEXEME_LOCK_CLASS } from '../sql/migrations/0055-package-lexemes-prune.js';
import type { Database } from '../sql/schema.js';

/** Distinct lexemes one prune batch looks at. */
export const PRUNE_BATCH_LEXEMES = 500;
/**
 * How long a batch waits for the writing transactions in flight before it gives up (the batch is
 * left to the next run): new publishes queue behind it meanwhile, so a long writing transaction
 * (an import) holds them off this long at most, once every PRUNE_BACK_OFF_MS.
 */
const PRUNE_LOCK_TIMEOUT_MS = 250;
const PRUNE_BACK_OFF_MS = 10_000;

interface BatchRow {
  lexeme: string;
  /** Rows listing it (a bigint: a string). */
  n: string;
  /** Whether a package holds it. */
  held: boolean;
}

/** The tsquery of one exact lexeme (quoted as tsquery reads it: not parsed or normalized again), in SQL over `l`. */
const lexemeQuery = (l: ReturnType<typeof sql.ref>) => sql`('''' || replace(replace(${l}, '\\', '\\\\'), '''', '''''') || '''')::tsquery`;

/**
 * Deletes from `package_lexemes` (0048) the lexemes no package holds any more, and the duplicates,
 * a batch of PRUNE_BATCH_LEXEMES distinct lexemes at a time in lexeme order.
 *
 * Each batch first finds its candidates without a lock (a GIN probe of `packages.search_vector`
 * per lexeme, the costly part): the lexemes no package holds and those listed more than once. Then,
 * in a short transaction, it takes the lexeme lock (0055) exclusively: that waits for every
 * transaction in flight whose trigger may have seen a candidate listed and so not added it, and
 * holds new triggers off until the batch commits (then they see what it deleted and add it again).
 * With it, the unheld candidates are probed again (a package committed meanwhile may hold one now)
 * and deleted, and the duplicates cut to one row. A statement takes its snapshot when it starts
 * (READ COMMITTED), after the lock: it sees every package committed by the transactions it waited for.
 */
export const pruneLexemes = async (db: Kysely<Database>, signal?: AbortSignal, lockTimeoutMs = PRUNE_LOCK_TIMEOUT_MS): Promise<LexemePruneReport> => {
  const report: LexemePruneReport = { lexemes: 0, stale: 0, duplicates: 0, skipped: 0 };
  let after: string | null = null;
  for (;;) {
    if (signal?.aborted) break;
    const batch: { rows: BatchRow[] } = await sql<BatchRow>`SELECT b.lexeme, b.n, EXISTS (SELECT 1 FROM packages p WHERE p.search_vector @@ ${lexemeQuery(sql.ref('b.lexeme'))}) AS held
      FROM (SELECT k.lexeme, count(*) AS n FROM package_lexemes k ${after === null ? sql`` : sql`WHERE k.lexeme > ${after} COLLATE "C"`}
        GROUP BY k.lexeme ORDER BY k.lexeme LIMIT ${PRUNE_BATCH_LEXEMES}) b`.execute(db);
    const rows: BatchRow[] = batch.rows;
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.lexeme;
    report.lexemes += rows.length;
    const stale = rows.filter((r) => !r.held).map((r) => r.lexeme);
    const duplicated = rows.filter((r) => r.held && Number(r.n) > 1).map((r) => r.lexeme);
    if (stale.length > 0 || duplicated.length > 0) {
      try {
        await db.transaction().execute(async (trx) => {
          await sql`SET LOCAL lock_timeout = ${sql.lit(Math.round(lockTimeoutMs))}`.execute(trx);
          await sql`SELECT pg_advisory_xact_lock((${sql.lit(LEXEME_LOCK_CLASS)}::bigint << 32) | 'packages'::regclass::oid::bigint)`.execute(trx);
          if (stale.length > 0) {
            const deleted = await sql`DELETE FROM package_lexemes k WHERE k.lexeme = ANY(${stale}::text[])
              AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.search_vector @@ ${lexemeQuery(sql.ref('k.lexeme'))})`.execute(trx);
            report.stale += Number(deleted.numAffectedRows ?? 0);
          }
          if (duplicated.length > 0) {
            const deleted = await sql`DELETE FROM package_lexemes k USING package_lexemes j
              WHERE k.lexeme = ANY(${duplicated}::text[]) AND j.lexeme = k.lexeme AND j.ctid < k.ctid`.execute(trx);
            report.duplicates += Number(deleted.numAffectedRows ?? 0);
          }
        });
      } catch (e) {
        // lock_not_available: a writing transaction ran longer than the timeout; the next run tries again.
        if ((e as { code?: string }).code !== '55P03') throw e;
        report.skipped++;
        await waitUnlessAborted(PRUNE_BACK_OFF_MS, signal ?? new AbortController().signal);
      }
    }
  }
  return report;
};
