import type { ReadFilter } from '../access/visibility.js';
import type { PackageKind } from '../packages/kinds.js';
import type { PackageRecord } from '../packages/package-repo.js';
import type { Page } from '../page.js';

export interface TrendingQuery {
  kind?: PackageKind;
  category?: string;
  /** First UTC day (`YYYY-MM-DD`) of the window, inclusive. */
  sinceDay: string;
  offset: number;
  limit: number;
  /** Only packages the caller may read. */
  read?: ReadFilter;
}

export interface TrendingRow {
  pkg: PackageRecord;
  /** Downloads inside the window. */
  downloads: number;
}

/** Storage port: aggregate reads over published packages (trending, category counts). */
export interface DiscoveryRepo {
  /** Published packages with downloads inside the window, most downloaded in it first. */
  trending(q: TrendingQuery): Promise<Page<TrendingRow>>;
  /** How many published packages (of `kind`, if given) are in each category. */
  categoryCounts(kind: PackageKind | undefined, read?: ReadFilter): Promise<Map<string, number>>;
  /** A package's downloads per UTC day (`YYYY-MM-DD` → count) from `sinceDay` on; days without any are absent. */
  dailyDownloads(packageId: number, sinceDay: string): Promise<Map<string, number>>;
  /** Published packages of `kind` called `name` (case-insensitive), in any scope. */
  packagesNamed(name: string, kind: PackageKind, read?: ReadFilter): Promise<PackageRecord[]>;
}
