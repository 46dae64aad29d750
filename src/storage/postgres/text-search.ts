import { sql } from 'kysely';
import { searchWords, type TextSearch } from '../sql/dialect.js';
import { packageColumns } from '../sql/package-columns.js';

/**
 * PostgreSQL full-text search over the generated `search_vector` column (GIN index). The matching
 * packages are a materialized CTE named `p`, so the plan always starts from the GIN index and
 * the other filters apply to the few matches, whatever the planner's statistics say. The
 * tsquery is written inline: as a FROM-list function the planner would not use the index.
 */
export const postgresTextSearch: TextSearch = {
  match(text) {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const query = words.map((w) => `${w}:*`).join(' & ');
    return {
      with: sql`WITH p AS MATERIALIZED (
        SELECT ${packageColumns('packages')}, ts_rank(search_vector, to_tsquery('simple', ${query})) AS fts_rank
        FROM packages WHERE search_vector @@ to_tsquery('simple', ${query}))`,
      from: sql`p`,
      where: sql`1 = 1`,
      rank: sql`p.fts_rank DESC`,
      // Newest first and limited: for a broad query the planner walks the primary key backwards and
      // stops at the limit; for a selective one it takes the GIN index. Ranked by the caller.
      candidates: (where, limit) => sql`SELECT p.id, -ts_rank(p.search_vector, to_tsquery('simple', ${query})) AS rank
        FROM packages p WHERE p.search_vector @@ to_tsquery('simple', ${query}) AND ${where} ORDER BY p.id DESC LIMIT ${limit}`,
    };
  },
};
