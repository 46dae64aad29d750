import { sql } from 'kysely';
import { afterPrefix, searchWords, type RowsReader, type TextSearch } from '../sql/dialect.js';

/**
 * The terms of `package_fts` (FTS5's own vocabulary, one row per term instance, read as it goes),
 * made on each connection that searches (a TEMP table: no migration, nothing stored).
 */
export const SQLITE_TERMS_TABLE_SQL = 'CREATE VIRTUAL TABLE IF NOT EXISTS temp.package_fts_terms USING fts5vocab(main, package_fts, instance)';

/** A word the tokenizer keeps as it is (unicode61: ASCII letters and digits, already lower-cased). */
const PLAIN_WORD = /^[a-z0-9]+$/;

/**
 * Whether some term is longer than `word` and starts with it, for each word, in one statement.
 * Every such term sorts from `word` + '0' (the smallest character a term holds after it: ASCII
 * letters and digits, anything else is a byte above 0x7f) up to the next string after every one
 * that starts with `word`; reading from there, not from `word`, skips the word's own instances.
 * Each column named apart (a row read as an object keeps one column of a name).
 */
export const longerTermsSql = (count: number): string =>
  `SELECT ${Array.from({ length: count }, (_, i) => `EXISTS (SELECT 1 FROM temp.package_fts_terms WHERE term >= ? AND term < ?) AS w${i}`).join(', ')}`;

/** The words that start no term but themselves (`run`: on the connection the search runs on, which sees its own writes). */
export const wordsWithoutLongerTerms = async (words: readonly string[], run: RowsReader): Promise<Set<string>> => {
  const plain = [...new Set(words.filter((w) => PLAIN_WORD.test(w)))];
  if (plain.length === 0) return new Set();
  const rows = await run(
    'package_fts_terms.longer',
    longerTermsSql(plain.length),
    plain.flatMap((w) => [`${w}0`, afterPrefix(w)]),
  );
  return new Set(plain.filter((_, i) => Number(rows[0]?.[i] ?? 1) === 0));
};

/**
 * SQLite FTS5 (table `package_fts`), every word a prefix match, ranked by weighted BM25.
 *
 * A word that starts no longer term is given to FTS5 as that term (`"word"`, not `"word"*`): the
 * same rows, and the same BM25 (one phrase per word either way, with the same rows and the same
 * instances), but FTS5 reads a prefix by merging the doclists of every term it starts into one
 * before the first row, and again for BM25's count of each phrase's rows, while it reads a term's
 * own doclist as it goes (at 100k packages, two words of 13k and 8k packages with 920 in common:
 * about a quarter less CPU). Queries of one word skip the lookup.
 */
export const sqliteTextSearch: TextSearch = {
  async match(text, run) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    // One word: its doclist is read whole either way (no other word to skip through), and the
    // lookup would cost more than it saves on most such queries.
    const exact = words.length > 1 ? await wordsWithoutLongerTerms(words, run) : new Set<string>();
    const query = words.map((w) => (exact.has(w) ? `"${w}"` : `"${w}"*`)).join(' ');
    return {
      // CROSS JOIN fixes the order: from the matches to their packages by primary key.
      // (Left to itself, SQLite may scan packages by an index on kind and probe the matches.)
      from: sql`package_fts f CROSS JOIN packages p ON p.id = f.rowid`,
      // A relevance search's candidates: each match looked up in the index that holds what the
      // candidates need of the package (0054), about a tenth of the rows' pages; a filter on another
      // column reads the row as well.
      candidates: sql`package_fts f CROSS JOIN packages p INDEXED BY packages_search_candidates_idx ON p.id = f.rowid`,
      where: sql`package_fts MATCH ${query}`,
      // FTS5 walks the matches newest first (rowid descending) and stops at the limit.
      id: sql`f.rowid`,
      // bm25 needs the FTS5 cursor on its row: computed in the scan, for the bounded rows it returns.
      carry: sql`bm25(package_fts, 4.0, 10.0, 5.0, 3.0, 1.0)`,
      rank: sql`doc`,
    };
  },
};
