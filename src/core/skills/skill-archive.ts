import { SKILL_FILE, type SkillFolderInput } from '../packages/manifest/skill-md.js';
import { walkTarGz } from '../archives/bounded-gunzip.js';
import { badRequest } from '../errors.js';
import { inspectTarball, normalizeEntryPath, type TarballEntry, type TarballLimits } from '../packages/tarball.js';

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

/** One regular file of a skill, relative to its root, as an installer writes it. */
export interface SkillFile {
  path: string;
  bytes: Buffer;
  executable: boolean;
}

/**
 * The regular files of a skill archive already checked by {@link readSkillArchive} (the same
 * layouts: SKILL.md at the root, or inside one top-level folder, which is then stripped), with their
 * bytes. Links are refused: an installed skill is plain files, as ToolHive installs them.
 */
export const readSkillFiles = async (gz: Buffer, limits: TarballLimits): Promise<SkillFile[]> => {
  const files: SkillFile[] = [];
  const links: string[] = [];
  const tops = new Set<string>();
  await walkTarGz(gz, limits.maxUnpackedBytes, {
    onEntry: (entry) => {
      const path = normalizeEntryPath(entry.path);
      if (path !== '' && path !== '.') tops.add(path.split('/')[0]);
      if (entry.type === 'SymbolicLink' || entry.type === 'Link') links.push(path);
      if (!['File', 'OldFile', 'ContiguousFile'].includes(entry.type)) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => files.push({ path, bytes: Buffer.concat(chunks), executable: ((entry.mode ?? 0) & 0o111) !== 0 }));
    },
  });
  if (links.length > 0)
    throw badRequest(
      'The skill holds links, which are not installed',
      links.slice(0, 20).map((l) => `${l}: a link; install plain files only`),
    );
  const top = !files.some((f) => f.path === SKILL_FILE) && tops.size === 1 ? [...tops][0] : undefined;
  const out = top === undefined ? files : files.filter((f) => f.path.startsWith(`${top}/`)).map((f) => ({ ...f, path: f.path.slice(top.length + 1) }));
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
};
