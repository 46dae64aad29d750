import { badRequest } from '../errors.js';

/** Which backend keeps the values. */
export type SecretBackendKind = 'builtin' | 'env' | 'vault';

/**
 * The port for secret values. A value lives at (owner, namespace, key): `owner` is an account
 * name, `namespace` a `/`-separated path the caller chooses (e.g. `agentspaces/default`),
 * `key` a name like `OPENAI_API_KEY`. Values go in and come out only through here; nothing
 * else in Agentry stores, logs or returns them.
 *
 * @example
 *   await store.put('alice', 'agentspaces/default', 'OPENAI_API_KEY', 'sk-…');
 *   const v = await store.get('alice', 'agentspaces/default', 'OPENAI_API_KEY'); // 'sk-…'
 *   await store.list('alice', 'agentspaces/default');                           // ['OPENAI_API_KEY']
 *   await store.delete('alice', 'agentspaces/default', 'OPENAI_API_KEY');       // true
 */
export interface SecretStore {
  readonly backend: SecretBackendKind;
  /** Creates or replaces a value. Throws `bad_request` on a read-only backend (environment). */
  put(owner: string, namespace: string, key: string, value: string): Promise<void>;
  /** The value, or undefined when there is none. */
  get(owner: string, namespace: string, key: string): Promise<string | undefined>;
  /** True when a value was there. */
  delete(owner: string, namespace: string, key: string): Promise<boolean>;
  /** The keys (never the values) directly in a namespace, sorted. */
  list(owner: string, namespace: string): Promise<string[]>;
}

const OWNER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** Secret keys look like environment variable names (letters, digits, `_`, `.`, `-`; not starting with a digit). */
export const secretKeyProblem = (key: string): string | undefined =>
  KEY.test(key) ? undefined : `'${key.slice(0, 130)}' is not a valid secret key: use letters, digits, '_', '.' or '-' (at most 128), starting with a letter or '_'`;

/** Checks an address before any backend sees it, so no backend can be steered outside its tree. */
export const checkSecretAddress = (owner: string, namespace: string, key?: string): void => {
  const problems: string[] = [];
  if (!OWNER.test(owner)) problems.push(`owner '${owner.slice(0, 100)}' is not an account name`);
  const segments = namespace.split('/');
  if (namespace.length > 512 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    problems.push(`namespace '${namespace.slice(0, 100)}' must be '/'-separated names of letters, digits, '_', '.' or '-'`);
  }
  if (key !== undefined) {
    const p = secretKeyProblem(key);
    if (p) problems.push(p);
  }
  if (problems.length > 0) throw badRequest('Invalid secret address', problems);
};
