import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { AgentryError } from '../../core/errors.js';

/**
 * A string with a NUL anywhere in a query's tree (its values; names never hold one). Walks the
 * tree without building arrays of its members: it runs for every statement.
 */
const holdsNul = (node: unknown, depth: number): boolean => {
  if (typeof node === 'string') return node.includes('\u0000');
  if (typeof node !== 'object' || node === null || depth > 200 || ArrayBuffer.isView(node) || node instanceof Date) return false;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) if (holdsNul(node[i], depth + 1)) return true;
    return false;
  }
  const members = node as Record<string, unknown>;
  for (const k in members) if (Object.hasOwn(members, k) && holdsNul(members[k], depth + 1)) return true;
  return false;
};

/** Throws the 400 of the guard below when a text value in `values` (a query's tree or its parameters) holds NUL. */
export const refuseNul = (values: unknown): void => {
  if (holdsNul(values, 0)) throw new AgentryError('bad_request', 'Text may not contain NUL characters (U+0000)', ['a name, field or file text holds a NUL character']);
};

/**
 * The last guard before SQL, on both stores alike: a text value holding NUL (U+0000) is refused
 * with a 400 before the query is sent (statements compiled once, see compiled-statement.ts, check
 * their parameters with `refuseNul`). PostgreSQL cannot store NUL in text at all (it fails the
 * whole statement), and SQLite would keep a value no other store could; whatever door, tarball
 * manifest or multipart field it came from, the answer is the same client error.
 */
export class RefuseNulPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    refuseNul(args.node);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
