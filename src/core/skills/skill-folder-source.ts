import { forbidden, type AgentryError } from '../errors.js';
import type { SkillFolderInput } from '../packages/manifest/skill-md.js';

export interface SkillFolderLimits {
  maxFiles: number;
  /** Largest SKILL.md read into memory. */
  maxTextFileBytes: number;
}

/**
 * The server-side folders a skill may be validated from by path (ToolHive's `skills/validate` with a
 * `path`): only under the configured skills root (AGENTRY_SKILLS_ROOT). Reading them is disk I/O, so
 * an adapter does it (`adapters/skill-folders/skill-folder-reader.ts`); the skill rules stay here.
 */
export interface SkillFolderSource {
  /**
   * The folder at `path` (relative to the root, or absolute inside it) as the skill rules read it,
   * links listed and never followed. Refuses a path outside the root or led out of it by a link
   * (403), a missing one (404), a file or an empty path (400).
   */
  read(path: string, limits: SkillFolderLimits): Promise<SkillFolderInput>;
}

/** The refusal of a path when the server has no skills root. */
export const skillPathsDisabled = (): AgentryError =>
  forbidden('Validating a server-side path is disabled: the server has no skills root (set AGENTRY_SKILLS_ROOT), so send the skill as an archive or a package reference instead');
