import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import { AGENTRY_PACKAGE_LAYER, ANNOTATION_VERSION, artifactTypeOf } from '../oci/media-types.js';
import { isOciError } from '../oci/oci-errors.js';
import type { OciService } from '../oci/oci-service.js';
import { SKILL_FILE, checkSkillMd, validateSkillFolder, type SkillValidation } from '../packages/manifest/skill-md.js';
import type { PackageService } from '../packages/package-service.js';
import type { TarballLimits } from '../packages/tarball.js';
import type { BlobAccess } from '../blobs/blob-access.js';
import { readSkillArchive, readSkillFiles, type SkillFile } from './skill-archive.js';
import { skillPathsDisabled, type SkillFolderSource } from './skill-folder-source.js';
import { parseSkillRef, type OciSkillRef } from './skill-ref.js';

/** Who asks, and the `host[:port]` names under which this server's own OCI registry (`/v2/`) is reached. */
export interface SkillRefContext {
  ctx: RequestContext;
  selfHosts: readonly string[];
}

/** What a skill holds, read from its stored package without installing it. */
export interface SkillContent {
  name: string;
  description: string;
  version: string;
  license: string | null;
  /** The Markdown instructions after SKILL.md's front matter. */
  body: string;
  /** Every regular file in the skill, relative to its root, with its size in bytes, by path. */
  files: Array<{ path: string; size: number }>;
}

/** A stored skill ready to be written into a client's skills folder: checked, with its files. */
export interface InstallableSkill {
  /** SKILL.md's name: the folder it is installed as. */
  name: string;
  description: string;
  version: string;
  author: string;
  tags: string[];
  /** How Agentry names it: `@scope/name@version`, or the OCI reference given. */
  reference: string;
  /** The digest of the stored archive (sha256:…), for telling versions apart. */
  digest: string;
  files: SkillFile[];
}

/**
 * Agent Skills beyond publishing: validating a skill given as an archive, a server-side folder
 * (only under the configured skills root) or a reference to a stored skill, and reading the
 * content of a stored skill.
 */
export class SkillService {
  constructor(
    private readonly packages: PackageService,
    /** Stored skills' bytes, through what owns them (the caller must be able to read the package or repository). */
    private readonly blobs: BlobAccess,
    private readonly limits: TarballLimits,
    /** The server-side folders `validatePath` may read (under the skills root); undefined disables paths. */
    private readonly folders: SkillFolderSource | undefined,
    private readonly oci: OciService,
  ) {}

  /** Validates a skill sent as a gzip tarball (SKILL.md at its root or in one top-level folder). */
  async validateArchive(gz: Buffer, folderName?: string): Promise<SkillValidation> {
    return validateSkillFolder(await readSkillArchive(gz, this.limits, folderName));
  }

  /** Validates a skill folder on the server, which must lie under the skills root. */
  async validatePath(path: string): Promise<SkillValidation> {
    if (!this.folders) throw skillPathsDisabled();
    return validateSkillFolder(await this.folders.read(path, { maxFiles: this.limits.maxFiles, maxTextFileBytes: this.limits.maxTextFileBytes }));
  }

  /** Validates a stored skill (`@scope/name[@version]`) as published: its folder name is the package name. */
  async validateRef(ref: string, by: SkillRefContext): Promise<SkillValidation> {
    const { gz, folderName } = await this.load(ref, by);
    return validateSkillFolder(await readSkillArchive(gz, this.limits, folderName));
  }

