import { sql, type RawBuilder } from 'kysely';
import { afterPrefix, searchWords, type RowsReader, type TextSearch } from '../sql/dialect.js';

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
  private sorted: SortedLexemes | undefined;
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
    const s = this.sorted;
    if (!s) return undefined;
    const { lexemes, shares } = s;
    let lo = 0;
    let hi = lexemes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lexemes[mid]! < word) lo = mid + 1;
      else hi = mid;
    }
    let sum = 0;
    for (let i = lo; i < lexemes.length && lexemes[i]!.startsWith(word); i++) sum += shares[i]!;
    return s.rows * (sum > 0 ? Math.min(1, sum) : s.floor);
  }

  /**
   * The estimated number of packages holding every word as a prefix, the words taken as independent
   * (as the planner takes them) but for a word that starts another (`plan plan`, `plan planner`:
   * every package holding the longer one holds it). Undefined without an estimate for every word.
   */
  ofAll(words: readonly string[]): number | undefined {
    let share = 1;
    for (const w of new Set(words)) {
      if (words.some((o) => o !== w && o.startsWith(w))) continue;
      const rows = this.of(w);
      if (rows === undefined || !this.sorted) return undefined;
      share *= rows / this.sorted.rows;
    }
    return this.sorted && this.sorted.rows * share;
  }

  private refresh(): void {
    if (this.reading || this.now() - this.readAt < STATS_TTL_MS) return;
    this.reading = true;
    this.read().then(
      (stats) => {
        this.sorted = sortedLexemes(stats);
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

/** The common lexemes in code unit order (PostgreSQL lists them by length first), their shares beside them. */
interface SortedLexemes {
  lexemes: readonly string[];
  shares: readonly number[];
  /** The rarest common lexeme's share. */
  floor: number;
  rows: number;
}

const sortedLexemes = (stats: LexemeStats | undefined): SortedLexemes | undefined => {
  const { lexemes, shares, rows } = stats ?? {};
  if (!lexemes || !shares || !rows || rows < 0 || lexemes.length === 0) return undefined;
  const order = lexemes.map((_, i) => i).sort((a, b) => (lexemes[a]! < lexemes[b]! ? -1 : lexemes[a]! > lexemes[b]! ? 1 : 0));
  let floor = 1;
  for (let i = 0; i < lexemes.length; i++) floor = Math.min(floor, shares[i] ?? 0);
  return { lexemes: order.map((i) => lexemes[i]!), shares: order.map((i) => shares[i] ?? 0), floor, rows };
};

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
 * Whether a query's words are worth turning into exact lexemes (a statement more): when two or
 * more of them are estimated to match over EXACT_WORD_ROWS packages each, or some have no estimate.
 * GIN then skips through one to the rows of the other instead of collecting both whole; a rare
 * word's rows are few either way, and one word alone is read whole into the bitmap the plan scans.
 */
export const exactWorthIt = (words: readonly string[], rowsOf: (word: string) => number | undefined): boolean => {
  if (words.length < 2) return false;
  const rows = words.map(rowsOf);
  return rows.some((r) => r === undefined) || rows.filter((r) => r! > EXACT_WORD_ROWS).length >= 2;
};
export const EXACT_WORD_ROWS = 1000;

/**
 * A query estimated to match at most this many packages (see PrefixRows.ofAll) is also given as a
 * statement planned once (see TextMatch.generic): its matches are collected through the text index
 * and sorted, never walked newest first, which costs more the more there are.
 */
export const GENERIC_PLAN_ROWS = 2000;

/** The most lexemes one word of a query is turned into; a word that starts more stays a prefix. */
export const MAX_WORD_LEXEMES = 64;

/**
 * For each word of a query (`$1`), in order, the lexemes of `package_lexemes` (migration 0048) it
 * starts, at most MAX_WORD_LEXEMES + 1 (one more tells it starts too many); null for a word that
 * to_tsquery would not keep as it is (one prefix, the word itself), which stays a prefix. `$2`: the
 * first string after each word's prefixes in the C collation's (code point) order.
 */
export const WORD_LEXEMES_SQL = `SELECT CASE WHEN to_tsquery('simple', u.lo || ':*')::text = '''' || u.lo || ''':*' THEN ARRAY(
    SELECT DISTINCT k.lexeme FROM package_lexemes k WHERE k.lexeme >= u.lo COLLATE "C" AND k.lexeme < u.hi COLLATE "C"
    ORDER BY k.lexeme LIMIT ${MAX_WORD_LEXEMES + 1}) END
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(lo, hi, i) ORDER BY u.i`;

/**
 * The exact lexemes each word starts, by `run` (on the connection the search runs on: a
 * transaction sees the lexemes of its own writes), for the words that start at most
 * MAX_WORD_LEXEMES.
 */
export const wordLexemes = async (words: readonly string[], run: RowsReader): Promise<Map<string, readonly string[]>> => {
  const rows = await run('package_lexemes.words', WORD_LEXEMES_SQL, [words, words.map(afterPrefix)]);
  const out = new Map<string, readonly string[]>();
  words.forEach((w, i) => {
    const lexemes = rows[i]?.[0] as string[] | null | undefined;
    if (lexemes && lexemes.length <= MAX_WORD_LEXEMES) out.set(w, lexemes);
  });
  return out;
};

/** A lexeme in tsquery's own syntax: quoted, taken as it is (not parsed or normalized again). */
const quoted = (lexeme: string): string => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * The tsquery of the words, all of them to match: each word in `lexemes` as an OR of its exact
 * lexemes, the others as prefixes (through to_tsquery, as the rank's query). Undefined when a word
 * starts no lexeme at all: nothing matches.
 */
export const wordsQuery = (words: readonly string[], lexemes: ReadonlyMap<string, readonly string[]>): RawBuilder<unknown> | undefined => {
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const w of words) {
    const list = lexemes.get(w);
    if (!list) prefixes.push(`${w}:*`);
    else if (list.length === 0) return undefined;
    else exact.push(list.length === 1 ? quoted(list[0]!) : `(${list.map(quoted).join(' | ')})`);
  }
  const prefixQuery = sql`to_tsquery('simple', ${prefixes.join(' & ')})`;
  if (exact.length === 0) return prefixQuery;
  const exactQuery = sql`${exact.join(' & ')}::tsquery`;
  return prefixes.length === 0 ? exactQuery : sql`(${exactQuery} && ${prefixQuery})`;
};

/**
 * PostgreSQL full-text search over the generated `search_vector` column (GIN index), every word a
 * prefix match, ranked by ts_rank. The tsquery is written inline: as a FROM-list function the
 * planner would not use the index. Newest first and limited (see TextMatch.id), the planner walks
 * the primary key backwards for a broad query and stops at the limit; for a selective one it
 * takes the GIN index.
 *
 * When two or more words each match many packages (see exactWorthIt), the index is given each
 * word as the exact lexemes it starts (read from `package_lexemes`, see wordLexemes) when there
 * are at most MAX_WORD_LEXEMES of them: GIN reads a prefix word by
 * collecting every row of every lexeme it starts before the first row is returned, exact lexemes
 * as it goes, skipping through a common one to the rows of a rare one. The rows are the same (the
 * table lists every lexeme a package holds), and the rank is computed from the prefix query as
 * before, so the order is too.
 *
 * A word left a prefix (it starts more lexemes) that is common beside one that is not (by the
 * planner's statistics, see PrefixRows) is not given to the index: the whole query is checked on
 * each row the index yields (`ts_match_vq`, the function behind `@@`, which the planner does not
 * match to the index), so a rare word beside a common one does not cost as much as the common
 * word alone. The rows are the same: the index's words are some of the query's.
 *
 * A query estimated to match few packages (at most GENERIC_PLAN_ROWS, see PrefixRows.ofAll) also
 * comes with its condition and rank for a statement prepared once per connection (see
 * TextMatch.generic): planning the statement on each search cost a fifth of its backend time (500
 * to 1,000 matches in a store of 100,000 packages).
 */
export const postgresTextSearch = (rows?: PrefixRows): TextSearch => ({
  async match(text, run) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const lexemes = exactWorthIt(words, (w) => rows?.of(w)) ? await wordLexemes(words, run) : new Map<string, readonly string[]>();
    const prefixes = sql`to_tsquery('simple', ${words.map((w) => `${w}:*`).join(' & ')})`;
    // An exact word costs the index little whatever its rows: always given to it.
    const indexed = rows ? indexedWords(words, (w) => (lexemes.has(w) ? 0 : rows.of(w))) : words;
    const index = wordsQuery(indexed, lexemes);
    if (index === undefined) return undefined;
    const where = (index: RawBuilder<unknown>, prefixes: RawBuilder<unknown>) =>
      indexed.length === words.length ? sql`p.search_vector @@ ${index}` : sql`p.search_vector @@ ${index} AND ts_match_vq(p.search_vector, ${prefixes})`;
    const estimate = rows?.ofAll(words);
    // Each tsquery computed once by a subquery (an InitPlan), its value hidden from the planner.
    const once = (q: RawBuilder<unknown>) => sql`(SELECT ${q})`;
    return {
      from: sql`packages p`,
      where: where(index, prefixes),
      id: sql`p.id`,
      // ts_rank over the bounded candidates' tsvectors only (see TextMatch.carry).
      carry: sql`p.search_vector`,
      rank: sql`-ts_rank(doc, ${prefixes})`,
      // Few matches, each a candidate: ranked as the scan reads them, the sort carrying the rank, not the tsvector.
      generic:
        estimate !== undefined && estimate <= GENERIC_PLAN_ROWS ? { where: where(once(index), once(prefixes)), carry: sql`-ts_rank(p.search_vector, ${once(prefixes)})`, rank: sql`doc` } : undefined,
    };
  },
});

/** The planner's lexeme statistics of `packages.search_vector` in the connection's schema, and the table's estimated rows. */
export const LEXEME_STATS_SQL = `SELECT s.most_common_elems::text::text[] AS lexemes, s.most_common_elem_freqs AS shares, c.reltuples::float8 AS rows
  FROM pg_stats s JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
  WHERE s.schemaname = current_schema() AND s.tablename = 'packages' AND s.attname = 'search_vector'`;
