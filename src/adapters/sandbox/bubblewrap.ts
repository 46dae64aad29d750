import { spawn as spawnChild } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { AgentryError, validationFailed } from '../../core/errors.js';
import { sandboxAllowsNetwork, sandboxEgressRules, validateSandboxSpec, type SandboxMount } from '../../core/sandbox/profile.js';
import type { EgressProxy, RunningEgressProxy } from '../egress/egress-proxy.js';
import { sandboxedProcessOf } from './child-process.js';
import type { Sandbox, SandboxedProcess, SandboxProbe, SandboxSpec } from '../../core/sandbox/sandbox.js';

/**
 * The process sandbox on Linux: bubblewrap (`bwrap`, Debian package `bubblewrap`), not setuid, started
 * by the server's own user.
 *
 * What the sandboxed process gets:
 * - new user, PID, IPC, UTS, cgroup and mount namespaces (`--unshare-all`), and a new network namespace
 *   (only a loopback of its own) unless the profile says `insecure_allow_all` (`--share-net`: the host's
 *   network, loopback included). An outbound allow-list (`allow_host`, `allow_port`) keeps the empty
 *   network namespace and adds one way out: a local egress proxy (`adapters/egress/egress-proxy.ts`) on
 *   a Unix socket bound into the sandbox, which `socat` inside exposes on 127.0.0.1:3128, named in
 *   `HTTP_PROXY`/`HTTPS_PROXY`; the proxy connects only to allowed hosts and ports the server's egress
 *   policy also allows. Such profiles need socat (Debian package `socat`) and are refused without it.
 * - uid/gid 65534 (nobody) inside its user namespace with every capability dropped, even when the server
 *   runs as root: it is never root in the sandbox, and cannot remount what it was given read-only.
 *   Files it writes in its write mounts belong to the server's user on the host.
 * - a root of its own: read-only `/usr`, `/bin`, `/sbin`, `/lib*` (symlinks kept as symlinks on merged-/usr
 *   systems), the few files of `/etc` a Node/npx command needs (TLS roots, resolver, hosts,
 *   nsswitch, alternatives), Node's install prefix when it is outside `/usr`; a private `/tmp` (tmpfs),
 *   a fresh `/proc`, a minimal `/dev`; then the profile's read mounts (read-only) and write mounts.
 *   Nothing else of the host is visible: not /home, /root, /work, the server's data dir, or /etc/passwd.
 * - only the spec's environment (`--clearenv`), plus `PATH` and `HOME=/tmp` when the spec does not set them.
 * - `--die-with-parent` (the sandbox ends when the server does) and `--new-session` (no TIOCSTI into the
 *   server's terminal).
 *
 * Mounts are refused before spawning when they name `/`, a relative path, a `..` segment (core rule), a
 * path that does not exist, or a path that resolves through a symlink (the realpath must be the path
 * as named, so a symlink cannot point a mount somewhere the profile did not name).
 */

/** Where bwrap is looked for when no path is given. */
const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap'];

/** The uid and gid of the process inside its user namespace: nobody. */
const SANDBOX_ID = '65534';

/** Top-level system folders bound read-only (or re-created as the same symlinks when they are symlinks). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** Files and folders of /etc a Node/npx command needs; bound read-only when present. */
const ETC_ENTRIES = ['/etc/ssl', '/etc/ca-certificates', '/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/alternatives', '/etc/localtime'];

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface BubblewrapOptions {
  /** The bwrap binary; default: the first of /usr/bin/bwrap, /usr/local/bin/bwrap, /bin/bwrap that exists. */
  bwrapPath?: string;
  /** Enforces outbound allow-lists; without it, profiles with one are refused. */
  egressProxy?: EgressProxy;
}

/** Where the egress proxy's socket appears in the sandbox, and the loopback port socat serves it on. */
const EGRESS_SOCKET = '/run/agentry-egress.sock';
const EGRESS_PORT = 3128;
const SOCAT_CANDIDATES = ['/usr/bin/socat', '/usr/local/bin/socat', '/bin/socat'];

const findBwrap = (): string | undefined => BWRAP_CANDIDATES.find((p) => existsSync(p));

const unavailable = (message: string) => new AgentryError('unavailable', message);

/** Node's install prefix (`<prefix>/bin/node`), so `node`, `npm` and `npx` run in the sandbox. */
const nodePrefix = (): string => dirname(dirname(realpathSync(process.execPath)));

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/** Refuses host paths that are missing or resolve through a symlink; one line per problem. */
const checkHostPaths = (mounts: SandboxMount[]): void => {
  const problems: string[] = [];
  for (const m of mounts) {
    let real: string;
    try {
      real = realpathSync(m.host);
    } catch {
      problems.push(`"${m.host}" does not exist`);
      continue;
    }
    if (real !== m.host) problems.push(`"${m.host}" resolves through a symlink to "${real}": name the real path`);
  }
  if (problems.length > 0) throw validationFailed(problems, 'The sandbox profile is refused');
};

