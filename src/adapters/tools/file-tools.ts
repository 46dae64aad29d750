import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { glob as tinyGlob } from 'tinyglobby';
import { errorResult, textResult, TOOL_OUTPUT_LIMIT, truncateOutput, type ToolResult } from '../../core/tools/builtin-toolset.js';
import { PathRefused, type Workspace } from './workspace.js';

/**
 * read, write, edit, glob and grep: in the server process, on the session's workspace only. Every path
 * goes through {@link Workspace.resolve} (no `..`, nothing outside the mounts, symlinks resolved and
 * checked, writes only where the mount is writable); results name files by their sandbox paths, the
 * same ones bash sees.
 *
 * Residual risk, as in every in-process confinement: a path component swapped for a symlink by bash
 * between the check and the use. bash runs in its own sandbox and sees only the workspace, so what such
 * a race could reach is what the host user can; keep the data dir owned by a dedicated user.
 */

/** Largest file read whole (without view_range) or edited. */
export const MAX_FILE_BYTES = 256 * 1024;
/** Largest file read with a view_range. */
const MAX_RANGE_FILE_BYTES = 16 * 1024 * 1024;
const GLOB_LIMIT = 200;
const GLOB_TIMEOUT_MS = 60_000;
const GREP_TIMEOUT_MS = 60_000;
const GREP_LINE_MAX = 2000;
const IGNORED_DIRS = ['.git', 'node_modules'];

type Input = Record<string, unknown>;

const refusedOr = (tool: string, e: unknown): ToolResult => {
  if (e instanceof PathRefused) return errorResult(`${tool}: ${e.message}`);
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EISDIR: 'is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    EACCES: 'permission denied',
    EROFS: 'read-only',
    ENOSPC: 'no space left on the device',
  };
  return errorResult(`${tool}: ${(err.code && why[err.code]) || err.message || String(e)}`);
};

const looksBinary = (buf: Buffer): boolean => buf.subarray(0, 8192).includes(0);

export const readTool = async (ws: Workspace, input: Input): Promise<ToolResult> => {
  const filePath = input.file_path as string;
  const range = input.view_range as number[] | undefined;
  if (range !== undefined && range !== null && range.length !== 2) return errorResult('read: view_range must be [start_line, end_line]');
  if (range && range[0] < 1) return errorResult('read: view_range start_line is 1-indexed (1 or more)');
  try {
    const { host, path } = await ws.resolve(filePath, 'read');
    const st = await stat(host);
    if (st.isDirectory()) return errorResult(`read: ${path} is a directory (use glob or bash ls to list it)`);
    if (!st.isFile()) return errorResult(`read: ${path} is not a regular file`);
    if (!range && st.size > MAX_FILE_BYTES) {
      return errorResult(`read: ${path} is ${st.size} bytes, more than the ${MAX_FILE_BYTES}-byte limit for a whole file. Read part of it with view_range, e.g. [1, 500].`);
    }
    if (st.size > MAX_RANGE_FILE_BYTES) return errorResult(`read: ${path} is ${st.size} bytes, more than ${MAX_RANGE_FILE_BYTES}: use bash (head, sed -n, grep) to look into it`);
    const buf = await readFile(host);
    if (looksBinary(buf)) return errorResult(`read: ${path} is a binary file (${buf.length} bytes): inspect it with bash (file, xxd)`);
    const text = buf.toString('utf8');
    if (text === '') return textResult(`(${path} is empty)`);
    if (!range) return textResult(truncateOutput(text, TOOL_OUTPUT_LIMIT));
    const lines = text.split('\n');
    const start = range[0] - 1;
    const end = range[1] > 0 ? Math.min(range[1], lines.length) : lines.length;
    if (start >= lines.length) return errorResult(`read: ${path} has ${lines.length} lines; view_range starts at ${range[0]}`);
    if (end <= start) return errorResult(`read: view_range [${range[0]}, ${range[1]}] is empty`);
    const out = lines.slice(start, end).join('\n');
    return textResult(out === '' ? `(lines ${range[0]}-${end} of ${path} are empty)` : truncateOutput(out, TOOL_OUTPUT_LIMIT));
  } catch (e) {
    return refusedOr('read', e);
  }
};

/** Writes via a temporary file in the same folder and a rename: a reader never sees half a file, and a symlink at the target is replaced, not followed. */
const atomicWrite = async (host: string, content: string): Promise<void> => {
  const tmp = join(dirname(host), `.agentry-${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(content, 'utf8');
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, host);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
};

export const writeTool = async (ws: Workspace, input: Input): Promise<ToolResult> => {
  const content = input.content as string;
  try {
    const { host, path } = await ws.resolve(input.file_path as string, 'write');
    const st = await stat(host).catch(() => undefined);
    if (st?.isDirectory()) return errorResult(`write: ${path} is a directory`);
    if (st && !st.isFile()) return errorResult(`write: ${path} is not a regular file`);
    await mkdir(dirname(host), { recursive: true });
    await atomicWrite(host, content);
    return textResult(`wrote ${Buffer.byteLength(content)} bytes to ${path}`);
  } catch (e) {
    return refusedOr('write', e);
  }
};

export const editTool = async (ws: Workspace, input: Input): Promise<ToolResult> => {
  const oldString = input.old_string as string;
  const newString = input.new_string as string;
  const replaceAll = input.replace_all === true;
  if (oldString === '') return errorResult('edit: old_string must not be empty (to create or replace a whole file, use write)');
  if (oldString === newString) return errorResult('edit: old_string and new_string are the same: nothing would change');
  try {
    const { host, path } = await ws.resolve(input.file_path as string, 'write');
    const st = await stat(host);
    if (!st.isFile()) return errorResult(`edit: ${path} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) return errorResult(`edit: ${path} is ${st.size} bytes, more than the ${MAX_FILE_BYTES}-byte limit of edit: change it with bash (sed, patch)`);
    const buf = await readFile(host);
    if (looksBinary(buf)) return errorResult(`edit: ${path} is a binary file`);
    const text = buf.toString('utf8');
    const count = text.split(oldString).length - 1;
    if (count === 0) return errorResult(`edit: old_string was not found in ${path} (it must match exactly, whitespace and line breaks included; read the file first)`);
    if (count > 1 && !replaceAll) {
      return errorResult(
        `edit: old_string occurs ${count} times in ${path}; it must occur exactly once. Include more surrounding lines to make it unique, or set replace_all to replace every occurrence.`,
      );
    }
    const updated = replaceAll ? text.split(oldString).join(newString) : text.replace(oldString, () => newString);
    await atomicWrite(host, updated);
    return textResult(`edited ${path}: ${replaceAll ? count : 1} replacement${(replaceAll ? count : 1) === 1 ? '' : 's'}`);
  } catch (e) {
    return refusedOr('edit', e);
  }
};

