import type { RequestContext } from '../auth/principal.js';
import type { BlobAccess } from '../blobs/blob-access.js';
import type { CoreDeps } from '../core-deps.js';
import { badRequest } from '../errors.js';
import { utcDay } from '../time.js';
import type { PackageKind } from './kinds.js';
import type { PackageService } from './package-service.js';
import { inspectTarball, type TarballLimits } from './tarball.js';

/** The longest download history one request may ask for (the chart's widest window). */
export const MAX_DOWNLOAD_DAYS = 365;

export interface DailyDownloads {
  /** First UTC day of the window (`YYYY-MM-DD`). */
  since: string;
  /** One entry per UTC day of the window, oldest first, days without downloads included (0). */
  days: Array<{ day: string; downloads: number }>;
  total: number;
}

export interface VersionFiles {
  version: string;
  /** Regular files of the version's tarball, by path, with their expanded sizes. */
  files: Array<{ path: string; size: number }>;
}

/**
 * What a package page shows beyond its metadata: its downloads per day and the files of a version.
 * Both go through `PackageService.find` (the one read rule) and the tarball through `BlobAccess`.
 */
export class PackageInsights {
  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: PackageService,
    private readonly blobAccess: BlobAccess,
    private readonly limits: TarballLimits,
  ) {}

  async downloads(ctx: RequestContext, scope: string, name: string, days: number, kind?: PackageKind): Promise<DailyDownloads> {
    if (!Number.isInteger(days) || days < 1 || days > MAX_DOWNLOAD_DAYS) throw badRequest(`days must be a whole number from 1 to ${MAX_DOWNLOAD_DAYS}`);
    const pkg = await this.packages.find(ctx, scope, name, kind);
    const now = this.deps.clock.now().getTime();
    const since = utcDay(new Date(now - (days - 1) * 86_400_000));
    const counted = await this.deps.storage.discovery.dailyDownloads(pkg.id, since);
    const out: DailyDownloads['days'] = [];
    let total = 0;
    for (let i = days - 1; i >= 0; i--) {
      const day = utcDay(new Date(now - i * 86_400_000));
      const n = counted.get(day) ?? 0;
      total += n;
      out.push({ day, downloads: n });
    }
    return { since, days: out, total };
  }

  async files(ctx: RequestContext, scope: string, name: string, versionOrTag: string, kind?: PackageKind): Promise<VersionFiles> {
    const pkg = await this.packages.find(ctx, scope, name, kind);
    const v = await this.packages.resolve(pkg, versionOrTag);
    const gz = await this.blobAccess.read(ctx, v.digest);
    const { entries } = await inspectTarball(gz, new Set(), this.limits);
    return {
      version: v.version,
      files: entries
        .filter((e) => e.type === 'file')
        .map((e) => ({ path: e.path, size: e.size }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    };
  }
}
