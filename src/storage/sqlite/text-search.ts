import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';

/** SQLite FTS5 (table `package_fts`), every word a prefix match, ranked by weighted BM25. */
export const sqliteTextSearch: TextSearch = {
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const query = words.map((w) => `"${w}"*`).join(' ');
    return {
      // CROSS JOIN fixes the order: from the matches to their packages by primary key.
      // (Left to itself, SQLite may scan packages by an index on kind and probe the matches.)
      from: sql`package_fts f CROSS JOIN packages p ON p.id = f.rowid`,
      where: sql`package_fts MATCH ${query}`,
      // FTS5 walks the matches newest first (rowid descending) and stops at the limit.
      id: sql`f.rowid`,
      // bm25 needs the FTS5 cursor on its row: computed in the scan, for the bounded rows it returns.
      carry: sql`bm25(package_fts, 4.0, 10.0, 5.0, 3.0, 1.0)`,
      rank: sql`doc`,
    };
  },
};
