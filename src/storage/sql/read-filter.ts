import { sql, type RawBuilder } from 'kysely';
import type { ReadFilter } from '../../core/access/visibility.js';

/**
 * The SQL form of AccessPolicy.readFilter over a packages row aliased `alias`: public rows,
 * internal rows for signed-in callers, private rows of the caller's own accounts; internal and
 * private rows only in `onlyScopes` when the token is restricted. Every list, search and count
 * of packages adds it to its WHERE clause, so paging and totals count only what the caller sees.
 * (SQLite has no index of packages by visibility, 0053: it matched nearly every row, and a planner
 * without statistics read by it instead of by the index of a listing's order.)
 */
export const readFilterSql = (filter: ReadFilter | undefined, alias = 'p'): RawBuilder<unknown> => {
  if (!filter || filter.all) return sql`1 = 1`;
  const ref = (c: string) => sql.ref(`${alias}.${c}`);
  const hidden: RawBuilder<unknown>[] = [];
  if (filter.internal) hidden.push(sql`${ref('visibility')} = 'internal'`);
  if (filter.memberOwnerIds.length > 0) {
    hidden.push(sql`${ref('owner_account_id')} IN (${sql.join(filter.memberOwnerIds.map((id) => sql`${id}`))})`);
  }
  if (hidden.length === 0) return sql`${ref('visibility')} = 'public'`;
  let readable = sql`(${sql.join(hidden, sql` OR `)})`;
  if (filter.onlyScopes) {
    readable = filter.onlyScopes.length === 0 ? sql`1 = 0` : sql`(${readable} AND ${ref('scope')} IN (${sql.join(filter.onlyScopes.map((s) => sql`${s.toLowerCase()}`))}))`;
  }
  return sql`(${ref('visibility')} = 'public' OR ${readable})`;
};
