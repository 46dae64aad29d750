import { badRequest } from '../errors.js';
import { SKILL_FILE, checkSkillMd, validateSkillFolder, type SkillValidation } from '../packages/manifest/skill-md.js';
import type { PackageService } from '../packages/package-service.js';
import type { TarballLimits } from '../packages/tarball.js';
import type { BlobStore } from '../storage.js';
import { readSkillArchive } from './skill-archive.js';
import { readSkillFolder, resolveSkillPath } from './skill-folder.js';
import { parseSkillRef } from './skill-ref.js';

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

/**
 * Agent Skills beyond publishing: validating a skill given as an archive, a server-side folder
 * (only under the configured skills root) or a reference to a stored skill, and reading the
 * content of a stored skill.
 */
export class SkillService {
  constructor(
    private readonly packages: PackageService,
    private readonly blobs: BlobStore,
    private readonly limits: TarballLimits,
    /** The only server-side folder `validatePath` may read from; undefined disables paths. */
    private readonly skillsRoot: string | undefined,
  ) {}

  /** Validates a skill sent as a gzip tarball (SKILL.md at its root or in one top-level folder). */
  async validateArchive(gz: Buffer, folderName?: string): Promise<SkillValidation> {
    return validateSkillFolder(await readSkillArchive(gz, this.limits, folderName));
  }

  /** Validates a skill folder on the server, which must lie under the skills root. */
  async validatePath(path: string): Promise<SkillValidation> {
    const dir = await resolveSkillPath(this.skillsRoot, path);
    return validateSkillFolder(await readSkillFolder(dir, { maxFiles: this.limits.maxFiles, maxTextFileBytes: this.limits.maxTextFileBytes }));
  }

  /** Validates a stored skill (`@scope/name[@version]`) as published: its folder name is the package name. */
  async validateRef(ref: string): Promise<SkillValidation> {
    const { gz, folderName } = await this.load(ref);
    return validateSkillFolder(await readSkillArchive(gz, this.limits, folderName));
  }

  /** SKILL.md's fields and body and the file listing of a stored skill. */
  async content(ref: string): Promise<SkillContent> {
    const { gz, folderName, version } = await this.load(ref);
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

  private async load(ref: string): Promise<{ gz: Buffer; folderName: string; version: string }> {
    const r = parseSkillRef(ref);
    const pkg = await this.packages.find(r.scope, r.name, 'skill');
    const v = await this.packages.resolve(pkg, r.version ?? 'latest');
    return { gz: await this.blobs.read(v.digest), folderName: pkg.name, version: v.version };
  }
}
