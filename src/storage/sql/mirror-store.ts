import type { Kysely, Selectable } from 'kysely';
import type { Visibility } from '../../core/access/visibility.js';
import type { MirrorKind, MirrorListingRecord, MirrorRecord, MirrorScopeRecord, MirrorStore, MirrorTagRecord } from '../../core/mirrors/mirror.js';
import type { Database, MirrorsTable } from './schema.js';
import { runCompiled } from './compiled-statement.js';

const recordOf = (r: Selectable<MirrorsTable>): MirrorRecord => ({
  name: r.name,
  kind: r.kind as MirrorKind,
  url: r.url,
  username: r.username,
  hasPassword: Number(r.has_password) === 1,
  ttlSeconds: Number(r.ttl_seconds),
  visibility: r.visibility as Visibility,
  createdAt: r.created_at,
});

/**
 * Mirrors and their cached tags (migration 0030-mirrors; their visibility 0049-mirror-visibility); scopes and packages taken from Agentry
 * upstreams (0039-agentry-mirrors); OCI listings (0041-mirror-listings). Removing a mirror drops its
 * cached MCP listing (0038), sync jobs and OCI listings too.
 */
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
      .values({ name: m.name, kind: m.kind, url: m.url, username: m.username, has_password: m.hasPassword ? 1 : 0, ttl_seconds: m.ttlSeconds, visibility: m.visibility, created_at: m.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async update(name: string, change: Partial<Pick<MirrorRecord, 'visibility' | 'ttlSeconds'>>): Promise<boolean> {
    const res = await this.db
      .updateTable('mirrors')
      .set({ ...(change.visibility !== undefined ? { visibility: change.visibility } : {}), ...(change.ttlSeconds !== undefined ? { ttl_seconds: change.ttlSeconds } : {}) })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('mirror_tags').where('mirror', '=', name).execute();
      await tx.deleteFrom('mirror_syncs').where('mirror', '=', name).execute();
      await tx.deleteFrom('mirror_listings').where('mirror', '=', name).execute();
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

  async findScope(scope: string): Promise<MirrorScopeRecord | undefined> {
    const key = scope.toLowerCase();
    // Asked on every publish (a mirrored scope is read-only): compiled once.
    const [r] = await runCompiled(this.db, 'mirror_scopes.find', [key], () => this.db.selectFrom('mirror_scopes').selectAll().where('scope', '=', key));
    return r && { scope: r.scope, mirror: r.mirror, upstream: r.upstream, createdAt: r.created_at };
  }

  async claimScope(c: MirrorScopeRecord): Promise<MirrorScopeRecord> {
    await this.db
      .insertInto('mirror_scopes')
      .values({ scope: c.scope.toLowerCase(), mirror: c.mirror, upstream: c.upstream, created_at: c.createdAt })
      .onConflict((oc) => oc.column('scope').doNothing())
      .execute();
    return (await this.findScope(c.scope))!;
  }

  async packageCheckedAt(key: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('mirror_packages').select('checked_at').where('pkg_key', '=', key).executeTakeFirst();
    return r?.checked_at;
  }

  async markPackage(key: string, mirror: string, checkedAt: string): Promise<void> {
    await this.db
      .insertInto('mirror_packages')
      .values({ pkg_key: key, mirror, checked_at: checkedAt })
      .onConflict((oc) => oc.column('pkg_key').doUpdateSet({ mirror, checked_at: checkedAt }))
      .execute();
  }

  async packagesOf(mirror: string, afterKey: string | undefined, limit: number): Promise<string[]> {
    let q = this.db.selectFrom('mirror_packages').select('pkg_key').where('mirror', '=', mirror);
    if (afterKey !== undefined) q = q.where('pkg_key', '>', afterKey);
    return (await q.orderBy('pkg_key').limit(limit).execute()).map((r) => r.pkg_key);
  }

  async deleteTag(mirror: string, repo: string, tag: string): Promise<void> {
    await this.db.deleteFrom('mirror_tags').where('mirror', '=', mirror).where('repo', '=', repo).where('tag', '=', tag).execute();
  }
  async findListing(mirror: string, repo: string, listing: string): Promise<MirrorListingRecord | undefined> {
    const r = await this.db.selectFrom('mirror_listings').selectAll().where('mirror', '=', mirror).where('repo', '=', repo).where('listing', '=', listing).executeTakeFirst();
    if (!r) return undefined;
    const items: unknown = JSON.parse(r.items);
    return { mirror: r.mirror, repo: r.repo, listing: r.listing, items: Array.isArray(items) ? items.filter((i): i is string => typeof i === 'string') : [], checkedAt: r.checked_at };
  }

  async putListing(l: MirrorListingRecord): Promise<void> {
    const items = JSON.stringify(l.items);
    await this.db
      .insertInto('mirror_listings')
      .values({ mirror: l.mirror, repo: l.repo, listing: l.listing, items, checked_at: l.checkedAt })
      .onConflict((oc) => oc.columns(['mirror', 'repo', 'listing']).doUpdateSet({ items, checked_at: l.checkedAt }))
      .execute();
  }
}
