import { lstat, readdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { CliError } from '../cli-error.js';

/** A file to push as a layer, and the name it is stored under (`org.opencontainers.image.title`). */
export interface LocalFile {
  path: string;
  title: string;
  size: number;
}

const walk = async (dir: string): Promise<string[]> => {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
    else throw new CliError(`refusing to push ${path}: only regular files and folders are pushed (no symlinks, devices or sockets)`);
  }
  return out;
};

/**
 * The files named on the command line: a file is stored under its base name, a folder's files under
 * their path inside it (`docs/guide.md`), in a stable order. Two files with one name are an error.
 */
export const collectFiles = async (paths: readonly string[]): Promise<LocalFile[]> => {
  const files: LocalFile[] = [];
  for (const raw of paths) {
    const path = resolve(raw);
    let st;
    try {
      st = await lstat(path);
    } catch {
      throw new CliError(`cannot push ${raw}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const inside = await walk(path);
      if (inside.length === 0) throw new CliError(`cannot push ${raw}: the folder is empty`);
      for (const f of inside) files.push({ path: f, title: relative(path, f).split(sep).join('/'), size: (await lstat(f)).size });
    } else if (st.isFile()) {
      files.push({ path, title: basename(path), size: st.size });
    } else {
      throw new CliError(`refusing to push ${raw}: only regular files and folders are pushed`);
    }
  }
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.title);
    if (other) throw new CliError(`two files would be stored as '${f.title}': ${other} and ${f.path}`);
    seen.set(f.title, f.path);
  }
  return files;
};
