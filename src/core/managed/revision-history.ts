import { isStoredId } from '../ids.js';
import { integerRevisionScheme } from '../packages/version-scheme.js';
import type { ManagedRepo, RevisionRecord } from './managed-storage.js';
import { cutPage, decodePageToken, type Paged, type PageRequest } from './page-token.js';

/**
 * Integer revision history (1, 2, 3, …): every change is a new, immutable revision and the
 * object points at its newest. Revisions follow the core's integer version scheme
 * (packages/version-scheme.ts, beside the semver schemes of packages).
 */
export const FIRST_REVISION = 1;
export const nextRevision = (current: number): number => current + 1;

/**
 * A revision number from user input (`?version=3`, `/versions/3`), or undefined when it is not one:
 * digits only (no sign, leading zero, `.` or exponent) and no larger than a stored integer.
 */
export const parseRevision = (value: string | number): number | undefined => {
  const text = String(value);
  return integerRevisionScheme.problem(text) === undefined && isStoredId(Number(text)) ? Number(text) : undefined;
};

export const recordRevision = (repo: ManagedRepo, objectId: string, revision: number, data: Record<string, unknown>, at: string): Promise<void> =>
  repo.insertRevision({ objectId, revision, data, createdAt: at });

export const findRevision = (repo: ManagedRepo, objectId: string, revision: number): Promise<RevisionRecord | undefined> => repo.findRevision(objectId, revision);

/** Newest first; the page token is the last revision of the previous page. */
export const listRevisions = async (repo: ManagedRepo, objectId: string, req: PageRequest & { limit: number }): Promise<Paged<RevisionRecord>> => {
  const before = decodePageToken(req.page);
  const rows = await repo.listRevisions(objectId, before, req.limit + 1);
  return cutPage(rows, req.limit, (r) => r.revision);
};
