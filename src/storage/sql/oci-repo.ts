import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import { isVisibility, type ReadFilter, type Visibility } from '../../core/access/visibility.js';
import type { OciManifestRecord, OciRepo, OciRepositoryRecord, OciUploadRecord } from '../../core/oci/ports.js';
import type { SqlDialectName } from './dialect.js';
import { readFilterSql } from './read-filter.js';
import type { Database, OciManifestsTable, OciRepositoriesTable } from './schema.js';

const toManifest = (r: Selectable<OciManifestsTable>): OciManifestRecord => ({
  repo: r.repo,
  digest: r.digest,
  mediaType: r.media_type,
  artifactType: r.artifact_type,
  size: Number(r.size),
  subject: r.subject,
  annotations: r.annotations === null ? null : (JSON.parse(r.annotations) as Record<string, string>),
  createdAt: r.created_at,
});

const toRepository = (r: Selectable<OciRepositoriesTable>): OciRepositoryRecord => ({
  repo: r.repo,
  ownerAccountId: Number(r.owner_account_id),
  // A value this version does not know is read as the narrowest.
  visibility: isVisibility(r.visibility) ? r.visibility : 'private',
  agentspace: r.agentspace_owner_id === null || r.agentspace_id === null ? null : { ownerAccountId: Number(r.agentspace_owner_id), agentspaceId: r.agentspace_id },
  createdAt: r.created_at,
});

const repositoryRow = (r: OciRepositoryRecord) => ({
  repo: r.repo,
  scope: r.repo.split('/')[0],
  owner_account_id: r.ownerAccountId,
  visibility: r.visibility,
  agentspace_owner_id: r.agentspace?.ownerAccountId ?? null,
  agentspace_id: r.agentspace?.agentspaceId ?? null,
  created_at: r.createdAt,
});

/** OCI repositories, manifests, tags, blob links and upload sessions, on either SQL dialect. */
export class SqlOciRepo implements OciRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  async linkBlob(repo: string, digest: string, at: string): Promise<void> {
    await this.db
      .insertInto('oci_blob_links')
      .values({ repo, digest, linked_at: at })
      .onConflict((oc) => oc.columns(['repo', 'digest']).doUpdateSet({ linked_at: at }))
      .execute();
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    const r = await this.db.deleteFrom('oci_blob_links').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async isLinked(repo: string, digest: string): Promise<boolean> {
    const r = await this.db.selectFrom('oci_blob_links').select('digest').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return r !== undefined;
  }

  async repositoriesHolding(digest: string, limit: number): Promise<string[]> {
    const manifests = await this.db.selectFrom('oci_manifests').select('repo').distinct().where('digest', '=', digest).limit(limit).execute();
    const refs = await this.db.selectFrom('oci_manifest_refs').select('repo').distinct().where('ref_digest', '=', digest).limit(limit).execute();
    const links = await this.db.selectFrom('oci_blob_links').select('repo').distinct().where('digest', '=', digest).limit(limit).execute();
    return [...new Set([...manifests, ...refs, ...links].map((r) => r.repo))].sort().slice(0, limit);
  }

  async findManifest(repo: string, digest: string): Promise<OciManifestRecord | undefined> {
    const r = await this.db.selectFrom('oci_manifests').selectAll().where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    return r && toManifest(r);
  }

