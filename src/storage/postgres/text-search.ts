import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';

/**
 * PostgreSQL full-text search over the generated `search_vector` column (GIN index), every word a
 * prefix match, ranked by ts_rank. The tsquery is written inline: as a FROM-list function the
 * planner would not use the index. Newest first and limited (see TextMatch.id), the planner walks
 * the primary key backwards for a broad query and stops at the limit; for a selective one it
 * takes the GIN index.
 */
export const postgresTextSearch: TextSearch = {
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const query = sql`to_tsquery('simple', ${words.map((w) => `${w}:*`).join(' & ')})`;
    return {
      from: sql`packages p`,
      where: sql`p.search_vector @@ ${query}`,
      id: sql`p.id`,
      rank: sql`-ts_rank(p.search_vector, ${query})`,
    };
  },
};
