import type { Readable } from 'node:stream';
import semver from 'semver';
import type { RequestContext } from '../../auth/principal.js';
import { badRequest, conflict, forbidden, notFound } from '../../errors.js';
import type { StorageRepos } from '../../storage.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { readableObject, reader, writer, type ManagedDeps } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { cutPage, decodePageToken, pageOfArray, type Paged, type PageRequest } from '../page-token.js';
import { fileInTarball, filesInTarball, skillBundle, skillTarball, type UploadedFile } from './skill-bundle.js';
import { newManagedObject } from '../new-managed-object.js';

/** Built-in skills are shared with every account under this marker (their parentId). */
const BUILTIN = 'builtin';
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface SkillView {
  id: string;
  displayTitle: string;
  description: string;
  /** SKILL.md's `name`. */
  name: string;
  source: 'custom' | 'anthropic';
  latestVersion: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SkillVersionView {
  skillId: string;
  version: string;
  name: string;
  description: string;
  createdAt: string;
}

export interface SkillCreateInput {
  files: UploadedFile[];
  /** 002: the id the client chooses. */
  id?: string;
  displayTitle?: string;
  description?: string;
  /** Admin only: a built-in skill, listed for every account and never deletable. */
  builtIn?: boolean;
}

/** The most versions one skill keeps (deleted ones count: their numbers are never reused). */
const MAX_VERSIONS = 1000;

interface VersionData {
  version: string;
  name: string;
  description: string;
  size: number;
}

/**
 * Managed skills (002's and the SDK's) are private managed objects of their account, never
 * packages: an upload is validated by the Agent Skills rules, stored as a gzip tarball in the
 * blob store, and kept as a `skill_version` object (semver: SKILL.md's `metadata.version`, else
 * the next patch). The package doors (native, MCP, ToolHive, recipes) never list or serve them;
 * to share a skill, its owner publishes it as a skill package on purpose (`agentry publish`).
 * Built-in skills (an administrator's) are readable by every account.
 */
export class ManagedSkillService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly maxUnpackedBytes: number,
  ) {}

  async create(ctx: RequestContext, input: SkillCreateInput): Promise<SkillView> {
    const p = writer(this.deps, ctx);
    if (input.builtIn) this.deps.policy.requireAdmin(ctx);
    if (input.id !== undefined && !CLIENT_ID.test(input.id)) {
      throw badRequest(`id '${input.id.slice(0, 80)}' must be 1-64 letters, digits, '_' or '-', starting with a letter or digit`);
    }
    if (input.id !== undefined && (await this.deps.storage.managed.find(input.id))) throw conflict(`A skill with id '${input.id}' already exists`);
    const bundle = skillBundle(input.files);
    const scope = p.account.name;
    const name = bundle.document.name;
    const existing = await this.deps.storage.managed.findByName('skill', p.account.id, `${scope}/${name}`);
    if (existing) throw conflict(`You already have skill '${name}' (${existing.id}); upload a new version to POST /v1/skills/${existing.id}/versions`);
    const version = this.checkVersion(bundle.document.version ?? '1.0.0');
    const blob = await this.deps.blobs.put(await skillTarball(bundle.files));
    const now = isoNow(this.deps.clock);
    return this.deps.storage.transaction(async (tx) => {
      const o = await tx.managed.insert(
        newManagedObject(
          {
            id: input.id ?? newManagedId('skill'),
            kind: 'skill',
            accountId: p.account.id,
            parentId: input.builtIn ? BUILTIN : null,
            name: `${scope}/${name}`,
            data: {
              display_title: input.displayTitle?.trim() || name,
              description: input.description?.trim() || bundle.document.description,
              scope,
              name,
              source: input.builtIn ? 'anthropic' : 'custom',
            },
          },
          now,
        ),
      );
      const v = await this.insertVersion(tx, o, version, bundle.document.description, blob, now);
      await this.deps.audit.record(tx.audit, ctx, 'managed.skill.create', o.id, { name, version, digest: blob.digest, built_in: input.builtIn ?? false });
      return this.view(o, v);
    });
  }

  /** The caller's skills and every built-in one, newest first; `source` filters by custom or built-in. */
  async list(ctx: RequestContext, q: PageRequest & { limit: number; source?: string }): Promise<Paged<SkillView>> {
    const p = reader(this.deps, ctx);
    const rows = await this.deps.storage.managed.list({
      kind: 'skill',
      accountIds: q.source === 'anthropic' ? [] : [p.account.id],
      sharedParentId: q.source === 'custom' ? undefined : BUILTIN,
      archived: 'exclude',
      beforeSeq: decodePageToken(q.page),
      limit: q.limit + 1,
    });
    const filtered = q.source === 'custom' ? rows.filter((r) => r.parentId !== BUILTIN) : rows;
    const page = cutPage(filtered, q.limit, (r) => r.seq);
    return { rows: await Promise.all(page.rows.map((o) => this.view(o))), nextPage: page.nextPage };
  }

  async get(ctx: RequestContext, id: string): Promise<SkillView> {
    return this.view(await this.readable(ctx, id));
  }

  /** A new version of a skill from uploaded files; its SKILL.md name must stay the same. */
  async addVersion(ctx: RequestContext, id: string, files: UploadedFile[]): Promise<SkillVersionView> {
    const p = writer(this.deps, ctx);
    const o = await this.owned(id, p.account.id);
    const bundle = skillBundle(files);
    const data = o.data as { scope: string; name: string };
    if (bundle.document.name !== data.name) throw badRequest(`SKILL.md: name '${bundle.document.name}' must stay '${data.name}' for a new version of this skill`);
    const all = await this.allVersions(o);
    if (all.length >= MAX_VERSIONS) throw conflict(`Skill ${id} has ${MAX_VERSIONS} versions, the most one skill keeps; create a new skill`);
    const version = this.checkVersion(bundle.document.version ?? this.nextVersion(all));
    if (all.some((v) => (v.data as unknown as VersionData).version === version)) {
      throw conflict(`Skill ${id} already has version ${version} (a deleted version's number is never reused); raise metadata.version in SKILL.md`);
    }
    const blob = await this.deps.blobs.put(await skillTarball(bundle.files));
    const now = isoNow(this.deps.clock);
    return this.deps.storage.transaction(async (tx) => {
      const v = await this.insertVersion(tx, o, version, bundle.document.description, blob, now);
      await tx.managed.update(o.id, { updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.skill.version.create', o.id, { version, digest: blob.digest });
      return this.versionView(o, v);
    });
  }

  /** Versions, highest first. */
  async versions(ctx: RequestContext, id: string, req: PageRequest & { limit: number }): Promise<Paged<SkillVersionView>> {
    const o = await this.readable(ctx, id);
    const page = pageOfArray(await this.liveVersions(o), req);
    return { rows: page.rows.map((v) => this.versionView(o, v)), nextPage: page.nextPage };
  }

  async version(ctx: RequestContext, id: string, version: string): Promise<SkillVersionView> {
    const o = await this.readable(ctx, id);
    return this.versionView(o, await this.resolve(o, version));
  }

  /** The version's tarball (gzip), SKILL.md at its root; its bytes through BlobAccess (what owns them). */
  async download(ctx: RequestContext, id: string, version: string): Promise<{ version: SkillVersionView; body: Readable; size: number }> {
    const o = await this.readable(ctx, id);
    const v = await this.resolve(o, version);
    const blob = await this.deps.blobAccess.find(ctx, v.digest!, () => notFound(`Skill ${id} has no content for version ${version}`));
    return { version: this.versionView(o, v), body: await blob.open(), size: blob.size };
  }

  /** One file of the skill's latest version (or `version`). */
  async file(ctx: RequestContext, id: string, path: string, version = 'latest'): Promise<{ path: string; data: Buffer }> {
    const o = await this.readable(ctx, id);
    const v = await this.resolve(o, version);
    const gz = await this.deps.blobAccess.read(ctx, v.digest!, () => notFound(`Skill ${id} has no content for version ${version}`));
    return { path, data: await fileInTarball(gz, path, this.maxUnpackedBytes) };
  }

  /** Every file of one version of a skill the caller may read (a session mounts them in its workspace). */
  async files(ctx: RequestContext, id: string, version = 'latest'): Promise<{ name: string; version: string; files: UploadedFile[] }> {
    const o = await this.readable(ctx, id);
    const v = await this.resolve(o, version);
    const gz = await this.deps.blobAccess.read(ctx, v.digest!, () => notFound(`Skill ${id} has no content for version ${version}`));
    const d = v.data as unknown as VersionData;
    return { name: d.name, version: d.version, files: await filesInTarball(gz, this.maxUnpackedBytes) };
  }

  /** Deletes one version; its number is never given out again. Its bytes go with the next `agentry gc`. */
  async deleteVersion(ctx: RequestContext, id: string, version: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await this.owned(id, p.account.id);
    if (o.parentId === BUILTIN) throw forbidden(`Skill ${id} is built in; its versions cannot be deleted`);
    const v = await this.resolve(o, version);
    const now = isoNow(this.deps.clock);
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.update(v.id, { archivedAt: now, digest: null, updatedAt: now });
      await tx.managed.update(o.id, { updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.skill.version.delete', o.id, { version: (v.data as unknown as VersionData).version });
    });
  }

  /** Deletes a skill and its versions; built-in skills cannot be deleted. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await this.readable(ctx, id);
    if (o.parentId === BUILTIN) throw forbidden(`Skill ${id} is built in and cannot be deleted`);
    if (o.accountId !== p.account.id) throw notFound(`Skill ${id} not found`);
    const versions = await this.allVersions(o);
    await this.deps.storage.transaction(async (tx) => {
      for (const v of versions) await tx.managed.delete(v.id);
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.skill.delete', o.id, { name: String(o.data.name), versions: versions.filter((v) => !v.archivedAt).length });
    });
  }

  private checkVersion(version: string): string {
    if (!semver.valid(version) || semver.clean(version) !== version) throw badRequest(`Skill version '${version.slice(0, 64)}' is not valid semver (like 1.0.0)`);
    return version;
  }

  private insertVersion(tx: StorageRepos, skill: ManagedObjectRecord, version: string, description: string, blob: { digest: string; size: number }, now: string): Promise<ManagedObjectRecord> {
    const data: VersionData = { version, name: String(skill.data.name), description, size: blob.size };
    return tx.managed.insert(
      newManagedObject(
        {
          id: newManagedId('skillver'),
          kind: 'skill_version',
          accountId: skill.accountId,
          parentId: skill.id,
          name: `${skill.id}@${version}`,
          digest: blob.digest,
          data: { ...data },
        },
        now,
      ),
    );
  }

  /** Every version ever uploaded (deleted ones too), highest first. */
  private async allVersions(o: ManagedObjectRecord): Promise<ManagedObjectRecord[]> {
    const rows = await this.deps.storage.managed.list({ kind: 'skill_version', accountIds: [o.accountId], parentId: o.id, archived: 'include', limit: MAX_VERSIONS + 1 });
    const number = (r: ManagedObjectRecord) => (r.data as unknown as VersionData).version;
    return rows.sort((a, b) => semver.rcompare(number(a), number(b)));
  }

  private async liveVersions(o: ManagedObjectRecord): Promise<ManagedObjectRecord[]> {
    return (await this.allVersions(o)).filter((v) => !v.archivedAt);
  }

  /** The next patch after the highest version ever uploaded (deleted ones are never reused), or 1.0.0. */
  private nextVersion(all: ManagedObjectRecord[]): string {
    const highest = all[0] && (all[0].data as unknown as VersionData).version;
    return highest ? (semver.inc(highest, 'patch') ?? '1.0.0') : '1.0.0';
  }

  /** `latest` (the highest live version) or an exact version. */
  private async resolve(o: ManagedObjectRecord, version: string): Promise<ManagedObjectRecord> {
    if (version === 'latest') {
      const [top] = await this.liveVersions(o);
      if (!top) throw notFound(`Skill ${o.id} has no versions`);
      return top;
    }
    const v = await this.deps.storage.managed.findByName('skill_version', o.accountId, `${o.id}@${version}`);
    if (!v || v.kind !== 'skill_version' || v.parentId !== o.id || v.archivedAt) throw notFound(`Skill ${o.id} has no version ${version}`);
    return v;
  }

  /** A built-in skill (every account reads it), else one the caller may read: private to its account (the one read rule). */
  private async readable(ctx: RequestContext, id: string): Promise<ManagedObjectRecord> {
    reader(this.deps, ctx);
    const o = await this.deps.storage.managed.find(id);
    if (o?.kind === 'skill' && o.parentId === BUILTIN) return o;
    return readableObject(this.deps, ctx, 'skill', id);
  }

  private async owned(id: string, accountId: number): Promise<ManagedObjectRecord> {
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'skill' || o.accountId !== accountId) throw notFound(`Skill ${id} not found`);
    return o;
  }

  private async view(o: ManagedObjectRecord, latest?: ManagedObjectRecord): Promise<SkillView> {
    const d = o.data as { display_title: string; description: string; scope: string; name: string; source: 'custom' | 'anthropic' };
    const top = latest ?? (await this.liveVersions(o))[0];
    const latestVersion = top ? (top.data as unknown as VersionData).version : null;
    return { id: o.id, displayTitle: d.display_title, description: d.description, name: d.name, source: d.source, latestVersion, createdAt: o.createdAt, updatedAt: o.updatedAt };
  }

  private versionView(o: ManagedObjectRecord, v: ManagedObjectRecord): SkillVersionView {
    const d = v.data as unknown as VersionData;
    return { skillId: o.id, version: d.version, name: d.name, description: d.description || String(o.data.description), createdAt: v.createdAt };
  }
}
