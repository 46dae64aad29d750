import type { Kysely, Selectable } from 'kysely';
import type { MirrorKind, MirrorRecord, MirrorStore, MirrorTagRecord } from '../../core/mirrors/mirror.js';
import type { Database, MirrorsTable } from './schema.js';

const recordOf = (r: Selectable<MirrorsTable>): MirrorRecord => ({
  name: r.name,
  kind: r.kind as MirrorKind,
  url: r.url,
  username: r.username,
  hasPassword: Number(r.has_password) === 1,
  ttlSeconds: Number(r.ttl_seconds),
  createdAt: r.created_at,
});

/** Mirrors and their cached tags (migration 0030-mirrors); removing one drops its cached MCP listing too (0038). */
export class SqlMirrorStore implements MirrorStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<MirrorRecord[]> {
    return (await this.db.selectFrom('mirrors').selectAll().orderBy('name').execute()).map(recordOf);
  }

  async find(name: string): Promise<MirrorRecord | undefined> {
    const r = await this.db.selectFrom('mirrors').selectAll().where('name', '=', name).executeTakeFirst();
    return r && recordOf(r);
  }

  async insert(m: MirrorRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('mirrors')
      .values({ name: m.name, kind: m.kind, url: m.url, username: m.username, has_password: m.hasPassword ? 1 : 0, ttl_seconds: m.ttlSeconds, created_at: m.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async delete(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('mirror_tags').where('mirror', '=', name).execute();
      await tx.deleteFrom('mirror_mcp_servers').where('mirror', '=', name).execute();
      await tx.deleteFrom('mirror_mcp_state').where('mirror', '=', name).execute();
      const res = await tx.deleteFrom('mirrors').where('name', '=', name).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  async findTag(mirror: string, repo: string, tag: string): Promise<MirrorTagRecord | undefined> {
    const r = await this.db.selectFrom('mirror_tags').selectAll().where('mirror', '=', mirror).where('repo', '=', repo).where('tag', '=', tag).executeTakeFirst();
    return r && { mirror: r.mirror, repo: r.repo, tag: r.tag, digest: r.digest, checkedAt: r.checked_at };
  }

  async putTag(t: MirrorTagRecord): Promise<void> {
    await this.db
      .insertInto('mirror_tags')
      .values({ mirror: t.mirror, repo: t.repo, tag: t.tag, digest: t.digest, checked_at: t.checkedAt })
      .onConflict((oc) => oc.columns(['mirror', 'repo', 'tag']).doUpdateSet({ digest: t.digest, checked_at: t.checkedAt }))
      .execute();
  }
}
