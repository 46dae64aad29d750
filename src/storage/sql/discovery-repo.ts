import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { ReadFilter } from '../../core/access/visibility.js';
import type { PackageKind } from '../../core/packages/kinds.js';
import type { PackageRecord } from '../../core/packages/package-repo.js';
import type { Page } from '../../core/page.js';
import { readFilterSql } from './read-filter.js';
import type { DiscoveryRepo, TrendingQuery, TrendingRow } from '../../core/trending/discovery-repo.js';
import { PACKAGE_COLUMNS, packageColumns } from './package-columns.js';
import { toPackage } from './rows.js';
import type { Database, PackagesTable } from './schema.js';

export class SqlDiscoveryRepo implements DiscoveryRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async trending(q: TrendingQuery): Promise<Page<TrendingRow>> {
    const where: RawBuilder<unknown>[] = [sql`p.latest_version IS NOT NULL`, readFilterSql(q.read)];
    if (q.kind) where.push(sql`p.kind = ${q.kind}`);
    if (q.category) where.push(sql`p.category = ${q.category}`);
    const filter = sql.join(where, sql` AND `);
    const window = sql`(SELECT package_id, SUM(count) AS n FROM package_downloads WHERE day >= ${q.sinceDay} GROUP BY package_id) d`;
    const page = await sql<Selectable<PackagesTable> & { window_downloads: number | string; total_count: number | string }>`SELECT ${packageColumns('p')},
        d.n AS window_downloads, count(*) OVER () AS total_count
      FROM ${window} JOIN packages p ON p.id = d.package_id
      WHERE ${filter}
      ORDER BY d.n DESC, p.download_count DESC, p.id LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db);
    let total = Number(page.rows[0]?.total_count ?? 0);
    if (page.rows.length === 0 && q.offset > 0) {
      const c = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${window} JOIN packages p ON p.id = d.package_id WHERE ${filter}`.execute(this.db);
      total = Number(c.rows[0]?.n ?? 0);
    }
    return { rows: page.rows.map((r) => ({ pkg: toPackage(r), downloads: Number(r.window_downloads) })), total };
  }

  async categoryCounts(kind: PackageKind | undefined, read?: ReadFilter): Promise<Map<string, number>> {
    let q = this.db
      .selectFrom('packages as p')
      .select((eb) => ['p.category', eb.fn.countAll().as('n')])
      .where('p.latest_version', 'is not', null)
      .where('p.category', 'is not', null)
      .where(readFilterSql(read) as RawBuilder<boolean>);
    if (kind) q = q.where('p.kind', '=', kind);
    const rows = await q.groupBy('p.category').execute();
    return new Map(rows.map((r) => [r.category as string, Number(r.n)]));
  }

  async dailyDownloads(packageId: number, sinceDay: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('package_downloads')
      .select((eb) => ['day', eb.fn.sum<number | string>('count').as('n')])
      .where('package_id', '=', packageId)
      .where('day', '>=', sinceDay)
      .groupBy('day')
      .execute();
    return new Map(rows.map((r) => [String(r.day), Number(r.n)]));
  }

  async packagesNamed(name: string, kind: PackageKind, read?: ReadFilter): Promise<PackageRecord[]> {
    const rows = await this.db
      .selectFrom('packages as p')
      .select(PACKAGE_COLUMNS.map((c) => `p.${c}` as const))
      .where('p.kind', '=', kind)
      .where(sql<boolean>`lower(p.name) = ${name.toLowerCase()}`)
      .where('p.latest_version', 'is not', null)
      .where(readFilterSql(read) as RawBuilder<boolean>)
      .orderBy('p.key')
      .limit(20)
      .execute();
    return rows.map(toPackage);
  }
}
