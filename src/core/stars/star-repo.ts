import type { ReadFilter } from '../access/visibility.js';
import type { PackageRecord } from '../packages/package-repo.js';
import type { Page } from '../page.js';

/** Storage port: who starred which package. `packages.star_count` moves with it, in the same call. */
export interface StarRepo {
  /** Stars `packageId` for `accountId`; false when it was already starred. */
  add(packageId: number, accountId: number, at: string): Promise<boolean>;
  /** Removes the star; false when there was none. */
  remove(packageId: number, accountId: number): Promise<boolean>;
  has(packageId: number, accountId: number): Promise<boolean>;
  /** Packages an account starred, most recently starred first. */
  starredBy(accountId: number, offset: number, limit: number, read?: ReadFilter): Promise<Page<PackageRecord>>;
}
