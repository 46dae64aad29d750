import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
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
      let size = this.sizes.get(file);
      if (size === undefined) {
        mkdirSync(folder, { recursive: true });
        size = existsSync(file) ? statSync(file).size : 0;
      }
      // eslint-disable-next-line no-control-regex -- control characters are what is replaced
      const text = `${clip(line).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd')}\n`;
      if (size > 0 && size + Buffer.byteLength(text) > this.maxBytes) {
        for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
        renameSync(file, `${file}.1`);
        size = 0;
      }
      appendFileSync(file, text, { mode: 0o600 });
      this.sizes.set(file, size + Buffer.byteLength(text));
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
    rmSync(folder, { recursive: true, force: true });
  }
}
