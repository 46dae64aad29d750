import { badRequest } from '../errors.js';

/**
 * Who may read an object (a package of any kind, an agentspace, a managed resource):
 * - `public`: anyone, anonymous callers too (unless the server requires a token for every read);
 * - `internal`: every signed-in account of this server;
 * - `private`: members of the owning account or organisation, and administrators.
 * The one rule that applies it is `AccessPolicy.canRead`.
 */
export type Visibility = 'public' | 'internal' | 'private';

export const VISIBILITIES: readonly Visibility[] = ['public', 'internal', 'private'];

export const isVisibility = (value: unknown): value is Visibility => typeof value === 'string' && (VISIBILITIES as readonly string[]).includes(value);

/** Reads a visibility from user input (case-insensitive, trimmed); a 400 naming `field` otherwise. */
export const parseVisibility = (value: unknown, field = 'visibility'): Visibility => {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (isVisibility(v)) return v;
  throw badRequest(`${field} must be one of ${VISIBILITIES.join(', ')}`, [`${field}: got ${JSON.stringify(value ?? null)}`]);
};

/**
 * What a caller may see in a list, for SQL filters (lists, search, counts): public rows always;
 * internal rows when `internal`; private rows whose owner is in `memberOwnerIds`. When `onlyScopes`
 * is set (a token restricted to some scopes), internal and private rows count only in those scopes.
 */
export type ReadFilter = { all: true } | { all: false; internal: boolean; memberOwnerIds: number[]; onlyScopes?: string[] };

/**
 * The object a read decision is about. `scope` narrows reads of scope-restricted tokens; an object
 * without one (a workload, a managed object) is in its owner's scopes for them.
 */
export interface ReadTarget {
  ownerAccountId: number;
  visibility: Visibility;
  scope?: string;
}

/** An owner id no account has: a {@link ReadTarget} owned by nobody is read by administrators only (and anyone, when public). */
export const NOBODY = -1;
