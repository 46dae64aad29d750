import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';

/**
 * SQLite FTS5 (table `package_fts`), every word a prefix match, ranked by weighted BM25.
 * The match is a materialized CTE: FTS5 refuses bm25() in a query that also has a window function.
 */
export const sqliteTextSearch: TextSearch = {
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const query = words.map((w) => `"${w}"*`).join(' ');
    return {
      with: sql`WITH fts AS MATERIALIZED (
        SELECT rowid AS id, bm25(package_fts, 4.0, 10.0, 5.0, 3.0, 1.0) AS rank FROM package_fts WHERE package_fts MATCH ${query})`,
      // CROSS JOIN fixes the order: from the few matches to their packages by primary key.
      // (Left to itself, SQLite may scan packages by an index on kind and probe the matches.)
      from: sql`fts CROSS JOIN packages p ON p.id = fts.id`,
      where: sql`1 = 1`,
      rank: sql`fts.rank ASC`,
      // FTS5 walks the matches newest first (rowid descending) and stops at the limit: bm25 is
      // computed for the rows returned only.
      candidates: (where, limit) => sql`SELECT f.rowid AS id, bm25(package_fts, 4.0, 10.0, 5.0, 3.0, 1.0) AS rank
        FROM package_fts f CROSS JOIN packages p ON p.id = f.rowid
        WHERE package_fts MATCH ${query} AND ${where} ORDER BY f.rowid DESC LIMIT ${limit}`,
    };
  },
};
