import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { workloadNameProblem } from '../../core/workloads/workload.js';
import type { LogStream, WorkloadLogs } from '../../core/workloads/workload-runtime.js';
import { clip } from './process-transport.js';

export interface LogFileOptions {
  /** Rotate a log when it passes this size (default 1 MiB). */
  maxBytes?: number;
  /** Rotated files kept besides the current one (default 3). */
  keep?: number;
}

/**
 * Workload logs as files: `<dir>/<workload>/<stream>.log`, rotated to `.1`, `.2`, … past `maxBytes`.
 * Lines are cut at 16 KiB; control characters other than tab are replaced, so a log is always text.
 */
export class LogFiles implements WorkloadLogs {
  private readonly sizes = new Map<string, number>();
  /** Open descriptors of current log files (a line costs one write, not an open, write and close). */
  private readonly fds = new Map<string, number>();
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    private readonly dir: string,
    opts: LogFileOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.keep = opts.keep ?? 3;
  }

  private folder(name: string): string {
    if (workloadNameProblem(name)) throw new Error('invalid workload name');
    return join(this.dir, name);
  }

  append(name: string, stream: LogStream, line: string): void {
    try {
      const folder = this.folder(name);
      const file = join(folder, `${stream}.log`);
      let fd = this.fds.get(file);
      let size = this.sizes.get(file) ?? 0;
      if (fd === undefined) {
        mkdirSync(folder, { recursive: true });
        fd = openSync(file, 'a', 0o600);
        size = fstatSync(fd).size;
        this.fds.set(file, fd);
      }
      // eslint-disable-next-line no-control-regex -- control characters are what is replaced
      const text = Buffer.from(`${clip(line).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd')}\n`);
      if (size > 0 && size + text.length > this.maxBytes) {
        closeSync(fd);
        this.fds.delete(file);
        for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
        renameSync(file, `${file}.1`);
        fd = openSync(file, 'a', 0o600);
        this.fds.set(file, fd);
        size = 0;
      }
      writeSync(fd, text);
      this.sizes.set(file, size + text.length);
    } catch {
      // A log that cannot be written must not stop the workload.
    }
  }

  async read(name: string, stream: LogStream, maxBytes: number): Promise<string | undefined> {
    const file = join(this.folder(name), `${stream}.log`);
    const parts: string[] = [];
    for (let i = this.keep; i >= 1; i--) if (existsSync(`${file}.${i}`)) parts.push(readFileSync(`${file}.${i}`, 'utf8'));
    if (existsSync(file)) parts.push(readFileSync(file, 'utf8'));
    if (parts.length === 0) return undefined;
    const all = parts.join('');
    if (Buffer.byteLength(all) <= maxBytes) return all;
    const tail = Buffer.from(all).subarray(-maxBytes).toString('utf8');
    return tail.slice(tail.indexOf('\n') + 1);
  }

  async remove(name: string): Promise<void> {
    const folder = this.folder(name);
    for (const key of [...this.sizes.keys()]) if (key.startsWith(`${folder}/`)) this.sizes.delete(key);
    this.closeFiles(`${folder}/`);
    rmSync(folder, { recursive: true, force: true });
  }

  /** Closes the open log files (those under `prefix`, or all): at removal and at server shutdown. */
  closeFiles(prefix = ''): void {
    for (const [file, fd] of [...this.fds]) {
      if (!file.startsWith(prefix)) continue;
      this.fds.delete(file);
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}
