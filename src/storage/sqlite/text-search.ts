import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';

/** SQLite FTS5 (table `package_fts`), every word a prefix match, ranked by weighted BM25. */
export const sqliteTextSearch: TextSearch = {
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const query = words.map((w) => `"${w}"*`).join(' ');
    return {
      join: sql`JOIN package_fts ON package_fts.rowid = p.id`,
      where: sql`package_fts MATCH ${query}`,
      rank: sql`bm25(package_fts, 4.0, 10.0, 5.0, 3.0, 1.0) ASC`,
    };
  },
};