export const globTool = async (ws: Workspace, input: Input, signal?: AbortSignal): Promise<ToolResult> => {
  const pattern = input.pattern as string;
  if (pattern.trim() === '') return errorResult('glob: pattern must not be empty');
  if (pattern.startsWith('/')) return errorResult('glob: the pattern must be relative; give the directory to search as path');
  if (pattern.split(/[\\/{},]/).includes('..')) return errorResult('glob: ".." is not allowed in the pattern');
  try {
    const base = await ws.resolve(typeof input.path === 'string' && input.path !== '' ? input.path : '/workspace', 'read');
    const st = await stat(base.host);
    if (!st.isDirectory()) return errorResult(`glob: ${base.path} is not a directory`);
    const found = await tinyGlob(pattern, {
      cwd: base.host,
      absolute: true,
      onlyFiles: true,
      dot: true,
      followSymbolicLinks: false,
      expandDirectories: false,
      ignore: IGNORED_DIRS.map((d) => `**/${d}/**`),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(GLOB_TIMEOUT_MS)]) : AbortSignal.timeout(GLOB_TIMEOUT_MS),
    });
    const matches: Array<{ path: string; mtime: number }> = [];
    for (const file of found) {
      // A match through a symlinked folder is checked like any other path: it must stay in the workspace.
      try {
        const r = await ws.resolve(ws.sandboxPathOf(file), 'read');
        matches.push({ path: r.path, mtime: (await stat(r.host)).mtimeMs });
      } catch {
        // outside the workspace, or gone: left out
      }
    }
    if (matches.length === 0) return textResult(`no files match ${pattern} in ${base.path}`);
    matches.sort((a, b) => b.mtime - a.mtime || a.path.localeCompare(b.path));
    const shown = matches.slice(0, GLOB_LIMIT).map((m) => m.path);
    if (matches.length > GLOB_LIMIT) shown.push(`[… ${matches.length - GLOB_LIMIT} more files match: narrow the pattern or the path]`);
    return textResult(shown.join('\n'));
  } catch (e) {
    return refusedOr('glob', e);
  }
};

/**
 * grep: GNU grep with Perl-compatible regular expressions, run (without a shell, with a scrubbed
 * environment, a timeout and an output cap) on the resolved path. `-r` does not follow symlinks met
 * while walking, so the search stays in the workspace.
 */
export const grepTool = async (ws: Workspace, input: Input, signal?: AbortSignal): Promise<ToolResult> => {
  const pattern = input.pattern as string;
  if (pattern === '') return errorResult('grep: pattern must not be empty');
  let base;
  try {
    base = await ws.resolve(typeof input.path === 'string' && input.path !== '' ? input.path : '/workspace', 'read');
    await stat(base.host);
  } catch (e) {
    return refusedOr('grep', e);
  }
  const args = ['-rnIHP', '--color=never', ...IGNORED_DIRS.map((d) => `--exclude-dir=${d}`), '-e', pattern, '--', base.host];
  return new Promise<ToolResult>((resolve) => {
    const child = spawn('grep', args, { env: { LC_ALL: 'C.UTF-8', PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let cut = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, GREP_TIMEOUT_MS);
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      if (cut) return;
      out += d.toString('utf8');
      if (out.length > TOOL_OUTPUT_LIMIT) {
        cut = true;
        out = out.slice(0, TOOL_OUTPUT_LIMIT);
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8').slice(0, 4000)));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve(errorResult(`grep: could not run grep: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const lines = out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => ws.sandboxPathOf(l))
        .map((l) => (l.length > GREP_LINE_MAX ? `${l.slice(0, GREP_LINE_MAX)} [… line cut]` : l));
      if (cut) lines.pop();
      const body = lines.join('\n');
      if (signal?.aborted) return resolve(errorResult(`grep: interrupted${body ? `\n${body}` : ''}`));
      if (timedOut) return resolve(errorResult(`grep: stopped after ${GREP_TIMEOUT_MS / 1000} s (pattern too slow or tree too big: narrow the path)${body ? `\n${body}` : ''}`));
      if (cut) return resolve(textResult(`${body}\n[… output truncated at ${TOOL_OUTPUT_LIMIT} characters: narrow the pattern or the path]`));
      if (body !== '') return resolve(textResult(body));
      if (code === 1) return resolve(textResult(`no matches for ${pattern} in ${base.path}`));
      const why = err
        .replaceAll(ws.root, '')
        .replace(/^grep: /gm, '')
        .trim();
      resolve(errorResult(`grep: ${why || `grep exited with ${code}`}`));
    });
  });
};
