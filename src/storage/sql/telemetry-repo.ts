import { sql, type Kysely } from 'kysely';
import type { TelemetryCell, TelemetryRepo } from '../../core/telemetry/telemetry-repo.js';
import type { Database } from './schema.js';

export class SqlTelemetryRepo implements TelemetryRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async increment(packageId: number, version: string, day: string, success: boolean, bucket: number): Promise<void> {
    await this.db
      .insertInto('telemetry_counts')
      .values({ package_id: packageId, version, day, success: success ? 1 : 0, bucket, count: 1 })
      .onConflict((oc) => oc.columns(['package_id', 'version', 'day', 'success', 'bucket']).doUpdateSet({ count: sql`telemetry_counts.count + 1` }))
      .execute();
  }

  async cells(packageId: number, sinceDay: string): Promise<TelemetryCell[]> {
    const rows = await this.db
      .selectFrom('telemetry_counts')
      .select((eb) => ['version', 'success', 'bucket', eb.fn.sum<number | string>('count').as('n')])
      .where('package_id', '=', packageId)
      .where('day', '>=', sinceDay)
      .groupBy(['version', 'success', 'bucket'])
      .execute();
    return rows.map((r) => ({ version: r.version, success: Number(r.success) === 1, bucket: Number(r.bucket), count: Number(r.n) }));
  }

  async prune(beforeDay: string): Promise<number> {
    const r = await this.db.deleteFrom('telemetry_counts').where('day', '<', beforeDay).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
