import { constants } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { badRequest, forbidden, notFound } from '../../core/errors.js';
import { SKILL_FILE, type SkillEntry, type SkillFolderInput } from '../../core/packages/manifest/skill-md.js';
import { skillPathsDisabled, type SkillFolderLimits, type SkillFolderSource } from '../../core/skills/skill-folder-source.js';

/** Whether `child` is `parent` or lies inside it (both absolute and resolved). */
const isInside = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
};

/**
 * Resolves a server-side path a client asked to validate: only inside the configured `root`
 * (AGENTRY_SKILLS_ROOT), never anywhere else on the host. A relative path is taken from the root;
 * `..`, absolute paths outside the root and symlinks that lead out of it are all refused.
 */
export const resolveSkillPath = async (root: string | undefined, requested: string): Promise<string> => {
  if (root === undefined) throw skillPathsDisabled();
  if (requested.trim() === '' || requested.includes('\0')) throw badRequest('path must be a non-empty path without NUL bytes');
  const realRoot = await realpath(root).catch(() => {
    throw notFound('The configured skills root does not exist on the server');
  });
  const wanted = resolve(realRoot, requested);
  if (!isInside(realRoot, wanted)) throw forbidden(`path '${requested}' is outside the server's skills root`);
  let real: string;
  try {
    real = await realpath(wanted);
  } catch {
    throw notFound(`No skill folder at '${requested}' under the skills root`);
  }
  if (!isInside(realRoot, real)) throw forbidden(`path '${requested}' leads outside the server's skills root through a symbolic link`);
  if (!(await lstat(real)).isDirectory()) throw badRequest(`path '${requested}' is not a folder; a skill is a folder with ${SKILL_FILE} at its root`);
  return real;
};

/**
 * Reads a skill folder without following any symbolic link: links are listed (and reported when
 * they point outside the folder), never read through. SKILL.md must be a regular file.
 */
export const readSkillFolder = async (dir: string, limits: SkillFolderLimits): Promise<SkillFolderInput> => {
  const entries: SkillEntry[] = [];
  const problems: string[] = [];
  const walk = async (abs: string): Promise<void> => {
    for (const dirent of await readdir(abs, { withFileTypes: true })) {
      const path = join(abs, dirent.name);
      const rel = relative(dir, path).split(sep).join('/');
      if (entries.length >= limits.maxFiles) {
        problems.push(`more than ${limits.maxFiles} files in the skill folder`);
        return;
      }
      const info = await lstat(path);
      if (info.isSymbolicLink()) {
        entries.push({ path: rel, type: 'symlink', size: 0 });
        const target = await realpath(path).catch(() => undefined);
        if (target === undefined) problems.push(`${rel}: symbolic link to nothing`);
        else if (!isInside(dir, target)) problems.push(`${rel}: symbolic link points outside the skill folder`);
      } else if (info.isDirectory()) {
        entries.push({ path: rel, type: 'directory', size: 0 });
        await walk(path);
      } else if (info.isFile()) {
        entries.push({ path: rel, type: 'file', size: info.size });
      } else {
        entries.push({ path: rel, type: 'other', size: 0 });
        problems.push(`${rel}: only files, folders and symbolic links belong in a skill`);
      }
    }
  };
  await walk(dir);
  const md = entries.find((e) => e.path === SKILL_FILE);
  let skillMd: string | undefined;
  if (md?.type === 'file') {
    if (md.size > limits.maxTextFileBytes) problems.push(`${SKILL_FILE}: is ${md.size} bytes; at most ${limits.maxTextFileBytes} are read`);
    else skillMd = await readRegularFile(join(dir, SKILL_FILE));
  } else if (md) {
    problems.push(`${SKILL_FILE}: must be a regular file, not a ${md.type}`);
  }
  return { folderName: basename(dir), skillMd, entries, problems };
};

/** Reads a file that must still be a regular file when opened (no link swapped in meanwhile). */
const readRegularFile = async (path: string): Promise<string> => {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
};

/** The skill folders under one root on this server's disk (AGENTRY_SKILLS_ROOT): the core's `SkillFolderSource`. */
export class SkillFolderReader implements SkillFolderSource {
  constructor(private readonly root: string | undefined) {}

  async read(path: string, limits: SkillFolderLimits): Promise<SkillFolderInput> {
    return readSkillFolder(await resolveSkillPath(this.root, path), limits);
  }
}
