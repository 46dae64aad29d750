/** What one prune of the lexemes a search turns prefixes into (PostgreSQL's `package_lexemes`) did. */
export interface LexemePruneReport {
  /** Distinct lexemes looked at. */
  lexemes: number;
  /** Rows deleted whose lexeme no package holds any more. */
  stale: number;
  /** Rows deleted that listed a lexeme again. */
  duplicates: number;
  /** Batches left for the next run: writing transactions held the lock past its timeout. */
  skipped: number;
}

/** The store's upkeep of its lexeme list (PostgreSQL only): pruned once a period by one process (PeriodicJob). */
export interface LexemeUpkeep {
  leases: { claim(id: string, owner: string, now: string, until: string): Promise<boolean> };
  /** The job's row in the leases. */
  jobId: string;
  prune(signal?: AbortSignal): Promise<LexemePruneReport>;
}

/** How often the lexemes are pruned: they grow only by what publishes leave behind. */
export const LEXEME_PRUNE_PERIOD_MS = 24 * 60 * 60_000;
/** How often each process asks whether a prune is due. */
export const LEXEME_PRUNE_CHECK_MS = 10 * 60_000;
