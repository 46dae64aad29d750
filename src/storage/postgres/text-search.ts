import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';

/** PostgreSQL full-text search over the generated `search_vector` column (GIN index). */
export const postgresTextSearch: TextSearch = {
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const query = words.map((w) => `${w}:*`).join(' & ');
    return {
      with: sql``,
      join: sql``,
      where: sql`p.search_vector @@ to_tsquery('simple', ${query})`,
      rank: sql`ts_rank(p.search_vector, to_tsquery('simple', ${query})) DESC`,
    };
  },
};
