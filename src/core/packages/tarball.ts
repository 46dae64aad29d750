import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
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
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Reads a gzip tarball fully in memory and checks it is safe to extract anywhere:
 * no absolute paths, no `..`, no links leaving the package, no device files, no tar bomb.
 * Returns the text of the root files in `wanted`. Throws 400 (bad archive) or 413 (too big).
 */
export const inspectTarball = async (gz: Buffer, wanted: ReadonlySet<string>, limits: TarballLimits): Promise<TarballContents> => {
  if (gz.length < 2 || gz[0] !== 0x1f || gz[1] !== 0x8b) {
    throw badRequest('The tarball is not gzip-compressed', ['tarball: expected a .tar.gz file (gzip magic bytes 1f 8b)']);
  }
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(gz, { maxOutputLength: limits.maxUnpackedBytes });
  } catch (e) {
    if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw payloadTooLarge(`The tarball expands beyond the limit of ${limits.maxUnpackedBytes} bytes`);
    }
    const reason = e instanceof Error ? e.message : 'decompression failed';
    throw badRequest('The tarball is corrupt or truncated', [`tarball: ${reason}`]);
  }

  const problems: string[] = [];
  const texts = new Map<string, string>();
  const files: string[] = [];
  let fileCount = 0;
  let unpackedSize = 0;
  let sawEntry = false;

  const onEntry = (entry: ReadEntry): void => {
    sawEntry = true;
    const path = normalizeEntryPath(entry.path);
    const problem = pathProblem(entry.path, path);
    if (problem) problems.push(problem);
    else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      const target = entry.linkpath ?? '';
      const resolved = entry.type === 'SymbolicLink' ? posix.normalize(posix.join(posix.dirname(path), target)) : posix.normalize(target);
      if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
        problems.push(`tarball: link '${entry.path}' points outside the package (${target})`);
      }
    } else if (FILE_TYPES.has(entry.type)) {
      fileCount += 1;
      unpackedSize += entry.size ?? 0;
      files.push(path);
      if (fileCount > limits.maxFiles) problems.push(`tarball: more than ${limits.maxFiles} files`);
    } else if (entry.type !== 'Directory') {
      problems.push(`tarball: entry '${entry.path}' has unsupported type ${entry.type}`);
    }
    if (wanted.has(path) && FILE_TYPES.has(entry.type) && (entry.size ?? 0) <= limits.maxTextFileBytes) {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => texts.set(path, Buffer.concat(chunks).toString('utf8')));
    } else {
      entry.resume();
    }
  };

  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: onEntry,
      onwarn: (_code: string, message: string | Error) => {
        problems.push(`tarball: ${typeof message === 'string' ? message : message.message}`);
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', (e: Error) => reject(badRequest('The tarball is corrupt', [`tarball: ${e.message}`])));
    parser.end(tarBytes);
  });

  if (!sawEntry && problems.length === 0) problems.push('tarball: the archive holds no entries');
  const unique = [...new Set(problems)];
  if (unique.some((p) => p.includes(`more than ${limits.maxFiles} files`))) {
    throw payloadTooLarge(`The tarball holds more than ${limits.maxFiles} files`);
  }
  if (unique.length > 0) throw badRequest('The tarball is not a valid package', unique.slice(0, 20));
  return { texts, files, fileCount, unpackedSize };
};

const normalizeEntryPath = (raw: string): string => {
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
