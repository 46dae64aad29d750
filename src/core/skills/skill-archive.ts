import { SKILL_FILE, type SkillFolderInput } from '../packages/manifest/skill-md.js';
import { inspectTarball, type TarballEntry, type TarballLimits } from '../packages/tarball.js';

/**
 * Reads a skill from a gzip tarball, checked by the same safety rules as a package tarball
 * (no `..`, no absolute paths, no links out, no tar bomb). SKILL.md may be at the archive's
 * root (the package layout; the folder name is then `folderName`, if known) or inside one
 * top-level folder (`my-skill/SKILL.md`, the layout of a zipped-up skill folder), whose name
 * is the skill's folder name.
 */
export const readSkillArchive = async (gz: Buffer, limits: TarballLimits, folderName?: string): Promise<SkillFolderInput> => {
  const root = await inspectTarball(gz, new Set([SKILL_FILE]), limits);
  if (root.texts.has(SKILL_FILE) || root.entries.some((e) => e.path === SKILL_FILE)) {
    return { folderName, skillMd: root.texts.get(SKILL_FILE), entries: root.entries };
  }
  const tops = new Set(root.entries.map((e) => e.path.split('/')[0]));
  if (tops.size !== 1) return { folderName, skillMd: undefined, entries: root.entries };
  const [top] = [...tops];
  const inner = await inspectTarball(gz, new Set([`${top}/${SKILL_FILE}`]), limits);
  const entries = inner.entries.filter((e) => e.path.startsWith(`${top}/`)).map((e): TarballEntry => ({ ...e, path: e.path.slice(top.length + 1) }));
  return { folderName: top, skillMd: inner.texts.get(`${top}/${SKILL_FILE}`), entries };
};