  /** SKILL.md's fields and body and the file listing of a stored skill. */
  async content(ref: string, by: SkillRefContext): Promise<SkillContent> {
    const { gz, folderName, version } = await this.load(ref, by);
    const input = await readSkillArchive(gz, this.limits, folderName);
    const md = checkSkillMd(input.skillMd ?? '');
    if (!md.document) throw badRequest(`The stored skill's ${SKILL_FILE} cannot be read`, md.errors);
    return {
      name: md.document.name,
      description: md.document.description,
      version,
      license: md.document.license,
      body: md.document.body,
      files: input.entries
        .filter((e) => e.type === 'file')
        .map((e) => ({ path: e.path, size: e.size }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    };
  }

  /** The SKILL.md of a stored skill the caller may read (404 otherwise), as it was published, and the version it is of. */
  async skillMd(ref: string, by: SkillRefContext): Promise<{ version: string; reference: string; text: string }> {
    const { gz, folderName, version, reference } = await this.load(ref, by);
    const input = await readSkillArchive(gz, this.limits, folderName);
    if (input.skillMd === undefined) throw notFound(`The stored skill ${reference} has no ${SKILL_FILE}`);
    return { version, reference, text: input.skillMd };
  }

  /**
   * A stored skill the caller may read (404 otherwise), checked by the same SKILL.md rules as
   * validate (an invalid one is refused), with its files, for installing into clients' skills folders.
   */
  async installable(ref: string, by: SkillRefContext): Promise<InstallableSkill> {
    const { gz, folderName, version, digest, reference } = await this.load(ref, by);
    const check = validateSkillFolder(await readSkillArchive(gz, this.limits, folderName));
    if (!check.valid || !check.document) throw badRequest(`The skill ${reference} is not valid, so it is not installed`, check.errors);
    const doc = check.document;
    const tags = (doc.metadata.tags ?? '').split(/[\s,]+/).filter((t) => t !== '');
    return {
      name: doc.name,
      description: doc.description,
      version: doc.version ?? version,
      author: doc.metadata.author ?? '',
      tags,
      reference,
      digest,
      files: await readSkillFiles(gz, this.limits),
    };
  }

  private async load(ref: string, by: SkillRefContext): Promise<{ gz: Buffer; folderName: string; version: string; digest: string; reference: string }> {
    const r = parseSkillRef(ref);
    if (r.kind === 'oci') return this.loadOci(r, by);
    const pkg = await this.packages.find(by.ctx, r.scope, r.name, 'skill');
    const v = await this.packages.resolve(pkg, r.version ?? 'latest');
    return { gz: await this.blobs.read(by.ctx, v.digest), folderName: pkg.name, version: v.version, digest: v.digest, reference: `@${pkg.scope}/${pkg.name}@${v.version}` };
  }

  /**
   * A skill by OCI reference to this server's own registry: its manifest (a published package seen
   * as an artifact, or one pushed over OCI with an Agentry package layer), then that layer.
   */
  private async loadOci(r: OciSkillRef, by: SkillRefContext): Promise<{ gz: Buffer; folderName: string; version: string; digest: string; reference: string }> {
    const self = by.selfHosts.map((h) => h.toLowerCase());
    if (!self.includes(r.host)) {
      throw badRequest(`'${r.host}' is another registry; this server reads only the skills it holds: use @scope/name[@version] or ${self[0] ?? '<this server>'}/<scope>/<name>:<version>`);
    }
    if (r.repository.length !== 2) throw badRequest(`OCI repositories here are <scope>/<name>, not '${r.repository.join('/')}'`);
    const repo = this.oci.repository(r.repository.join('/'));
    const manifest = await this.oci.manifest(by.ctx, repo, r.reference).catch((e: unknown) => {
      // The OCI door answers an anonymous caller's unreadable (or missing) repository with a login challenge; here it is simply not there.
      if (isOciError(e) && e.oci === 'UNAUTHORIZED' && !by.ctx.principal) throw notFound(`Skill not found: ${repo.name}:${r.reference}`);
      throw e;
    });
    let layers: Array<{ mediaType?: unknown; digest?: unknown }> = [];
    let annotations: Record<string, unknown> = {};
    let artifactType: unknown;
    try {
      const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { layers?: unknown; annotations?: unknown; artifactType?: unknown };
      artifactType = parsed.artifactType;
      if (Array.isArray(parsed.layers)) layers = parsed.layers as typeof layers;
      if (parsed.annotations && typeof parsed.annotations === 'object') annotations = parsed.annotations as Record<string, unknown>;
    } catch {
      throw badRequest(`${repo.name}:${r.reference} is not an OCI image or artifact manifest`);
    }
    if (typeof artifactType === 'string' && artifactType.startsWith('application/vnd.agentry.') && artifactType !== artifactTypeOf('skill')) {
      throw notFound(`Skill not found: ${repo.name}:${r.reference} is an artifact of type ${artifactType}, not a skill`);
    }
    const layer = layers.find((l) => l.mediaType === AGENTRY_PACKAGE_LAYER);
    if (!layer || typeof layer.digest !== 'string') {
      throw badRequest(`${repo.name}:${r.reference} holds no Agentry package layer (${AGENTRY_PACKAGE_LAYER}), so it is not a skill`);
    }
    const version = typeof annotations[ANNOTATION_VERSION] === 'string' ? (annotations[ANNOTATION_VERSION] as string) : r.reference;
    const gz = await this.blobs.read(by.ctx, layer.digest, () => notFound(`Skill not found: ${repo.name}:${r.reference} has no readable package layer`));
    return { gz, folderName: r.repository[1], version, digest: layer.digest, reference: `${r.host}/${repo.name}:${r.reference}` };
  }
}
