import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import type { ClientConfigFiles, ClientConfigTarget } from '../../core/clients/client-config-files.js';
import { AgentryError } from '../../core/errors.js';
import { editServers, MalformedConfig, serverEntries, serverNames } from './formats.js';

/** The suffix of the copy Agentry keeps of a settings file before its first change to it. */
export const BACKUP_SUFFIX = '.agentry-backup';

const isNotFound = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';

/**
 * Edits MCP client settings files below one home directory (the account running the server or the
 * CLI; tests give a temporary one). Each edit: a lock on the file (proper-lockfile, so two Agentry
 * processes never interleave), read, parse and refuse a malformed file untouched, a backup copy
 * (`<file>.agentry-backup`) before Agentry's first change, then the new text written to a temporary
 * file in the same folder, flushed, and renamed over the file (mode kept; 0600 for a new file). A
 * settings file that is a symbolic link is edited where it points.
 */
export class ClientConfigFileEditor implements ClientConfigFiles {
  private readonly home: string;

  constructor(home: string) {
    if (!isAbsolute(home)) throw new Error(`the home directory for client settings must be an absolute path, not '${home}'`);
    this.home = resolve(home);
  }

  private pathOf(segments: string[]): string {
    const p = resolve(this.home, ...segments);
    const rel = relative(this.home, p);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new AgentryError('bad_request', 'A client settings path must stay inside the home directory');
    return p;
  }

  private shown(segments: string[]): string {
    return `~/${segments.join('/')}`;
  }

  async exists(segments: string[]): Promise<boolean> {
    try {
      await stat(this.pathOf(segments));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async upsert(target: ClientConfigTarget, name: string, entry: Record<string, unknown>): Promise<void> {
    await this.edit(target, (text) => editServers(text, target, name, entry), true);
  }

  remove(target: ClientConfigTarget, name: string): Promise<boolean> {
    return this.edit(target, (text) => editServers(text, target, name, undefined), false);
  }

  async names(target: ClientConfigTarget): Promise<string[]> {
    const text = await this.read(this.pathOf(target.file));
    if (text === undefined) return [];
    try {
      return serverNames(text, target);
    } catch (e) {
      throw this.refusal(e, target);
    }
  }

  /** Every server entry of the file, by name ({} when there is no file); refuses a malformed file. */
  async entries(target: ClientConfigTarget): Promise<Record<string, Record<string, unknown>>> {
    const text = await this.read(this.pathOf(target.file));
    if (text === undefined) return {};
    try {
      return serverEntries(text, target);
    } catch (e) {
      throw this.refusal(e, target);
    }
  }

  private async read(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private refusal(e: unknown, target: ClientConfigTarget): unknown {
    if (!(e instanceof MalformedConfig)) return e;
    return new AgentryError('bad_request', `The client settings file ${this.shown(target.file)} is not valid ${target.format.toUpperCase()}; Agentry left it untouched`, [
      e.message,
      'fix or remove the file, then try again',
    ]);
  }

  /** Applies `change` under the lock; returns whether the file changed. */
  private async edit(target: ClientConfigTarget, change: (text: string) => string | undefined, create: boolean): Promise<boolean> {
    let path = this.pathOf(target.file);
    const existing = await this.read(path);
    if (existing === undefined && !create) return false;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    if (existing !== undefined) path = await realpath(path);
    const release = await lockfile.lock(path, { realpath: false, stale: 15_000, retries: { retries: 40, minTimeout: 25, maxTimeout: 250 } });
    try {
      const text = await this.read(path);
      if (text === undefined && !create) return false;
      let next: string | undefined;
      try {
        next = change(text ?? '');
      } catch (e) {
        throw this.refusal(e, target);
      }
      if (next === undefined || next === text) return false;
      let mode = 0o600;
      if (text !== undefined) {
        mode = (await stat(path)).mode & 0o777;
        await copyFile(path, `${path}${BACKUP_SUFFIX}`, constants.COPYFILE_EXCL).catch((e: unknown) => {
          if ((e as { code?: string }).code !== 'EEXIST') throw e;
        });
      }
      const tmp = `${path}.agentry-${randomBytes(6).toString('hex')}.tmp`;
      try {
        const fh = await open(tmp, 'wx', mode);
        try {
          await fh.writeFile(next, 'utf8');
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      return true;
    } finally {
      await release();
    }
  }
}
