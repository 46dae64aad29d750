import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import type { ReadEntry } from 'tar';
import { SPECIAL_MODE_BITS, gunzipBounded, isGzip, walkTarGz } from '../core/archives/bounded-gunzip.js';
import { isAgentryError } from '../core/errors.js';
import { CliError } from './cli-error.js';

export interface ExtractLimits {
  /** Largest total size of the files, in bytes (a tar-bomb guard). */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxUnpackedBytes: 1024 * 1024 * 1024, maxEntries: 100_000 };

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** The most an archive within `limits` can inflate to: its files, plus headers (pax ones too) and padding. */
const inflatedLimit = (limits: ExtractLimits): number => limits.maxUnpackedBytes + 4 * 512 * (limits.maxEntries + 2) + 1024 * 1024;

/**
 * Every reason the gzip tarball is unsafe to extract: absolute paths, `..` segments, links whose
 * target is absolute or leaves the package, device files, FIFOs and other special entries,
 * too many entries or too many bytes. An empty list means it is safe.
 */
export const findUnsafeEntries = async (gz: Buffer, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<string[]> => {
  const problems: string[] = [];
  let entries = 0;
  let bytes = 0;
  const onEntry = (entry: ReadEntry): void => {
    entries += 1;
    const raw = entry.path;
    const path = raw
      .replace(/\\/g, '/')
      .replace(/^(\.\/)+/, '')
      .replace(/\/+$/, '');
    if (raw.startsWith('/') || raw.startsWith('\\') || /^[a-zA-Z]:[\\/]/.test(raw)) problems.push(`absolute path '${raw}'`);
    else if (path.split('/').includes('..')) problems.push(`path '${raw}' climbs out with '..'`);
    else if (raw.includes('\0')) problems.push('a path holds a NUL byte');
    else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      const target = entry.linkpath ?? '';
      const from = entry.type === 'SymbolicLink' ? posix.dirname(path) : '.';
      const resolved = posix.normalize(posix.join(from, target.replace(/\\/g, '/')));
      if (target === '' || target.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(target) || resolved === '..' || resolved.startsWith('../')) {
        problems.push(`link '${raw}' points outside the package (${target || 'no target'})`);
      }
    } else if (FILE_TYPES.has(entry.type)) {
      bytes += entry.size ?? 0;
    } else if (entry.type !== 'Directory') {
      problems.push(`entry '${raw}' is a ${entry.type}, which is not allowed`);
    }
    entry.resume();
  };
  if (!isGzip(gz)) return ['not a valid tarball (not gzip-compressed)'];
  try {
    await walkTarGz(gz, inflatedLimit(limits), {
      onEntry,
      onWarn: (message) => problems.push(`not a valid tarball (${message})`),
    });
  } catch (e) {
    if (!isAgentryError(e)) throw e;
    if (e.status === 413) problems.push(`the archive expands to more than ${inflatedLimit(limits)} bytes`);
    else throw new CliError(`the tarball is corrupt: ${[e.message, ...e.details].join('; ')}`);
  }
  if (entries === 0 && problems.length === 0) problems.push('the archive holds no entries');
  if (entries > limits.maxEntries) problems.push(`more than ${limits.maxEntries} entries`);
  if (bytes > limits.maxUnpackedBytes) problems.push(`the files add up to more than ${limits.maxUnpackedBytes} bytes`);
  return [...new Set(problems)];
};

const exists = async (path: string): Promise<boolean> => {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
};

/** Fails when `dest` already exists: pull only ever creates a new folder. */
export const refuseExisting = async (dest: string): Promise<void> => {
  if (await exists(dest)) throw new CliError(`${dest} already exists; remove it or choose another folder with --out`);
};

/**
 * Extracts a gzip tarball into the NEW folder `dest`, safely: the archive is checked first
 * (findUnsafeEntries), then extracted into a temp folder beside `dest` that is renamed into
 * place at the end, so a failure leaves nothing behind.
 */
export const extractToNewFolder = async (gz: Buffer, dest: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<void> => {
  const target = resolve(dest);
  await refuseExisting(target);
  const problems = await findUnsafeEntries(gz, limits);
  if (problems.length > 0) throw new CliError('refusing to extract an unsafe tarball', problems);
  const { extract } = await import('tar');
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(target)}.agentry-${randomBytes(4).toString('hex')}`);
  await mkdir(temp, { mode: 0o755 });
  try {
    await new Promise<void>((resolveDone, reject) => {
      const unpack = extract({
        cwd: temp,
        strict: true,
        preservePaths: false,
        preserveOwner: false,
        noMtime: true,
        filter: (_path, entry) => {
          if (!('type' in entry)) return false;
          // setuid, setgid and sticky bits never reach the disk.
          if (entry.mode !== undefined) entry.mode &= ~SPECIAL_MODE_BITS;
          return FILE_TYPES.has(entry.type) || ['Directory', 'SymbolicLink', 'Link'].includes(entry.type);
        },
      });
      unpack.on('end', () => resolveDone());
      unpack.on('error', (e: Error) => reject(new CliError(`cannot extract the tarball: ${e.message}`)));
      // Fed the inflated tar through the one bounded reader, never the whole archive at once.
      void (async () => {
        try {
          for await (const chunk of gunzipBounded(gz, inflatedLimit(limits))) {
            if (!unpack.write(chunk)) await new Promise<void>((r) => unpack.once('drain', () => r()));
          }
          unpack.end();
        } catch (e) {
          reject(new CliError(`cannot extract the tarball: ${e instanceof Error ? e.message : String(e)}`));
        }
      })();
    });
    await refuseExisting(target);
    await rename(temp, target);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
};
