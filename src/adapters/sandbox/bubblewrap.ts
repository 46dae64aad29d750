import { spawn as spawnChild } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, mkdtempSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AgentryError, validationFailed } from '../../core/errors.js';
import { sandboxAllowsNetwork, sandboxUsesEgressProxy, validateSandboxSpec, type SandboxMount } from '../../core/sandbox/profile.js';
import type { Sandbox, SandboxedProcess, SandboxProbe, SandboxSpec } from '../../core/sandbox/sandbox.js';
import { AllowList, EGRESS_BRIDGE_SCRIPT, EgressProxy, type EgressPolicy } from '../egress/index.js';
import { processHandle } from './process-handle.js';

/**
 * The process sandbox on Linux: bubblewrap (`bwrap`, Debian package `bubblewrap`), not setuid, started
 * by the server's own user.
 *
 * What the sandboxed process gets:
 * - new user, PID, IPC, UTS, cgroup and mount namespaces (`--unshare-all`), and a new network namespace
 *   (only a loopback of its own) unless the profile says `insecure_allow_all` (`--share-net`: the host's
 *   network, loopback included). An outbound allow-list (`allow_host`, `allow_port`) keeps the network
 *   namespace closed and starts an {@link EgressProxy} for this process on a unix socket, bind-mounted
 *   read-only at `/run/agentry-egress`; a bridge inside the sandbox (node, before the command) listens on
 *   the sandbox's 127.0.0.1:3128 and `HTTP_PROXY`/`HTTPS_PROXY` (and lower-case forms) point there. The
 *   proxy checks each host against the allow-list and each address against the server's egress policy;
 *   it stops when the process ends.
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
  /** The server's egress policy: needed for profiles with an outbound allow-list (refused without it). */
  egress?: EgressPolicy;
}

/** Where the egress proxy's socket folder is mounted in the sandbox, and the bridge's port there. */
const EGRESS_MOUNT = '/run/agentry-egress';
const EGRESS_PORT = 3128;
const EGRESS_READY = '/tmp/.agentry-egress-ready';

/**
 * The command that starts the bridge to the egress proxy, waits (up to 10 s) until it listens, then
 * execs the spec's command in its place: `sh -c <this> sh <bridge script> <node> <command> <args…>`.
 */
const EGRESS_WRAPPER = `"$2" -e "$1" ${EGRESS_MOUNT}/proxy.sock ${EGRESS_PORT} ${EGRESS_READY} </dev/null >/dev/null 2>&1 &
i=0; while [ ! -e ${EGRESS_READY} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
shift 2; exec "$@"`;

const proxyEnv = (): Record<string, string> => {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1' };
};

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
const bwrapArgs = (spec: SandboxSpec, mounts: SandboxMount[]): string[] => {
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
  private readonly egress: EgressPolicy | undefined;

  constructor(options: BubblewrapOptions = {}) {
    this.bwrap = options.bwrapPath ?? findBwrap();
    this.egress = options.egress;
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
    const allow = sandboxUsesEgressProxy(spec) ? this.allowListOf(spec) : undefined;
    const bwrap = this.bwrap;
    if (bwrap === undefined) throw unavailable('Sandboxed processes need bubblewrap, which is not installed (Debian/Ubuntu: apt-get install -y bubblewrap)');
    let command = [spec.command, ...spec.args];
    let runSpec = spec;
    let proxy: { proxy: EgressProxy; dir: string } | undefined;
    if (allow) {
      proxy = await this.startProxy(spec, allow);
      mounts.push({ host: proxy.dir, container: EGRESS_MOUNT, writable: false });
      runSpec = { ...spec, env: { ...proxyEnv(), ...spec.env } };
      command = ['/bin/sh', '-c', EGRESS_WRAPPER, 'sh', EGRESS_BRIDGE_SCRIPT, realpathSync(process.execPath), ...command];
    }
    const stopProxy = () => {
      if (!proxy) return;
      const { proxy: p, dir } = proxy;
      proxy = undefined;
      void p.close().finally(() => rmSync(dir, { recursive: true, force: true }));
    };
    const child = spawnChild(bwrap, [...bwrapArgs(runSpec, mounts), '--', ...command], { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) => reject(unavailable(`Could not start bubblewrap (${bwrap}): ${e.message}`)));
      });
    } catch (e) {
      stopProxy();
      throw e;
    }
    const pid = child.pid;
    if (pid === undefined) {
      stopProxy();
      throw unavailable(`Could not start bubblewrap (${bwrap})`);
    }
    return processHandle(
      child,
      pid,
      (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
      stopProxy,
    );
  }

  /** The egress proxy of one sandbox: its own socket in a fresh private folder (unix socket paths are short). */
  private allowListOf(spec: SandboxSpec): AllowList {
    if (this.egress === undefined)
      throw validationFailed(['network.outbound.allow_host: this server runs sandboxes without an egress policy, so allow-lists cannot be enforced'], 'The sandbox profile is refused');
    try {
      return new AllowList(spec.profile.network.outbound.allow_host ?? []);
    } catch (e) {
      throw validationFailed([`network.outbound.allow_host: ${e instanceof Error ? e.message : String(e)}`], 'The sandbox profile is refused');
    }
  }

  private async startProxy(spec: SandboxSpec, allow: AllowList): Promise<{ proxy: EgressProxy; dir: string }> {
    const egress = this.egress;
    if (egress === undefined) throw new Error('unreachable: allowListOf checked the egress policy');
    const outbound = spec.profile.network.outbound;
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'agentry-egress-')));
    try {
      const proxy = await EgressProxy.start({ policy: egress, allow, allowPorts: outbound.allow_port ?? [], socketPath: join(dir, 'proxy.sock') });
      return { proxy, dir };
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw unavailable(`Could not start the sandbox's egress proxy: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
