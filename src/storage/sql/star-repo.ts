import { sql, type Kysely, type Selectable } from 'kysely';
import type { StarRepo } from '../../core/stars/star-repo.js';
import type { ReadFilter } from '../../core/access/visibility.js';
import type { PackageRecord } from '../../core/packages/package-repo.js';
import type { Page } from '../../core/page.js';
import { readFilterSql } from './read-filter.js';
import { packageColumns } from './package-columns.js';
import { toPackage } from './rows.js';
import type { Database, PackagesTable } from './schema.js';

export class SqlStarRepo implements StarRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async add(packageId: number, accountId: number, at: string): Promise<boolean> {
    const r = await this.db
      .insertInto('package_stars')
      .values({ package_id: packageId, account_id: accountId, created_at: at })
      .onConflict((oc) => oc.columns(['package_id', 'account_id']).doNothing())
      .executeTakeFirst();
    const added = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    if (added)
      await this.db
        .updateTable('packages')
        .set({ star_count: sql`star_count + 1` })
        .where('id', '=', packageId)
        .execute();
    return added;
  }

  async remove(packageId: number, accountId: number): Promise<boolean> {
    const r = await this.db.deleteFrom('package_stars').where('package_id', '=', packageId).where('account_id', '=', accountId).executeTakeFirst();
    const removed = Number(r.numDeletedRows) > 0;
    if (removed)
      await this.db
        .updateTable('packages')
        .set({ star_count: sql`star_count - 1` })
        .where('id', '=', packageId)
        .execute();
    return removed;
  }

  async has(packageId: number, accountId: number): Promise<boolean> {
    const r = await this.db.selectFrom('package_stars').select('package_id').where('package_id', '=', packageId).where('account_id', '=', accountId).executeTakeFirst();
    return r !== undefined;
  }

  async starredBy(accountId: number, offset: number, limit: number, read?: ReadFilter): Promise<Page<PackageRecord>> {
    const visible = readFilterSql(read);
    const rows = await sql<Selectable<PackagesTable> & { total_count: number | string }>`SELECT ${packageColumns('p')}, count(*) OVER () AS total_count
      FROM package_stars s JOIN packages p ON p.id = s.package_id
      WHERE s.account_id = ${accountId} AND p.latest_version IS NOT NULL AND ${visible}
      ORDER BY s.created_at DESC, p.id LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
    let total = Number(rows.rows[0]?.total_count ?? 0);
    if (rows.rows.length === 0 && offset > 0) {
      const c = await sql<{ n: number | string }>`SELECT count(*) AS n FROM package_stars s JOIN packages p ON p.id = s.package_id
        WHERE s.account_id = ${accountId} AND p.latest_version IS NOT NULL AND ${visible}`.execute(this.db);
      total = Number(c.rows[0]?.n ?? 0);
    }
    return { rows: rows.rows.map(toPackage), total };
  }
}
