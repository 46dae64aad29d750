import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { CachedMcpServer, McpCacheQuery, McpMirrorCache, McpMirrorState } from '../../core/mirrors/mcp-mirror.js';
import type { SqlDialectName } from './dialect.js';
import type { Database, MirrorMcpServersTable } from './schema.js';

const rowOf = (r: Selectable<MirrorMcpServersTable>): CachedMcpServer => ({
  mirror: r.mirror,
  name: r.name,
  version: r.version,
  key: r.key,
  namespace: r.namespace,
  status: r.status,
  isLatest: Number(r.is_latest) === 1,
  description: r.description,
  publishedAt: r.published_at,
  updatedAt: r.updated_at,
  server: JSON.parse(r.server_json) as Record<string, unknown>,
  official: r.official_json === null ? null : (JSON.parse(r.official_json) as Record<string, unknown>),
  syncedAt: r.synced_at,
});

const escapeLike = (text: string): string => text.replace(/[%_\\]/g, '\\$&');

/** The cached listings of MCP upstreams (migration 0038-mcp-mirror-cache), ordered by bytes on both stores. */
export class SqlMcpMirrorCache implements McpMirrorCache {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  /** A column compared and sorted by bytes (SQLite's default; PostgreSQL's C collation). */
  private bytes(column: string): RawBuilder<string> {
    return this.dialect === 'postgres' ? sql<string>`${sql.ref(column)} COLLATE "C"` : sql<string>`${sql.ref(column)}`;
  }

  async state(mirror: string): Promise<McpMirrorState | undefined> {
    const r = await this.db.selectFrom('mirror_mcp_state').selectAll().where('mirror', '=', mirror).executeTakeFirst();
    return r && { mirror: r.mirror, listedAt: r.listed_at, runStartedAt: r.run_started_at, checkpoint: r.checkpoint };
  }

  async putState(s: McpMirrorState): Promise<void> {
    const values = { listed_at: s.listedAt, run_started_at: s.runStartedAt, checkpoint: s.checkpoint };
    await this.db
      .insertInto('mirror_mcp_state')
      .values({ mirror: s.mirror, ...values })
      .onConflict((oc) => oc.column('mirror').doUpdateSet(values))
      .execute();
  }

  async findMany(mirror: string, keys: string[]): Promise<CachedMcpServer[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.selectFrom('mirror_mcp_servers').selectAll().where('mirror', '=', mirror).where('key', 'in', keys).execute();
    return rows.map(rowOf);
  }

  async upsert(rows: CachedMcpServer[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      for (const r of rows) {
        const values = {
          name: r.name,
          namespace: r.namespace,
          status: r.status,
          is_latest: r.isLatest ? 1 : 0,
          description: r.description,
          published_at: r.publishedAt,
          updated_at: r.updatedAt,
          server_json: JSON.stringify(r.server),
          official_json: r.official === null ? null : JSON.stringify(r.official),
          synced_at: r.syncedAt,
        };
        await tx
          .insertInto('mirror_mcp_servers')
          .values({ mirror: r.mirror, key: r.key, version: r.version, ...values })
          .onConflict((oc) => oc.columns(['mirror', 'key', 'version']).doUpdateSet(values))
          .execute();
      }
    });
  }

  async removeUnseen(mirror: string, before: string): Promise<string[]> {
    return this.db.transaction().execute(async (tx) => {
      const gone = await tx.selectFrom('mirror_mcp_servers').select(['name', 'version']).where('mirror', '=', mirror).where('synced_at', '<', before).execute();
      if (gone.length > 0) await tx.deleteFrom('mirror_mcp_servers').where('mirror', '=', mirror).where('synced_at', '<', before).execute();
      return gone.map((g) => `${g.name}@${g.version}`);
    });
  }

  async browse(q: McpCacheQuery): Promise<CachedMcpServer[]> {
    const where: RawBuilder<unknown>[] = [
      sql`s.mirror IN (SELECT m.name FROM mirrors m WHERE m.kind = 'mcp')`,
      // Local wins: any package of this registry with the name hides the upstream's.
      sql`NOT EXISTS (SELECT 1 FROM packages p WHERE p.key = s.key)`,
      // Several MCP upstreams: the first by name answers for a server name.
      sql`NOT EXISTS (SELECT 1 FROM mirror_mcp_servers o WHERE o.key = s.key AND o.mirror < s.mirror AND o.mirror IN (SELECT m.name FROM mirrors m WHERE m.kind = 'mcp'))`,
    ];
    for (const pin of q.pinned) where.push(sql`s.namespace <> ${pin} AND s.namespace NOT LIKE ${`${escapeLike(pin)}.%`} ESCAPE '\\'`);
    if (!q.includeDeleted) where.push(sql`s.status <> 'deleted'`);
    if (q.latestOnly) where.push(sql`s.is_latest = 1`);
    if (q.exactVersion !== undefined) where.push(sql`s.version = ${q.exactVersion}`);
    if (q.key !== undefined) where.push(sql`s.key = ${q.key}`);
    if (q.mirror !== undefined) where.push(sql`s.mirror = ${q.mirror}`);
    if (q.mirrors.length === 0) return [];
    where.push(sql`s.mirror IN (${sql.join(q.mirrors.map((m) => sql`${m}`))})`);
    if (q.changedSince) where.push(sql`coalesce(s.updated_at, s.published_at, '') >= ${q.changedSince}`);
    if (q.text) {
      const like = `%${escapeLike(q.text.toLowerCase())}%`;
      where.push(sql`(s.key LIKE ${like} ESCAPE '\\' OR lower(s.description) LIKE ${like} ESCAPE '\\')`);
    }
    const key = this.bytes('s.key');
    const version = this.bytes('s.version');
    if (q.after) where.push(sql`(${key} > ${q.after.key} OR (s.key = ${q.after.key} AND ${version} > ${q.after.version}))`);
    const result = await sql<Selectable<MirrorMcpServersTable>>`SELECT s.* FROM mirror_mcp_servers s
      WHERE ${sql.join(where, sql` AND `)}
      ORDER BY ${key}, ${version} LIMIT ${q.limit}`.execute(this.db);
    return result.rows.map(rowOf);
  }
}