/** The bwrap arguments for a validated spec (everything before `--`). */
const bwrapArgs = (spec: SandboxSpec, mounts: SandboxMount[], egressSocket?: string): string[] => {
  const args = ['--unshare-all', '--unshare-user', '--uid', SANDBOX_ID, '--gid', SANDBOX_ID, '--cap-drop', 'ALL'];
  if (sandboxAllowsNetwork(spec)) args.push('--share-net');
  args.push('--die-with-parent', '--new-session', '--hostname', 'agentry-sandbox');
  for (const dir of SYSTEM_DIRS) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  for (const entry of ETC_ENTRIES) args.push('--ro-bind-try', entry, entry);
  const prefix = nodePrefix();
  if (!SYSTEM_DIRS.some((d) => within(prefix, d)) && prefix !== '/') args.push('--ro-bind', prefix, prefix);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  for (const m of mounts) args.push(m.writable ? '--bind' : '--ro-bind', m.host, m.container);
  const env: Record<string, string> = { ...spec.env };
  if (egressSocket) {
    args.push('--bind', egressSocket, EGRESS_SOCKET);
    const proxy = `http://127.0.0.1:${EGRESS_PORT}`;
    Object.assign(env, { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, ALL_PROXY: proxy, NO_PROXY: '', no_proxy: '' });
  }
  if (env.PATH === undefined) env.PATH = within(prefix, '/usr') ? DEFAULT_PATH : `${prefix}/bin:${DEFAULT_PATH}`;
  if (env.HOME === undefined) env.HOME = '/tmp';
  args.push('--clearenv');
  for (const [name, value] of Object.entries(env)) args.push('--setenv', name, value);
  args.push('--chdir', spec.cwd ?? '/tmp');
  return args;
};

/** Runs bwrap to completion (for the probe); its exit code and stderr. */
const runOnce = (bwrap: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawnChild(bwrap, args, { env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: null, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

export class BubblewrapSandbox implements Sandbox {
  private readonly bwrap: string | undefined;
  private readonly egressProxy: EgressProxy | undefined;

  constructor(options: BubblewrapOptions = {}) {
    this.bwrap = options.bwrapPath ?? findBwrap();
    this.egressProxy = options.egressProxy;
  }

  /**
   * Whether bubblewrap is installed and can build a sandbox here (user namespaces allowed): it runs
   * `/usr/bin/true` in an empty no-network sandbox, the same way `spawn` runs commands.
   */
  async probe(): Promise<SandboxProbe> {
    if (process.platform !== 'linux') return { available: false, reason: `bubblewrap sandboxing needs Linux (this is ${process.platform})` };
    const bwrap = this.bwrap;
    if (bwrap === undefined) return { available: false, reason: 'bubblewrap is not installed (Debian/Ubuntu: apt-get install -y bubblewrap)' };
    try {
      accessSync(bwrap, constants.X_OK);
    } catch {
      return { available: false, reason: `${bwrap} is not an executable file` };
    }
    const version = await runOnce(bwrap, ['--version']);
    if (version.code !== 0) return { available: false, reason: `${bwrap} --version failed: ${version.stderr.trim() || `exit ${version.code}`}` };
    const spec: SandboxSpec = { command: '/usr/bin/true', args: [], env: {}, profile: { read: [], write: [], network: { outbound: {} } } };
    const trial = await runOnce(bwrap, [...bwrapArgs(spec, []), '--', spec.command]);
    if (trial.code !== 0) {
      return { available: false, version: version.stdout.trim(), reason: `bubblewrap cannot create a sandbox here: ${trial.stderr.trim() || `exit ${trial.code}`}` };
    }
    return { available: true, version: version.stdout.trim() };
  }

  async spawn(spec: SandboxSpec): Promise<SandboxedProcess> {
    const mounts = validateSandboxSpec(spec);
    checkHostPaths(mounts);
    const bwrap = this.bwrap;
    if (bwrap === undefined) throw unavailable('Sandboxed processes need bubblewrap, which is not installed (Debian/Ubuntu: apt-get install -y bubblewrap)');
    const rules = sandboxEgressRules(spec);
    let proxy: RunningEgressProxy | undefined;
    let command = [spec.command, ...spec.args];
    if (rules) {
      const socat = SOCAT_CANDIDATES.find((p) => existsSync(p));
      if (!this.egressProxy) throw unavailable('An outbound allow-list needs the egress proxy, which this server was not given');
      if (!socat) throw unavailable('An outbound allow-list needs socat in the sandbox (Debian/Ubuntu: apt-get install -y socat)');
      proxy = await this.egressProxy.start(rules);
      // socat serves the proxy's socket on the sandbox's own loopback; then the command replaces the shell.
      const bridge = `${socat} TCP-LISTEN:${EGRESS_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${EGRESS_SOCKET} & i=0; while [ $i -lt 50 ] && ! (exec 3<>/dev/tcp/127.0.0.1/${EGRESS_PORT}) 2>/dev/null; do sleep 0.05; i=$((i+1)); done; exec "$@"`;
      command = ['/bin/bash', '-c', bridge, 'agentry-egress', ...command];
    }
    const child = spawnChild(bwrap, [...bwrapArgs(spec, mounts, proxy?.socketPath), '--', ...command], { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) => reject(unavailable(`Could not start bubblewrap (${bwrap}): ${e.message}`)));
      });
    } catch (e) {
      await proxy?.close();
      throw e;
    }
    const pid = child.pid;
    if (pid === undefined) throw unavailable(`Could not start bubblewrap (${bwrap})`);
    return sandboxedProcessOf(child, pid, () => void proxy?.close());
  }
}
