import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { CliError } from './cli-error.js';
import { parseIgnoreRules, type IgnoreRules } from './ignore-rules.js';
import { readLocalManifest, type LocalManifest } from './local-manifest.js';

/** Names never packed, at any depth. */
const ALWAYS_SKIPPED = new Set(['.git', 'node_modules']);
const IGNORE_FILE = '.agentryignore';
/** A fixed mtime for every entry, so the same files always pack to the same bytes (and sha256). */
const FIXED_MTIME = new Date('1985-10-26T08:15:00.000Z');

export interface PackedPackage {
  manifest: LocalManifest;
  /** The gzip tarball. */
  tarball: Buffer;
  sha256: string;
  size: number;
  /** Every path in the archive, relative, sorted. */
  files: string[];
  /** The README.md text, when the package has one at its root. */
  readme?: string;
}

/** `<name>-<version>.tgz`. */
export const tarballFileName = (m: Pick<LocalManifest, 'name' | 'version'>): string => `${m.name}-${m.version}.tgz`;

/** Reads the manifest of `folder`, then packs it into a gzip tarball with the manifest at the root. */
export const packFolder = async (folder: string): Promise<PackedPackage> => {
  const root = resolve(folder);
  const manifest = await readLocalManifest(root);
  const files = await collectFiles(root);
  if (!files.includes(manifest.file)) throw new CliError(`${manifest.file} is excluded by ${IGNORE_FILE}; the manifest must be packed`);
  const tarball = await tarFiles(root, files);
  const readme = files.includes('README.md') ? await readFile(join(root, 'README.md'), 'utf8') : undefined;
  return {
    manifest,
    tarball,
    sha256: createHash('sha256').update(tarball).digest('hex'),
    size: tarball.length,
    files,
    ...(readme !== undefined ? { readme } : {}),
  };
};

/**
 * The files of a package folder, relative with `/` separators and sorted: everything except
 * `.git`, `node_modules`, `*.tgz` and what `.agentryignore` names. Refuses a symlink whose target
 * is absolute or leaves the folder, and anything that is neither a file, a folder nor a symlink.
 */
export const collectFiles = async (folder: string): Promise<string[]> => {
  const root = resolve(folder);
  const rules = await readIgnoreRules(root);
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (ALWAYS_SKIPPED.has(entry.name)) continue;
      const info = await lstat(abs);
      if (info.isDirectory()) {
        if (!rules.ignores(rel, true)) await walk(abs);
        continue;
      }
      if (entry.name.endsWith('.tgz') || rules.ignores(rel, false)) continue;
      if (info.isSymbolicLink()) {
        await checkSymlink(root, abs, rel);
        out.push(rel);
      } else if (info.isFile()) {
        out.push(rel);
      } else {
        throw new CliError(`refusing to pack '${rel}': only files, folders and symlinks can be packed`);
      }
    }
  };
  await walk(root);
  return out.sort();
};

const readIgnoreRules = async (root: string): Promise<IgnoreRules> => {
  try {
    return parseIgnoreRules(await readFile(join(root, IGNORE_FILE), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return parseIgnoreRules('');
    throw e;
  }
};

const checkSymlink = async (root: string, abs: string, rel: string): Promise<void> => {
  const target = await readlink(abs);
  if (isAbsolute(target)) {
    throw new CliError(`refusing to pack symlink '${rel}' -> '${target}': it points outside the folder (use a relative link inside the package)`);
  }
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target.split(sep).join('/')));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new CliError(`refusing to pack symlink '${rel}' -> '${target}': it points outside the folder`);
  }
};

const tarFiles = async (root: string, files: string[]): Promise<Buffer> => {
  const { create } = await import('tar');
  const chunks: Buffer[] = [];
  const stream = create({ gzip: true, portable: true, cwd: root, mtime: FIXED_MTIME, follow: false, noDirRecurse: true }, files);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
};
