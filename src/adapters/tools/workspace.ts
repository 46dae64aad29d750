import { lstat, mkdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { validationFailed } from '../../core/errors.js';
import type { WorkspaceMount } from '../../core/tools/builtin-toolset.js';

/**
 * A session's workspace on the host: `<base>/<sessionId>/root/`, whose tree mirrors the paths the agent
 * sees: `root/workspace` is `/workspace`, `root/mnt/session/outputs` is `/mnt/session/outputs`, a mount
 * at `/mnt/skills/pdf` is `root/mnt/skills/pdf`. bash gets exactly these folders bind-mounted (nothing
 * else of `root`); the file tools reach exactly these too, through {@link Workspace.resolve}.
 */

/** The two folders every workspace has, read-write, kept across turns. */
export const WORKDIR = '/workspace';
export const OUTPUTS = '/mnt/session/outputs';

/** One place the agent can reach: a sandbox path, its host path, its mode. */
export interface MountPoint {
  path: string;
  host: string;
  writable: boolean;
  kind: 'directory' | 'file';
}

/** A path the tools refuse, with the message the model gets. */
export class PathRefused extends Error {
  override readonly name = 'PathRefused';
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Characters a mount path may have (the sandbox profile's `host:sandbox` form has no room for `:`). */
const MOUNT_PATH = /^[A-Za-z0-9._@+=, -]+$/;

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/** A normalised absolute sandbox path, or a problem. */
const sandboxPath = (raw: string, what: string, problems: string[]): string | undefined => {
  if (typeof raw !== 'string' || raw === '' || raw.includes('\0')) return void problems.push(`${what}: must be a non-empty path`);
  if (!raw.startsWith('/')) return void problems.push(`${what}: "${raw}" must be absolute`);
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return void problems.push(`${what}: "${raw}" has a ".." segment`);
  if (segments.some((s) => !MOUNT_PATH.test(s))) return void problems.push(`${what}: "${raw}" has characters a mount path cannot have (letters, digits, . _ - @ + = , and spaces)`);
  return `/${segments.join('/')}`;
};

/** A relative path inside a mounted folder, or a problem. */
const relativeFile = (raw: string, what: string, problems: string[]): string | undefined => {
  if (typeof raw !== 'string' || raw === '' || raw.includes('\0') || raw.startsWith('/')) return void problems.push(`${what}: "${raw}" must be a relative path`);
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return void problems.push(`${what}: "${raw}" must stay inside its folder`);
  return segments.join('/');
};

export class Workspace {
  private constructor(
    /** The host folder of this session (`<base>/<sessionId>`), its own realpath. */
    readonly dir: string,
    /** `dir/root`: sandbox path `/x` is `root + /x`. */
    readonly root: string,
    /** Every place the agent can reach, deepest last. */
    readonly mounts: readonly MountPoint[],
  ) {}

  /**
   * Creates (or re-uses) the session's folder and writes the mounts: each mount's host path is
   * replaced by the content given (the caller's stores are the truth; `/workspace` and
   * `/mnt/session/outputs` are kept). Throws `validation_failed` for a bad session id or mount.
   */
  static async open(base: string, sessionId: string, mounts: readonly WorkspaceMount[]): Promise<Workspace> {
    const problems: string[] = [];
    if (!SESSION_ID.test(sessionId)) problems.push(`sessionId: "${sessionId}" is not a session id (letters, digits, _ and -)`);
    const checked: Array<{ mount: WorkspaceMount; path: string; files: Array<{ path: string; content: Uint8Array | string }> }> = [];
    mounts.forEach((m, i) => {
      const path = sandboxPath(m.path, `mounts[${i}].path`, problems);
      if (path === undefined) return;
      if (!(within(path, WORKDIR) && path !== WORKDIR) && !(within(path, '/mnt') && path !== '/mnt')) {
        return void problems.push(`mounts[${i}].path: "${path}" must be inside /workspace or /mnt`);
      }
      if (within(path, OUTPUTS) || within(OUTPUTS, path)) return void problems.push(`mounts[${i}].path: "${path}" overlaps ${OUTPUTS}, which every workspace has`);
      const clash = checked.find((c) => within(path, c.path) || within(c.path, path));
      if (clash) return void problems.push(`mounts[${i}].path: "${path}" overlaps the mount at "${clash.path}"`);
      const files =
        m.type === 'file'
          ? [{ path: '', content: m.content }]
          : m.files.flatMap((f, j) => {
              const rel = relativeFile(f.path, `mounts[${i}].files[${j}].path`, problems);
              return rel === undefined ? [] : [{ path: rel, content: f.content }];
            });
      checked.push({ mount: m, path, files });
    });
    if (problems.length > 0) throw validationFailed(problems, 'The workspace is refused');

    await mkdir(base, { recursive: true, mode: 0o700 });
    const dir = join(await realpath(base), sessionId);
    const root = join(dir, 'root');
    await mkdir(join(root, WORKDIR), { recursive: true, mode: 0o700 });
    await mkdir(join(root, OUTPUTS), { recursive: true, mode: 0o700 });
    const points: MountPoint[] = [
      { path: WORKDIR, host: join(root, WORKDIR), writable: true, kind: 'directory' },
      { path: OUTPUTS, host: join(root, OUTPUTS), writable: true, kind: 'directory' },
    ];
    for (const { mount, path, files } of checked) {
      const host = join(root, path);
      await rm(host, { recursive: true, force: true });
      if (mount.type === 'file') {
        await mkdir(dirname(host), { recursive: true, mode: 0o700 });
        await writeFile(host, mount.content, { mode: 0o444 });
      } else {
        await mkdir(host, { recursive: true, mode: 0o700 });
        for (const f of files) {
          const target = join(host, f.path);
          await mkdir(dirname(target), { recursive: true, mode: 0o700 });
          await writeFile(target, f.content, { mode: mount.writable ? 0o644 : 0o444 });
        }
      }
      points.push({ path, host, writable: mount.type === 'directory' && mount.writable, kind: mount.type });
    }
    points.sort((a, b) => a.path.split('/').length - b.path.split('/').length);
    return new Workspace(dir, root, points);
  }

  /** The mount a sandbox path falls in (the deepest one), if any. */
  mountOf(path: string): MountPoint | undefined {
    let found: MountPoint | undefined;
    for (const m of this.mounts) if (within(path, m.path)) found = m;
    return found;
  }

  /** What the tools can reach, for error messages. */
  reachable(): string {
    return this.mounts.map((m) => `${m.path}${m.writable ? '' : ' (read-only)'}`).join(', ');
  }

  /**
   * The host path a tool may use for `raw` (as the model wrote it: relative to /workspace, or absolute
   * in the sandbox's terms), every symlink resolved, and the sandbox path it stands for. Refuses `..`
   * segments, paths outside the mounts, symlinks that lead outside them (or from a writable mount into a
   * read-only one, for a write), and writes to read-only mounts.
   */
  async resolve(raw: string, intent: 'read' | 'write'): Promise<{ host: string; path: string; mount: MountPoint }> {
    if (typeof raw !== 'string' || raw.trim() === '') throw new PathRefused('the path is empty');
    if (raw.includes('\0')) throw new PathRefused('the path contains a NUL byte');
    const segments = raw.split('/');
    if (segments.includes('..')) throw new PathRefused(`"${raw}": paths with ".." are refused; name the file from /workspace or give its absolute path`);
    const path = posix.normalize(raw.startsWith('/') ? raw : posix.join(WORKDIR, raw)).replace(/\/+$/, '') || '/';
    const named = this.mountOf(path);
    if (!named) throw new PathRefused(`"${raw}" is outside the workspace: the tools reach ${this.reachable()}`);
    // Resolve every symlink on the way (the leaf too, even a dangling one), then look again at where it lands.
    const real = await this.realHost(join(this.root, path));
    if (!within(real, this.root)) throw new PathRefused(`"${raw}" leads outside the workspace (through a symbolic link)`);
    const landed = real.slice(this.root.length) || '/';
    const mount = this.mountOf(landed);
    if (!mount) throw new PathRefused(`"${raw}" leads outside the places the tools reach (through a symbolic link): ${this.reachable()}`);
    if (intent === 'write' && !mount.writable) throw new PathRefused(`"${raw}" is in ${mount.path}, which is read-only`);
    return { host: real, path: landed, mount };
  }

  /** The sandbox path of a host path inside `root` (for outputs that name files). */
  sandboxPathOf(host: string): string {
    return within(host, this.root) ? host.slice(this.root.length) || '/' : host;
  }

  /** realpath of the longest existing prefix, the rest appended; a dangling symlink leaf is followed by hand. */
  private async realHost(host: string, depth = 0): Promise<string> {
    if (depth > 40) throw new PathRefused('too many levels of symbolic links');
    try {
      return await realpath(host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new PathRefused('too many levels of symbolic links');
    }
    // The leaf (or something above it) does not exist: a dangling link, or a file still to be created.
    let st;
    try {
      st = await lstat(host);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) {
      const target = await readlink(host);
      return this.realHost(target.startsWith('/') ? target : join(dirname(host), target), depth + 1);
    }
    const parent = dirname(host);
    if (parent === host) return host;
    return join(await this.realHost(parent, depth + 1), host.slice(parent.length + 1));
  }

  /** Removes a session's folder. */
  static async destroy(base: string, sessionId: string): Promise<void> {
    if (!SESSION_ID.test(sessionId)) return;
    await rm(join(base, sessionId), { recursive: true, force: true });
  }
}