  async insertManifest(m: OciManifestRecord, references: string[]): Promise<void> {
    const inserted = await this.db
      .insertInto('oci_manifests')
      .values({
        repo: m.repo,
        digest: m.digest,
        media_type: m.mediaType,
        artifact_type: m.artifactType,
        size: m.size,
        subject: m.subject,
        annotations: m.annotations === null ? null : JSON.stringify(m.annotations),
        created_at: m.createdAt,
      })
      .onConflict((oc) => oc.columns(['repo', 'digest']).doNothing())
      .executeTakeFirst();
    const refs = [...new Set(references)];
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0 && refs.length > 0) {
      await this.db
        .insertInto('oci_manifest_refs')
        .values(refs.map((ref) => ({ repo: m.repo, manifest_digest: m.digest, ref_digest: ref })))
        .onConflict((oc) => oc.columns(['repo', 'manifest_digest', 'ref_digest']).doNothing())
        .execute();
    }
  }

  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    const r = await this.db.deleteFrom('oci_manifests').where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
    await this.db.deleteFrom('oci_manifest_refs').where('repo', '=', repo).where('manifest_digest', '=', digest).execute();
    await this.db.deleteFrom('oci_tags').where('repo', '=', repo).where('digest', '=', digest).execute();
    return Number(r.numDeletedRows) > 0;
  }

  async findTag(repo: string, tag: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('oci_tags').select('digest').where('repo', '=', repo).where('tag', '=', tag).executeTakeFirst();
    return r?.digest;
  }

  async setTag(repo: string, tag: string, digest: string, at: string): Promise<void> {
    await this.db
      .insertInto('oci_tags')
      .values({ repo, tag, digest, updated_at: at })
      .onConflict((oc) => oc.columns(['repo', 'tag']).doUpdateSet({ digest, updated_at: at }))
      .execute();
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('oci_tags').where('repo', '=', repo).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listTags(repo: string): Promise<string[]> {
    const rows = await this.db.selectFrom('oci_tags').select('tag').where('repo', '=', repo).execute();
    return rows.map((r) => r.tag);
  }

  async referrers(repo: string, digest: string): Promise<OciManifestRecord[]> {
    const rows = await this.db.selectFrom('oci_manifests').selectAll().where('repo', '=', repo).where('subject', '=', digest).orderBy('created_at').orderBy('digest').execute();
    return rows.map(toManifest);
  }

  async listRepositories(last: string | undefined, limit: number, filter?: ReadFilter): Promise<string[]> {
    // Byte order on both stores: PostgreSQL's default collation would ignore punctuation.
    const bytes = (column: string) => (this.dialect === 'postgres' ? sql<string>`${sql.ref(column)} COLLATE "C"` : sql<string>`${sql.ref(column)}`);
    // OCI content, readable by its repository record; a repository that is a package is the package's (below).
    const fetchOci = async (table: 'oci_manifests' | 'oci_tags') => {
      const after = last !== undefined ? sql`AND ${bytes('c.repo')} > ${last}` : sql``;
      const { rows } = await sql<{ name: string }>`
        SELECT DISTINCT ${bytes('c.repo')} AS name FROM ${sql.table(table)} AS c
        JOIN oci_repositories AS r ON r.repo = c.repo
        WHERE ${readFilterSql(filter, 'r')} AND NOT EXISTS (SELECT 1 FROM packages AS k WHERE k.key = c.repo) ${after}
        ORDER BY name LIMIT ${limit}`.execute(this.db);
      return rows.map((r) => r.name);
    };
    const fetchPackages = async () => {
      let q = this.db
        .selectFrom('packages as p')
        .select(bytes('p.key').as('name'))
        .where(readFilterSql(filter, 'p') as RawBuilder<boolean>);
      if (last !== undefined) q = q.where(bytes('p.key'), '>', last);
      return (await q.orderBy('name').limit(limit).execute()).map((r) => r.name);
    };
    const names = new Set([...(await fetchOci('oci_manifests')), ...(await fetchOci('oci_tags')), ...(await fetchPackages())]);
    // Byte order, whatever the database's collation: each source gave its first `limit`, so the union's first `limit` are right.
    return [...names]
      .filter((n) => last === undefined || n > last)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit);
  }

  async repositoryExists(repo: string): Promise<boolean> {
    for (const table of ['oci_manifests', 'oci_tags', 'oci_blob_links'] as const) {
      const r = await this.db.selectFrom(table).select('repo').where('repo', '=', repo).limit(1).executeTakeFirst();
      if (r) return true;
    }
    return false;
  }

  async findRepository(repo: string): Promise<OciRepositoryRecord | undefined> {
    const r = await this.db.selectFrom('oci_repositories').selectAll().where('repo', '=', repo).executeTakeFirst();
    return r && toRepository(r);
  }

  async ensureRepository(r: OciRepositoryRecord): Promise<void> {
    await this.db
      .insertInto('oci_repositories')
      .values(repositoryRow(r))
      .onConflict((oc) => oc.column('repo').doNothing())
      .execute();
  }

  async putRepository(r: OciRepositoryRecord): Promise<void> {
    const row = repositoryRow(r);
    await this.db
      .insertInto('oci_repositories')
      .values(row)
      .onConflict((oc) =>
        oc.column('repo').doUpdateSet({ owner_account_id: row.owner_account_id, visibility: row.visibility, agentspace_owner_id: row.agentspace_owner_id, agentspace_id: row.agentspace_id }),
      )
      .execute();
  }

  async setAgentspaceVisibility(ownerAccountId: number, agentspaceId: string, visibility: Visibility): Promise<string[]> {
    const rows = await this.db.selectFrom('oci_repositories').select('repo').where('agentspace_owner_id', '=', ownerAccountId).where('agentspace_id', '=', agentspaceId).execute();
    if (rows.length === 0) return [];
    await this.db.updateTable('oci_repositories').set({ visibility }).where('agentspace_owner_id', '=', ownerAccountId).where('agentspace_id', '=', agentspaceId).execute();
    return rows.map((r) => r.repo);
  }

  async forgetAgentspace(ownerAccountId: number, agentspaceId: string): Promise<void> {
    await this.db
      .updateTable('oci_repositories')
      .set({ agentspace_owner_id: null, agentspace_id: null })
      .where('agentspace_owner_id', '=', ownerAccountId)
      .where('agentspace_id', '=', agentspaceId)
      .execute();
  }

  async insertUpload(u: OciUploadRecord): Promise<void> {
    await this.db.insertInto('oci_uploads').values({ id: u.id, repo: u.repo, created_at: u.createdAt }).execute();
  }

  async findUpload(id: string): Promise<OciUploadRecord | undefined> {
    const r = await this.db.selectFrom('oci_uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, repo: r.repo, createdAt: r.created_at };
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('oci_uploads').where('id', '=', id).execute();
  }

  async uploadsStartedBefore(before: string): Promise<OciUploadRecord[]> {
    const rows = await this.db.selectFrom('oci_uploads').selectAll().where('created_at', '<', before).execute();
    return rows.map((r) => ({ id: r.id, repo: r.repo, createdAt: r.created_at }));
  }

  async signingKey(): Promise<string> {
    const r = await this.db.selectFrom('oci_signing_keys').select('secret').where('id', '=', 1).executeTakeFirstOrThrow();
    return r.secret;
  }
}
