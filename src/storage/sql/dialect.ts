import type { RawBuilder } from 'kysely';

export type SqlDialectName = 'sqlite' | 'postgres';

/** How one dialect turns a user's search text into a filter and a relevance order. */
export interface TextSearch {
  /**
   * Undefined when the text has no searchable words, or when nothing can match it. `run` reads
   * what the match is built from, on the connection the search will run on (PostgreSQL).
   */
  match(text: string, run: RowsReader): TextMatch | undefined | Promise<TextMatch | undefined>;
}

export interface TextMatch {
  /** The FROM clause of the packages the text may match: `packages p` joined to whatever the match needs. */
  from: RawBuilder<unknown>;
  /**
   * The FROM clause of a relevance search's candidates where it differs from `from` (the same rows
   * under the same names, `p` read through an index holding what the candidates need of it: their id,
   * p.download_count and the usual filters' columns; see rankedSearch).
   */
  candidates?: RawBuilder<unknown>;
  /** The condition that keeps the matches of `from`. */
  where: RawBuilder<unknown>;
  /**
   * The matches' package id as the text index walks it: `ORDER BY id DESC LIMIT n` reads the newest
   * n matches and stops, so a bounded candidate set or count costs n rows, not every match.
   */
  id: RawBuilder<unknown>;
  /**
   * What a match's relevance needs of the text index's scan, kept beside each of the bounded
   * candidates as `doc`: where the rank can only be computed while the scan stands on the row
   * (FTS5's bm25), the rank itself; otherwise what it is computed from (PostgreSQL's tsvector), so
   * that only the candidates are ranked, not every match the scan passes on its way to the bound.
   */
  carry: RawBuilder<unknown>;
  /** A candidate's relevance from its `doc` (see carry), lower is better. */
  rank: RawBuilder<unknown>;
  /**
   * PostgreSQL, for a text estimated to match few packages: `where`, `carry` and `rank` again,
   * every value they are computed from hidden from the planner (computed once by a subquery), so
   * that a statement prepared once per connection is planned once for every text (a generic plan)
   * instead of on each search. Its matches are then collected through the text index and sorted,
   * never walked by `id` (which pays for a broad text only).
   */
  generic?: { where: RawBuilder<unknown>; carry: RawBuilder<unknown>; rank: RawBuilder<unknown> };
}

/** The first string after every string that starts with `word`, in code point order. */
export const afterPrefix = (word: string): string => {
  const points = [...word];
  const last = points.pop()!.codePointAt(0)!;
  return points.join('') + String.fromCodePoint(last + 1);
};

/** The words of a query, lower-cased, at most 12. */
export const searchWords = (text: string): string[] => (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 12);

/**
 * One row of a read-only statement as an array of its column values, read synchronously by a
 * statement prepared once on a connection of its own (SQLite in WAL mode: it sees every committed
 * write and never another connection's open transaction). The hot read path's way around the
 * query builder and per-column objects.
 */
export type RowReader = (sql: string, params: readonly unknown[]) => unknown[] | undefined;

/**
 * PostgreSQL's hot read path: rows as arrays of a statement prepared once per pooled connection
 * under `name` (parsed and planned once, not on every call), outside any transaction.
 */
export type RowsReader = (name: string, sql: string, params: readonly unknown[]) => Promise<unknown[][]>;

/**
 * A lookup of one row by one column through a RowReader, as an object of `columns` (the row
 * mappers' input): the statement is written once, and the row read as an array is keyed here.
 */
export const rowFinder = <Row>(readRow: RowReader, table: string, columns: readonly string[], by: string): ((value: unknown) => Row | undefined) => {
  const statement = `SELECT ${columns.join(', ')} FROM ${table} WHERE ${by} = ?`;
  return (value) => {
    const row = readRow(statement, [value]);
    if (!row) return undefined;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) out[columns[i]] = row[i];
    return out as Row;
  };
};
