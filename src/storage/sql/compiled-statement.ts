import { CompiledQuery, type Compilable, type DialectAdapter, type Kysely } from 'kysely';
import { refuseNul } from './refuse-nul.js';

/** SQL text by shape, per database (its adapter, which its transactions share: one dialect, one compiler). */
const compiled = new WeakMap<DialectAdapter, Map<string, string>>();

/**
 * Runs a statement of the hot write path (a publish's transaction) as SQL text compiled once:
 * building a query and compiling it costs more CPU than SQLite takes to run it. The query builder
 * writes the statement the first time a `shape` is run on a database (`shape` names everything
 * that changes its text, e.g. the columns an update sets); later runs send that text with new
 * `params`, which must be the values in the order the builder binds them: the first run checks
 * them against the builder's own and throws when they differ. Parameters pass the NUL guard as
 * the builder's queries do (refuse-nul).
 */
export const runCompiled = async <Db, Row>(db: Kysely<Db>, shape: string, params: readonly unknown[], build: () => Compilable<Row>): Promise<Row[]> => {
  // A value left undefined drops its column from what the builder writes: such a call is built as it comes.
  if (params.includes(undefined)) return (await db.executeQuery(build())).rows;
  const adapter = db.getExecutor().adapter;
  let shapes = compiled.get(adapter);
  if (!shapes) compiled.set(adapter, (shapes = new Map()));
  let text = shapes.get(shape);
  if (text === undefined) {
    const query = build().compile();
    if (query.parameters.length !== params.length || query.parameters.some((p, i) => p !== params[i])) {
      throw new Error(`compiled statement '${shape}': its parameters are not in the order the query builder binds them`);
    }
    text = query.sql;
    shapes.set(shape, text);
  }
  refuseNul(params);
  const result = await db.executeQuery<Row>(CompiledQuery.raw(text, params as unknown[]));
  return result.rows as Row[];
};
