import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import { CATEGORIES } from '../packages/categories.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { PackageKind } from '../packages/kinds.js';
import type { Page } from '../page.js';
import { utcDay } from '../time.js';
import type { TrendingRow } from './discovery-repo.js';

/** agentx's trending periods and how many UTC days (today included) each one spans. */
export const TRENDING_PERIODS = { day: 1, week: 7, month: 30 } as const;
export type TrendingPeriod = keyof typeof TRENDING_PERIODS;

export interface TrendingInput {
  period: TrendingPeriod;
  kind?: PackageKind;
  category?: string;
  offset: number;
  limit: number;
}

export interface CategoryCount {
  slug: string;
  name: string;
  count: number;
}

/** Trending (downloads inside a window of days) and the category list with counts. */
export class DiscoveryService {
  constructor(private readonly deps: CoreDeps) {}

  /** The first UTC day of a period: `day` is today, `week` today and the 6 days before, `month` 30 days. */
  windowStart(period: TrendingPeriod): string {
    const days = TRENDING_PERIODS[period];
    if (days === undefined) throw badRequest(`Unknown period '${String(period)}'`, [`period must be one of ${Object.keys(TRENDING_PERIODS).join(', ')}`]);
    return utcDay(new Date(this.deps.clock.now().getTime() - (days - 1) * 86_400_000));
  }

  /** Published packages with downloads in the period, most downloaded in it first (ties: all-time downloads). */
  async trending(ctx: RequestContext, q: TrendingInput): Promise<Page<TrendingRow> & { sinceDay: string; owners: Map<number, AccountRecord> }> {
    const read = await this.deps.policy.readFilter(ctx);
    const sinceDay = this.windowStart(q.period);
    const page = await this.deps.storage.discovery.trending({ kind: q.kind, category: q.category, sinceDay, offset: q.offset, limit: q.limit, read });
    const ids = [...new Set(page.rows.map((r) => r.pkg.ownerAccountId))];
    const owners = await Promise.all(ids.map((id) => this.deps.storage.accounts.findById(id)));
    return { ...page, sinceDay, owners: new Map(owners.filter((a): a is AccountRecord => a !== undefined).map((a) => [a.id, a])) };
  }

  /** Every valid category, in the fixed order, with how many published packages (of `kind`) the caller may read are in it. */
  async categories(ctx: RequestContext, kind?: PackageKind): Promise<CategoryCount[]> {
    const counts = await this.deps.storage.discovery.categoryCounts(kind, await this.deps.policy.readFilter(ctx));
    return CATEGORIES.map((c) => ({ slug: c.slug, name: c.name, count: counts.get(c.slug) ?? 0 }));
  }
}
