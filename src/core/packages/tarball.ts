import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { ReadEntry } from 'tar';
import { hasSpecialModeBits, repackWithoutSpecialBits, walkTarGz } from '../archives/bounded-gunzip.js';
import { badRequest, payloadTooLarge } from '../errors.js';

export interface TarballLimits {
  /** Largest expanded (un-gzipped) size, in bytes. */
  maxUnpackedBytes: number;
  maxFiles: number;
  /** Largest file read into memory from the archive (manifests and README). */
  maxTextFileBytes: number;
}

export interface TarballContents {
  /** Root-level text files that were asked for, by exact path (`agent.yaml`, `README.md`, …). */
  texts: Map<string, string>;
  /** Every regular file path, normalized (no `./`). */
  files: string[];
  fileCount: number;
  unpackedSize: number;
  /** Every entry (files, folders, links), normalized, with its kind and size, in archive order. */
  entries: TarballEntry[];
  /** sha256 (hex) of every regular file by normalized path, when asked for (`hashFiles`). */
  digests: Map<string, string>;
  /**
   * The bytes to store: the tarball as given, or (with `forStorage`), when an entry had a setuid,
   * setgid or sticky bit, the same archive re-packed with those bits cleared (`strippedModes` names those entries).
   */
  tarball: Buffer;
  strippedModes: string[];
}

export interface TarballEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  size: number;
}

/** Hands the first bytes of every regular file to a reader (the secret scanner), as much as it `wants()` of each. */
export interface FileHeads {
  wants(): number;
  file(path: string, head: Buffer): void;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Reads a gzip tarball, streaming (archives/bounded-gunzip: never inflated whole in memory, stopped
 * at the unpacked-size limit), and checks it is safe to extract anywhere: no absolute paths, no
 * `..`, no links leaving the package, no device files, no tar bomb. Returns the text of the root
 * files in `wanted`, and the bytes to store (setuid/setgid/sticky bits cleared). Throws 400 (bad
 * archive) or 413 (too big).
 */
export const inspectTarball = async (
  gz: Buffer,
  wanted: ReadonlySet<string>,
  limits: TarballLimits,
  opts: { hashFiles?: boolean; forStorage?: boolean; fileHeads?: FileHeads } = {},
): Promise<TarballContents> => {
  const problems: string[] = [];
  const texts = new Map<string, string>();
  const files: string[] = [];
  const listed: TarballEntry[] = [];
  const digests = new Map<string, string>();
  let fileCount = 0;
  let unpackedSize = 0;
  let sawEntry = false;

  const links: Array<{ raw: string; path: string; target: string; symbolic: boolean }> = [];
  const symlinks = new Map<string, string>();
  const entryPaths: string[] = [];
  const strippedModes: string[] = [];

  const onEntry = (entry: ReadEntry, stop: (e: Error) => void): void => {
    sawEntry = true;
    if (hasSpecialModeBits(entry)) strippedModes.push(normalizeEntryPath(entry.path));
    const path = normalizeEntryPath(entry.path);
    entryPaths.push(path);
    const problem = pathProblem(entry.path, path);
    if (problem) problems.push(problem);
    else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      const target = entry.linkpath ?? '';
      links.push({ raw: entry.path, path, target, symbolic: entry.type === 'SymbolicLink' });
      if (entry.type === 'SymbolicLink') symlinks.set(path.toLowerCase(), target);
      listed.push({ path, type: entry.type === 'SymbolicLink' ? 'symlink' : 'link', size: 0 });
    } else if (FILE_TYPES.has(entry.type)) {
      fileCount += 1;
      unpackedSize += entry.size ?? 0;
      // The headers already say it is too big: stop before inflating the rest.
      if (unpackedSize > limits.maxUnpackedBytes) stop(payloadTooLarge(`The tarball expands beyond the limit of ${limits.maxUnpackedBytes} bytes`));
      files.push(path);
      listed.push({ path, type: 'file', size: entry.size ?? 0 });
    } else if (entry.type === 'Directory') {
      if (path !== '' && path !== '.') listed.push({ path, type: 'directory', size: 0 });
    } else {
      problems.push(`tarball: entry '${entry.path}' has unsupported type ${entry.type}`);
    }
    // Directories and links are entries an extractor must create too: they count against the limit.
    if (entryPaths.length === limits.maxFiles + 1) problems.push(`tarball: more than ${limits.maxFiles} files`);
    if (wanted.has(path) && FILE_TYPES.has(entry.type) && (entry.size ?? 0) > limits.maxTextFileBytes) {
      problems.push(`tarball: '${path}' is ${entry.size} bytes; a manifest or README may be at most ${limits.maxTextFileBytes} bytes`);
    }
    const hash = opts.hashFiles && FILE_TYPES.has(entry.type) && !problem ? createHash('sha256') : undefined;
    if (hash) {
      entry.on('data', (c: Buffer) => hash.update(c));
      entry.on('end', () => digests.set(path, hash.digest('hex')));
    }
    const headBytes = opts.fileHeads && FILE_TYPES.has(entry.type) && !problem ? Math.min(opts.fileHeads.wants(), entry.size ?? 0) : 0;
    if (headBytes > 0) {
      const heads = opts.fileHeads!;
      const chunks: Buffer[] = [];
      let kept = 0;
      entry.on('data', (c: Buffer) => {
        if (kept >= headBytes) return;
        chunks.push(c.subarray(0, headBytes - kept));
        kept += Math.min(c.length, headBytes - kept);
      });
      entry.on('end', () => heads.file(path, Buffer.concat(chunks)));
    }
    if (wanted.has(path) && FILE_TYPES.has(entry.type) && (entry.size ?? 0) <= limits.maxTextFileBytes) {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => texts.set(path, Buffer.concat(chunks).toString('utf8')));
    } else if (!hash && headBytes === 0) {
      entry.resume();
    }
  };

  await walkTarGz(gz, limits.maxUnpackedBytes, {
    onEntry,
    onWarn: (message) => problems.push(`tarball: ${message}`),
    // Entries tar does not understand (sparse files, unknown types, oversized pax headers) are
    // skipped by this parser but not by every extractor: refuse them rather than let them through unchecked.
    onIgnored: (entry) => {
      sawEntry = true;
      problems.push(entry.meta ? `tarball: a metadata entry (${entry.type}) of ${entry.size} bytes is too large` : `tarball: entry '${entry.path}' has unsupported type ${entry.type}`);
    },
  });

  // Extractors refuse (or, worse, follow) a path through a symlink; with none, every path is canonical.
  for (const path of entryPaths) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (symlinks.has(parent.toLowerCase())) {
        problems.push(`tarball: entry '${path}' lies under the symlink '${parent}'`);
        break;
      }
    }
  }
  for (const link of links) {
    const from = link.symbolic ? posix.dirname(link.path) : '.';
    const where = linkDestination(from, link.target, symlinks);
    if (where === 'outside') problems.push(`tarball: link '${link.raw}' points outside the package (${link.target})`);
    else if (where === 'loop') problems.push(`tarball: link '${link.raw}' is part of a loop of links`);
  }
  if (!sawEntry && problems.length === 0) problems.push('tarball: the archive holds no entries');
  const unique = [...new Set(problems)];
  if (unique.some((p) => p.includes(`more than ${limits.maxFiles} files`))) {
    throw payloadTooLarge(`The tarball holds more than ${limits.maxFiles} files`);
  }
  if (unique.length > 0) throw badRequest('The tarball is not a valid package', unique.slice(0, 20));
  const tarball = opts.forStorage && strippedModes.length > 0 ? await repackWithoutSpecialBits(gz, limits.maxUnpackedBytes) : gz;
  return { texts, files, fileCount, unpackedSize, entries: listed, digests, tarball, strippedModes };
};

