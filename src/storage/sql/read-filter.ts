import { sql, type RawBuilder } from 'kysely';
import type { ReadFilter } from '../../core/access/visibility.js';

/**
 * The SQL form of AccessPolicy.readFilter over a packages row aliased `alias`: public rows,
 * internal rows for signed-in callers, private rows of the caller's own accounts; internal and
 * private rows only in `onlyScopes` when the token is restricted. Every list, search and count
 * of packages adds it to its WHERE clause, so paging and totals count only what the caller sees.
 * `visibilityIndexed: false` keeps the visibility test out of the planner's choice of index (it
 * matches nearly every row; a planner without statistics, as SQLite's, would read by it and sort
 * every public package instead of reading a listing's page by the index of its order).
 */
export const readFilterSql = (filter: ReadFilter | undefined, alias = 'p', visibilityIndexed = true): RawBuilder<unknown> => {
  if (!filter || filter.all) return sql`1 = 1`;
  const ref = (c: string) => sql.ref(`${alias}.${c}`);
  const col = (c: string) => (c === 'visibility' && !visibilityIndexed ? sql`(${ref(c)} || '')` : ref(c));
  const hidden: RawBuilder<unknown>[] = [];
  if (filter.internal) hidden.push(sql`${col('visibility')} = 'internal'`);
  if (filter.memberOwnerIds.length > 0) {
    hidden.push(sql`${col('owner_account_id')} IN (${sql.join(filter.memberOwnerIds.map((id) => sql`${id}`))})`);
  }
  if (hidden.length === 0) return sql`${col('visibility')} = 'public'`;
  let readable = sql`(${sql.join(hidden, sql` OR `)})`;
  if (filter.onlyScopes) {
    readable = filter.onlyScopes.length === 0 ? sql`1 = 0` : sql`(${readable} AND ${col('scope')} IN (${sql.join(filter.onlyScopes.map((s) => sql`${s.toLowerCase()}`))}))`;
  }
  return sql`(${col('visibility')} = 'public' OR ${readable})`;
};
