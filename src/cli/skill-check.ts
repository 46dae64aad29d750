import { lstat, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { SKILL_FILE, validateSkillFolder, type SkillEntry, type SkillValidation } from '../core/packages/manifest/skill-md.js';
import { CliError } from './cli-error.js';
import { collectFiles } from './pack.js';

/**
 * Validates a local skill folder with the registry's own Agent Skills rules (the pure validator
 * the server runs on publish), over exactly the files `agentry publish` would pack.
 */
export const checkSkillFolder = async (folder: string): Promise<SkillValidation & { path: string }> => {
  const root = resolve(folder);
  try {
    if (!(await lstat(root)).isDirectory()) throw new CliError(`${folder} is not a folder; a skill is a folder with ${SKILL_FILE} at its root`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`no such folder: ${folder}`);
  }
  const problems: string[] = [];
  let files: string[] = [];
  try {
    files = await collectFiles(root);
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    problems.push(e.message);
  }
  const entries: SkillEntry[] = [];
  const folders = new Set<string>();
  for (const path of files) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
    const info = await lstat(join(root, path));
    entries.push({ path, type: info.isSymbolicLink() ? 'symlink' : 'file', size: info.size });
  }
  for (const path of folders) entries.push({ path, type: 'directory', size: 0 });
  const md = entries.find((e) => e.path === SKILL_FILE);
  if (md?.type === 'symlink') problems.push(`${SKILL_FILE}: must be a regular file, not a symlink`);
  const skillMd = md?.type === 'file' ? await readFile(join(root, SKILL_FILE), 'utf8') : undefined;
  return { ...validateSkillFolder({ folderName: basename(root), skillMd, entries, problems }), path: root };
};