export const normalizeEntryPath = (raw: string): string => {
  let p = raw.replace(/\\/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  return p.replace(/\/+$/, '');
};

const pathProblem = (raw: string, path: string): string | undefined => {
  if (raw.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(raw)) return `tarball: absolute path '${raw}' is not allowed`;
  if (path.split('/').includes('..')) return `tarball: path '${raw}' escapes the package with '..'`;
  if (raw.includes('\0')) return 'tarball: a path holds a NUL byte';
  return undefined;
};

const isAbsoluteTarget = (target: string): boolean => /^[\\/]/.test(target) || /^[a-zA-Z]:/.test(target);

/**
 * Where a link lands once extracted: its directory `fromDir` (the root for a hard link) and then
 * its target are walked component by component from the package root, following the archive's own symlinks the way a filesystem would,
 * so `up -> .` plus `esc -> up/..` is seen to leave the package even though `up/..` looks harmless.
 * Backslashes count as separators (they are on Windows); names are compared case-insensitively.
 */
const linkDestination = (fromDir: string, target: string, symlinks: ReadonlyMap<string, string>): 'inside' | 'outside' | 'loop' => {
  if (isAbsoluteTarget(target)) return 'outside';
  const split = (t: string): string[] => t.split(/[\\/]/);
  // The link's own directory is walked too: it may itself pass through one of the archive's symlinks.
  const stack: string[] = [];
  const queue = [...(fromDir === '.' ? [] : fromDir.split('/')), ...split(target)];
  let hops = 0;
  let steps = 0;
  while (queue.length > 0) {
    if (++steps > 10_000) return 'loop';
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return 'outside';
      stack.pop();
      continue;
    }
    stack.push(part);
    const next = symlinks.get(stack.join('/').toLowerCase());
    if (next === undefined) continue;
    if (++hops > 40) return 'loop';
    if (isAbsoluteTarget(next)) return 'outside';
    stack.pop();
    queue.unshift(...split(next));
  }
  return 'inside';
};
