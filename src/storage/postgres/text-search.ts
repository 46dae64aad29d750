import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';

/** How long the planner's lexeme statistics are used before they are read again. */
const STATS_TTL_MS = 5 * 60_000;
/**
 * A word whose prefix is estimated to match more packages than this is checked on each row the
 * index yields instead of read from the index (see postgresTextSearch).
 */
export const COMMON_WORD_ROWS = 5000;

/** The planner's most common lexemes of `packages.search_vector` with the share of rows holding each, and the table's rows. */
export interface LexemeStats {
  /** Null when ANALYZE found no lexeme common enough to list. */
  lexemes: readonly string[] | null;
  shares: readonly number[] | null;
  rows: number | null;
}

/**
 * How many packages each word of a query matches as a prefix, estimated from the planner's
 * statistics (ANALYZE, autovacuum's included, keeps them: `pg_stats.most_common_elems`). Read in
 * the background and kept for a while: a query never waits for them, and without them (a fresh
 * table) there is no estimate.
 */
export class PrefixRows {
  private stats: LexemeStats | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading = false;

  constructor(
    private readonly read: () => Promise<LexemeStats | undefined>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The estimated number of packages holding a lexeme that starts with `word`: the table's rows
   * times the sum of the common lexemes' shares that do, or the rarest common lexeme's share when
   * none does (every lexeme not listed is rarer than that). Undefined without statistics.
   */
  of(word: string): number | undefined {
    this.refresh();
    const lexemes = this.stats?.lexemes;
    const shares = this.stats?.shares;
    const rows = this.stats?.rows;
    if (!lexemes || !shares || !rows || rows < 0 || lexemes.length === 0) return undefined;
    let sum = 0;
    let floor = 1;
    for (let i = 0; i < lexemes.length; i++) {
      const share = shares[i] ?? 0;
      if (share < floor) floor = share;
      if (lexemes[i]!.startsWith(word)) sum += share;
    }
    return rows * (sum > 0 ? Math.min(1, sum) : floor);
  }

  private refresh(): void {
    if (this.reading || this.now() - this.readAt < STATS_TTL_MS) return;
    this.reading = true;
    this.read().then(
      (stats) => {
        this.stats = stats;
        this.readAt = this.now();
        this.reading = false;
      },
      () => {
        // Statistics are a hint: without them the query is planned as before; asked again after the TTL.
        this.readAt = this.now();
        this.reading = false;
      },
    );
  }
}

/**
 * The words of a query the index is given: all of them, unless some are common (estimated above
 * COMMON_WORD_ROWS) and some are not; then only those that are not. Without an estimate for every
 * word, all of them.
 */
export const indexedWords = (words: readonly string[], rowsOf: (word: string) => number | undefined): readonly string[] => {
  if (words.length < 2) return words;
  const rows = words.map(rowsOf);
  if (rows.some((r) => r === undefined)) return words;
  const kept = words.filter((_, i) => rows[i]! <= COMMON_WORD_ROWS);
  return kept.length === 0 ? words : kept;
};

/**
 * PostgreSQL full-text search over the generated `search_vector` column (GIN index), every word a
 * prefix match, ranked by ts_rank. The tsquery is written inline: as a FROM-list function the
 * planner would not use the index. Newest first and limited (see TextMatch.id), the planner walks
 * the primary key backwards for a broad query and stops at the limit; for a selective one it
 * takes the GIN index.
 *
 * With several words of which some are common and some not (by the planner's statistics, see
 * PrefixRows), only the uncommon ones are given to the index; the whole query is checked on each
 * row it yields (`ts_match_vq`, the function behind `@@`, which the planner does not match to the
 * index). GIN reads a prefix word by collecting every row of every lexeme it starts with before
 * the first row is returned, so a rare word beside a common one would otherwise cost as much as
 * the common word alone. The rows are the same: the index's words are some of the query's.
 */
export const postgresTextSearch = (rows?: PrefixRows): TextSearch => ({
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const tsquery = (ws: readonly string[]) => sql`to_tsquery('simple', ${ws.map((w) => `${w}:*`).join(' & ')})`;
    const query = tsquery(words);
    const indexed = rows ? indexedWords(words, (w) => rows.of(w)) : words;
    return {
      from: sql`packages p`,
      where: indexed.length === words.length ? sql`p.search_vector @@ ${query}` : sql`p.search_vector @@ ${tsquery(indexed)} AND ts_match_vq(p.search_vector, ${query})`,
      id: sql`p.id`,
      // ts_rank over the bounded candidates' tsvectors only (see TextMatch.carry).
      carry: sql`p.search_vector`,
      rank: sql`-ts_rank(doc, ${query})`,
    };
  },
});

/** The planner's lexeme statistics of `packages.search_vector` in the connection's schema, and the table's estimated rows. */
export const LEXEME_STATS_SQL = `SELECT s.most_common_elems::text::text[] AS lexemes, s.most_common_elem_freqs AS shares, c.reltuples::float8 AS rows
  FROM pg_stats s JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
  WHERE s.schemaname = current_schema() AND s.tablename = 'packages' AND s.attname = 'search_vector'`;
