import type { Readable } from 'node:stream';
import semver from 'semver';
import type { RequestContext } from '../../auth/principal.js';
import { badRequest, conflict, forbidden, notFound } from '../../errors.js';
import { sortVersionStringsDesc } from '../../packages/version-scheme.js';
import type { PackageRecord, VersionRecord } from '../../storage.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { reader, writer, type ManagedDeps } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { cutPage, decodePageToken, pageOfArray, type Paged, type PageRequest } from '../page-token.js';
import { fileInTarball, skillBundle, skillTarball, type UploadedFile } from './skill-bundle.js';

/** Managed skills live in the built-in owners' shared space under this marker. */
const BUILTIN = 'builtin';
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface SkillView {
  id: string;
  displayTitle: string;
  description: string;
  /** The skill package behind it: `scope/name`. */
  scope: string;
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

/**
 * Managed skills (002's and the SDK's) are skill packages of the core: an upload is validated by
 * the Agent Skills rules, published as `@<account>/<name>` with a semver version (SKILL.md's
 * `metadata.version`, else the next patch), and so is visible in the skills registry too.
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
    const version = await this.publish(ctx, scope, name, bundle.files, bundle.document.version);
    const now = isoNow(this.deps.clock);
    return this.deps.storage.transaction(async (tx) => {
      const o = await tx.managed.insert({
        id: input.id ?? newManagedId('skill'),
        kind: 'skill',
        accountId: p.account.id,
        parentId: input.builtIn ? BUILTIN : null,
        refId: null,
        name: `${scope}/${name}`,
        digest: null,
        version: 0,
        data: {
          display_title: input.displayTitle?.trim() || name,
          description: input.description?.trim() || bundle.document.description,
          scope,
          name,
          source: input.builtIn ? 'anthropic' : 'custom',
        },
        archivedAt: null,
        expiresAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await this.deps.audit.record(tx.audit, ctx, 'managed.skill.create', o.id, { package: `@${scope}/${name}`, version, built_in: input.builtIn ?? false });
      return this.view(o, version.version);
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
    const v = await this.publish(ctx, data.scope, data.name, bundle.files, bundle.document.version);
    await this.deps.storage.managed.update(o.id, { updatedAt: isoNow(this.deps.clock) });
    return this.versionView(o, v);
  }

  /** Versions, highest first. */
  async versions(ctx: RequestContext, id: string, req: PageRequest & { limit: number }): Promise<Paged<SkillVersionView>> {
    const o = await this.readable(ctx, id);
    const { versions } = await this.deps.packages.versions(ctx, String(o.data.scope), String(o.data.name), 'skill');
    const page = pageOfArray(versions, req);
    return { rows: page.rows.map((v) => this.versionView(o, v)), nextPage: page.nextPage };
  }

  async version(ctx: RequestContext, id: string, version: string): Promise<SkillVersionView> {
    const o = await this.readable(ctx, id);
    return this.versionView(o, await this.resolve(o, version));
  }

  /** The version's package tarball (gzip), SKILL.md at its root. */
  async download(ctx: RequestContext, id: string, version: string): Promise<{ version: SkillVersionView; body: Readable; size: number }> {
    const o = await this.readable(ctx, id);
    const v = await this.resolve(o, version);
    return { version: this.versionView(o, v), body: await this.deps.blobs.open(v.digest), size: v.size };
  }

  /** One file of the skill's latest version (or `version`). */
  async file(ctx: RequestContext, id: string, path: string, version = 'latest'): Promise<{ path: string; data: Buffer }> {
    const o = await this.readable(ctx, id);
    const v = await this.resolve(o, version);
    return { path, data: await fileInTarball(await this.deps.blobs.read(v.digest), path, this.maxUnpackedBytes) };
  }

  async deleteVersion(ctx: RequestContext, id: string, version: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await this.owned(id, p.account.id);
    if (o.parentId === BUILTIN) throw forbidden(`Skill ${id} is built in; its versions cannot be deleted`);
    const v = await this.resolve(o, version);
    await this.deps.packages.unpublish(ctx, String(o.data.scope), String(o.data.name), v.version, 'skill');
  }

  /** Deletes a skill and unpublishes its versions; built-in skills cannot be deleted. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await this.readable(ctx, id);
    if (o.parentId === BUILTIN) throw forbidden(`Skill ${id} is built in and cannot be deleted`);
    if (o.accountId !== p.account.id) throw notFound(`Skill ${id} not found`);
    const scope = String(o.data.scope);
    const name = String(o.data.name);
    const { versions } = await this.deps.packages.versions(ctx, scope, name, 'skill').catch(() => ({ versions: [] as VersionRecord[] }));
    for (const v of versions) await this.deps.packages.unpublish(ctx, scope, name, v.version, 'skill');
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.skill.delete', o.id, { package: `@${scope}/${name}`, versions: versions.length });
    });
  }

  private async publish(ctx: RequestContext, scope: string, name: string, files: UploadedFile[], declared: string | null): Promise<VersionRecord> {
    const version = declared ?? (await this.nextVersion(scope, name));
    const tarball = await skillTarball(files);
    const { version: record } = await this.deps.packages.publish(ctx, { kind: 'skill', scope, name, tarball, version });
    return record;
  }

  /** The next patch after the highest version ever published (unpublished ones are never reused), or 1.0.0. */
  private async nextVersion(scope: string, name: string): Promise<string> {
    let pkg: PackageRecord;
    try {
      pkg = await this.deps.packages.findUnchecked(scope, name, 'skill');
    } catch {
      return '1.0.0';
    }
    const all = (await this.deps.storage.packages.listVersions(pkg.id, true)).map((v) => v.version);
    const highest = sortVersionStringsDesc('skill', all)[0];
    return highest ? (semver.inc(highest, 'patch') ?? '1.0.0') : '1.0.0';
  }

  private async resolve(o: ManagedObjectRecord, version: string): Promise<VersionRecord> {
    const pkg = await this.deps.packages.findUnchecked(String(o.data.scope), String(o.data.name), 'skill');
    try {
      return await this.deps.packages.resolve(pkg, version);
    } catch {
      throw notFound(`Skill ${o.id} has no version ${version}`);
    }
  }

  /** The caller's own skill or a built-in one. */
  private async readable(ctx: RequestContext, id: string): Promise<ManagedObjectRecord> {
    const p = reader(this.deps, ctx);
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'skill' || (o.accountId !== p.account.id && o.parentId !== BUILTIN)) throw notFound(`Skill ${id} not found`);
    return o;
  }

  private async owned(id: string, accountId: number): Promise<ManagedObjectRecord> {
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'skill' || o.accountId !== accountId) throw notFound(`Skill ${id} not found`);
    return o;
  }

  private async view(o: ManagedObjectRecord, latest?: string): Promise<SkillView> {
    const d = o.data as { display_title: string; description: string; scope: string; name: string; source: 'custom' | 'anthropic' };
    let latestVersion = latest ?? null;
    if (latest === undefined) {
      const pkg = await this.deps.packages.findUnchecked(d.scope, d.name, 'skill').catch(() => undefined);
      latestVersion = pkg?.latestVersion ?? null;
    }
    return { id: o.id, displayTitle: d.display_title, description: d.description, scope: d.scope, name: d.name, source: d.source, latestVersion, createdAt: o.createdAt, updatedAt: o.updatedAt };
  }

  private versionView(o: ManagedObjectRecord, v: VersionRecord): SkillVersionView {
    return {
      skillId: o.id,
      version: v.version,
      name: String(o.data.name),
      description: typeof v.manifest.description === 'string' ? v.manifest.description : String(o.data.description),
      createdAt: v.publishedAt,
    };
  }
}
