import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AgentryError } from '../../core/errors.js';
import type { SkillFolders } from '../../core/skills/skill-install-store.js';

const isNotFound = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';

/** A path segment that names one file or folder: no separators, no `.`/`..`, no NUL. */
const plainSegment = (s: string): boolean => s !== '' && s !== '.' && s !== '..' && !/[/\\\0]/.test(s);

/**
 * MCP clients' skills folders below one home directory (`~/.claude/skills/<name>/`, …). A skill is
 * written into a fresh hidden folder beside its destination, every file created exclusively (never
 * through an existing link), then renamed into place; a folder it replaces is first renamed aside
 * and deleted only once the new one is in. Removal renames the folder aside, then deletes it.
 */
export class SkillFolderWriter implements SkillFolders {
  private readonly home: string;

  constructor(home: string) {
    if (!isAbsolute(home)) throw new Error(`the clients home must be an absolute path, not '${home}'`);
    this.home = resolve(home);
  }

  private pathOf(segments: string[]): string {
    if (segments.length === 0 || !segments.every(plainSegment)) throw new AgentryError('bad_request', 'A skills folder path must be plain names below the clients home');
    return join(this.home, ...segments);
  }

  async exists(segments: string[]): Promise<boolean> {
    try {
      await lstat(this.pathOf(segments));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async write(segments: string[], files: ReadonlyArray<{ path: string; bytes: Buffer; executable: boolean }>): Promise<void> {
    const target = this.pathOf(segments);
    const parent = dirname(target);
    const base = segments[segments.length - 1];
    await mkdir(parent, { recursive: true, mode: 0o755 });
    const tmp = join(parent, `.${base}.agentry-tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, { mode: 0o755 });
    try {
      for (const f of files) {
        const parts = f.path.split('/');
        if (!parts.every(plainSegment)) throw new AgentryError('bad_request', `The skill's file '${f.path.slice(0, 200)}' has an unsafe path`);
        const dest = join(tmp, ...parts);
        await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
        const handle = await open(dest, 'wx', f.executable ? 0o755 : 0o644);
        try {
          await handle.writeFile(f.bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await this.replace(target, tmp, parent, base);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  async remove(segments: string[]): Promise<boolean> {
    const target = this.pathOf(segments);
    const aside = join(dirname(target), `.${segments[segments.length - 1]}.agentry-old-${randomBytes(6).toString('hex')}`);
    try {
      await rename(target, aside);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  }

  /** Puts `tmp` at `target`; whatever was at `target` (a folder, a file or a link) is moved aside first and removed after. */
  private async replace(target: string, tmp: string, parent: string, base: string): Promise<void> {
    const aside = join(parent, `.${base}.agentry-old-${randomBytes(6).toString('hex')}`);
    let moved = false;
    try {
      await rename(target, aside);
      moved = true;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    try {
      await rename(tmp, target);
    } catch (e) {
      if (moved) await rename(aside, target).catch(() => undefined);
      throw e;
    }
    if (moved) await rm(aside, { recursive: true, force: true });
  }
}
