import { accessSync, constants, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isEgressError } from '../egress/egress-policy.js';
import type { EgressPolicy } from '../egress/index.js';
import type { Sandbox, SandboxedProcess, SandboxProfile, SandboxSpec } from '../../core/sandbox/sandbox.js';
import type { LaunchPlan, McpNotification, McpResult, McpUpstream, RuntimeCapabilities, WorkloadLauncher } from '../../core/workloads/workload-runtime.js';
import { NPM_PACKAGE_NAME, NPM_PACKAGE_VERSION } from '../../core/workloads/workload.js';
import { npmInstallThroughEgress, configuredNpmRegistry } from './npm-install.js';
import { ProcessTransport } from './process-transport.js';
import { mcpClientSdk } from '../mcp-client/sdk.js';
import { runInGroup } from './run-in-group.js';

export { runInGroup } from './run-in-group.js';

export interface LauncherOptions {
  /** The bubblewrap sandbox (or, with `unsafeLocal` and no bubblewrap, the unsandboxed runner). */
  sandbox: Sandbox;
  /** Used when `sandbox` is unavailable and the operator allowed it (`--unsafe-local-workloads`). */
  unsandboxed?: Sandbox;
  unsafeLocal: boolean;
  /** Where npm packages are installed (one folder per package and version). */
  packagesDir: string;
  /** The egress policy's fetch, for remote workloads. */
  fetch: typeof globalThis.fetch;
  /** The egress policy npm installs go through (via a local egress proxy allowing only the registry). */
  egress: EgressPolicy;
  /** The npm registry packages are installed from (`--workload-npm-registry`); else npm's configured one. */
  npmRegistry?: string;
  /** npm's cache folder; npm's default when unset. */
  npmCache?: string;
  /** The server's PATH, to find uvx, podman, docker and npm. */
  path?: string;
}

const CLIENT_INFO = { name: 'agentry-workload-proxy', version: '1' };
/** What a launch whose signal aborted rejects with. */
const STOPPED = 'the start was stopped';

/** One npm install (or npm registry lookup), shared by the starts waiting for it; stopped when the last of them stops waiting. */
interface NpmInstall {
  done: Promise<string>;
  waiting: number;
  stop: AbortController;
}

/** A promise that rejects when `signal` aborts (at once when it has), and a way to stop listening. */
const abortion = (signal: AbortSignal | undefined): { rejected: Promise<never>; forget(): void } => {
  if (!signal) return { rejected: new Promise<never>(() => undefined), forget: () => undefined };
  let onAbort = (): void => undefined;
  const rejected = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(STOPPED));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // Its rejection is handled by whoever races it; left alone after `forget`, it never settles.
  rejected.catch(() => undefined);
  return { rejected, forget: () => signal.removeEventListener('abort', onAbort) };
};
/** How long a stopping process gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

const which = (cmd: string, path: string): string | undefined => {
  for (const dir of path.split(delimiter)) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
};

/**
 * Starts workloads: local ones (an explicit command, an npm package run with node, a PyPI package
 * with uvx) in the sandbox per their permission profile; OCI images with podman or docker; remote
 * ones over Streamable HTTP or SSE through the egress policy. Each gets an MCP client
 * (`@modelcontextprotocol/sdk`) that completes `initialize` before `launch` resolves.
 */
export class ProcessLauncher implements WorkloadLauncher {
  private readonly installs = new Map<string, NpmInstall>();
  /** npm's configured registry, looked up (see npmRegistry). */
  private registry: NpmInstall | undefined;
  private readonly path: string;

  constructor(private readonly opts: LauncherOptions) {
    this.path = opts.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  }

  async capabilities(): Promise<RuntimeCapabilities> {
    const sandbox = await this.opts.sandbox.probe();
    let containerEngine: string | undefined;
    for (const engine of ['podman', 'docker']) {
      const bin = which(engine, this.path);
      if (bin && (await runInGroup(bin, ['info'], { timeoutMs: 5_000 })).ok) {
        containerEngine = engine;
        break;
      }
    }
    return { sandbox, unsafeLocal: this.opts.unsafeLocal, uv: which('uvx', this.path) !== undefined, containerEngine };
  }

  async launch(plan: LaunchPlan, log: (line: string) => void, initTimeoutMs: number, onNotification?: (notification: McpNotification) => void, signal?: AbortSignal): Promise<McpUpstream> {
    signal?.throwIfAborted();
    const source = plan.source;
    if (source.kind === 'remote') {
      const url = new URL(source.url);
      // The SDK adds `requestInit.headers` to every request of both transports, the SSE stream's GET
      // included (also spreading them in an `eventSourceInit.fetch` doubled each header's value).
      const requestInit = { headers: plan.headers };
      const fetch = remoteFetch(this.opts.fetch, url);
      const { SSEClientTransport, StreamableHTTPClientTransport } = await mcpClientSdk();
      const transport: Transport = source.transport === 'sse' ? new SSEClientTransport(url, { fetch, requestInit }) : new StreamableHTTPClientTransport(url, { fetch, requestInit });
      return this.connect(transport, undefined, initTimeoutMs, log, onNotification, signal);
    }
    const proc = await this.spawn(plan, log, signal);
    return this.connect(new ProcessTransport(proc, log), proc, initTimeoutMs, log, onNotification, signal);
  }

  private async sandboxFor(): Promise<Sandbox> {
    const probe = await this.opts.sandbox.probe();
    if (probe.available) return this.opts.sandbox;
    if (this.opts.unsafeLocal && this.opts.unsandboxed) return this.opts.unsandboxed;
    throw new Error(`the sandbox is unavailable (${probe.reason ?? 'unknown'}) and unsafe local workloads are not allowed`);
  }

  private profileOf(plan: LaunchPlan): SandboxProfile {
    const p = plan.profile;
    if (!plan.networkIsolation) return { read: p.read, write: p.write, network: { outbound: { insecure_allow_all: true } } };
    return { read: p.read, write: p.write, network: { outbound: { ...p.network.outbound } } };
  }

  private async spawn(plan: LaunchPlan, log: (line: string) => void, signal: AbortSignal | undefined): Promise<SandboxedProcess> {
    const source = plan.source;
    if (source.kind === 'oci') {
      const engine = (await this.capabilities()).containerEngine;
      if (!engine) throw new Error('no container engine (podman or docker) answers');
      const envArgs = Object.keys(plan.env).flatMap((k) => ['-e', k]);
      const net = plan.networkIsolation && !plan.profile.network.outbound.insecure_allow_all ? ['--network', 'none'] : [];
      const mounts = [...plan.profile.read.map((m) => ['-v', `${m.includes(':') ? m : `${m}:${m}`}:ro`]), ...plan.profile.write.map((m) => ['-v', m.includes(':') ? m : `${m}:${m}`])].flat();
      const { UnsandboxedRunner } = await import('../sandbox/unsandboxed.js');
      return new UnsandboxedRunner().spawn({
        command: which(engine, this.path)!,
        args: ['run', '-i', '--rm', '--init', ...net, ...mounts, ...envArgs, source.image, ...source.args],
        env: plan.env,
        profile: { read: [], write: [], network: { outbound: {} } },
      });
    }
    const sandbox = await this.sandboxFor();
    const profile = this.profileOf(plan);
    let spec: SandboxSpec;
    if (source.kind === 'command') {
      spec = { command: source.command, args: source.args, env: plan.env, profile };
    } else if (source.kind === 'npm') {
      const { dir, bin } = await this.installNpm(source.package, source.version, log, signal);
      spec = { command: process.execPath, args: [bin, ...source.args], env: plan.env, profile: { ...profile, read: [...profile.read, dir] } };
    } else if (source.kind === 'pypi') {
      const uvx = which('uvx', this.path);
      if (!uvx) throw new Error('uvx is not installed');
      spec = {
        command: uvx,
        args: [`${source.package}${source.version === 'latest' ? '' : `==${source.version}`}`, ...source.args],
        env: plan.env,
        profile: { ...profile, read: [...profile.read, dirname(realpathSync(uvx))] },
      };
    } else {
      throw new Error('a remote workload has no process');
    }
    if (signal?.aborted) throw new Error(STOPPED);
    return sandbox.spawn(spec);
  }

  /**
   * Installs an npm package once into its own folder (scripts off), outside the sandbox; its bin file.
   * Starts of one package share its install; aborting `signal` stops this one waiting, and the last
   * to stop waiting stops the install (its npm killed) and waits for it to be gone.
   */
  installNpm(pkg: string, version: string, log: (line: string) => void, signal?: AbortSignal): Promise<{ dir: string; bin: string }> {
    if (!NPM_PACKAGE_NAME.test(pkg) || !NPM_PACKAGE_VERSION.test(version)) return Promise.reject(new Error(`'${pkg}@${version}' is not an npm package name and version`));
    const dir = resolve(this.opts.packagesDir, `${pkg.replace('/', '+')}@${version}`);
    const key = dir;
    let install = this.installs.get(key);
    if (!install || install.stop.signal.aborted) {
      // One being stopped is let end first: both would write the same folder.
      const previous = install?.done.catch(() => undefined);
      const stop = new AbortController();
      const done = (async () => {
        await previous;
        stop.signal.throwIfAborted();
        if (existsSync(join(dir, 'node_modules', pkg, 'package.json'))) return dir;
        const tmp = `${dir}.tmp-${process.pid}`;
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(tmp, { recursive: true });
        const npm = which('npm', `${dirname(process.execPath)}${delimiter}${this.path}`);
        if (!npm) throw new Error('npm is not installed on the server');
        const env = { PATH: `${dirname(process.execPath)}${delimiter}${this.path}`, HOME: process.env.HOME ?? tmp };
        const registry = await this.npmRegistry(npm, env, stop.signal);
        log(`[agentry] installing ${pkg}@${version} from ${registry}`);
        try {
          await npmInstallThroughEgress(`${pkg}@${version}`, tmp, { npm, env, egress: this.opts.egress, registry, cacheDir: this.opts.npmCache, timeoutMs: 300_000, log, signal: stop.signal });
        } catch (e) {
          rmSync(tmp, { recursive: true, force: true });
          throw e;
        }
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
        return dir;
      })();
      const started: NpmInstall = { done, waiting: 0, stop };
      this.installs.set(key, started);
      done.catch(() => {
        if (this.installs.get(key) === started) this.installs.delete(key);
      });
      install = started;
    }
    return this.waitFor(install, signal).then((d) => ({ dir: d, bin: binOf(d, pkg) }));
  }

  /**
   * The registry installs use: the operator's, else npm's configured one, looked up once for every
   * install (a lookup that was stopped is made again by the next). Like an install, the lookup is
   * shared by the installs waiting for it and stopped (npm killed) when the last stops waiting.
   */
  private npmRegistry(npm: string, env: { PATH: string; HOME: string }, signal: AbortSignal): Promise<string> {
    if (this.opts.npmRegistry !== undefined) return Promise.resolve(this.opts.npmRegistry);
    if (!this.registry || this.registry.stop.signal.aborted) {
      const stop = new AbortController();
      this.registry = { done: configuredNpmRegistry(npm, env, stop.signal), waiting: 0, stop };
      this.registry.done.catch(() => undefined);
    }
    return this.waitFor(this.registry, signal);
  }

  /** Waits for an install, or until `signal` aborts; the last one waiting to abort stops the install and waits for it to end. */
  private async waitFor(install: NpmInstall, signal: AbortSignal | undefined): Promise<string> {
    install.waiting++;
    const aborted = abortion(signal);
    try {
      return await Promise.race([install.done, aborted.rejected]);
    } catch (e) {
      if (signal?.aborted && install.waiting === 1) {
        install.stop.abort();
        await install.done.catch(() => undefined);
      }
      throw e;
    } finally {
      aborted.forget();
      install.waiting--;
    }
  }

  private async connect(
    transport: Transport,
    proc: SandboxedProcess | undefined,
    initTimeoutMs: number,
    log: (line: string) => void,
    onNotification: ((notification: McpNotification) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<McpUpstream> {
    const { Client, ProgressNotificationSchema, ResultSchema } = await mcpClientSdk();
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    // Cancellation is the SDK's own (an aborted signal). Progress is routed here by token, not with
    // the SDK's `onprogress`: the SDK handles a notification a microtask late but a response at once,
    // so when a server's last progress and its answer arrive in one read, `onprogress` is already
    // gone and that progress is lost. Routed here, it is passed on before the answer is.
    const progressRoutes = new Map<string, (progress: Record<string, unknown>) => void>();
    let nextToken = 0;
    client.setNotificationHandler(ProgressNotificationSchema, (n) => {
      const { progressToken, ...progress } = n.params;
      progressRoutes.get(String(progressToken))?.(progress);
    });
    // Every other notification is passed on.
    client.fallbackNotificationHandler = async (n) => onNotification?.({ method: n.method, ...(n.params ? { params: n.params as Record<string, unknown> } : {}) });
    const ended = new Promise<string>((resolveEnded) => {
      if (proc) {
        void proc.exited.then(({ code, signal }) => resolveEnded(signal ? `the process was killed by ${signal}` : `the process exited with code ${code}`));
      }
      client.onclose = () => resolveEnded('the connection to the server closed');
    });
    client.onerror = (e) => log(`[agentry] transport error: ${e.message.slice(0, 500)}`);
    const close = async (): Promise<void> => {
      if (proc) {
        proc.stdin.end();
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), KILL_GRACE_MS);
        await proc.exited;
        clearTimeout(timer);
      }
      await client.close().catch(() => undefined);
    };
    // A stop meanwhile kills the process at once rather than after `initialize` (up to its timeout).
    const aborted = abortion(signal);
    try {
      const exitedEarly = proc
        ? proc.exited.then(({ code, signal: killedBy }) => {
            throw new Error(`the process ended before initialize (${killedBy ?? `exit code ${code}`}); see the workload's logs`);
          })
        : new Promise<never>(() => undefined);
      await Promise.race([client.connect(transport, { timeout: initTimeoutMs }), exitedEarly, aborted.rejected]);
    } catch (e) {
      await close();
      throw e;
    } finally {
      aborted.forget();
    }
    const caps = client.getServerCapabilities() ?? {};
    const info = client.getServerVersion() ?? { name: 'unknown', version: '0' };
    return {
      pid: proc?.pid,
      capabilities: caps as Record<string, unknown>,
      serverInfo: info,
      instructions: client.getInstructions(),
      request: async (method, params, timeoutMs, options): Promise<McpResult> => {
        const onProgress = options?.onProgress;
        const token = onProgress ? `agentry-${++nextToken}` : undefined;
        const meta = params?._meta;
        const sent = token === undefined ? params : { ...params, _meta: { ...(typeof meta === 'object' && meta !== null ? meta : {}), progressToken: token } };
        if (token !== undefined && onProgress) progressRoutes.set(token, onProgress);
        try {
          return (await client.request({ method, params: sent }, ResultSchema, { timeout: timeoutMs, signal: options?.signal })) as McpResult;
        } finally {
          if (token !== undefined) progressRoutes.delete(token);
        }
      },
      ended,
      close,
    };
  }
}

/**
 * The egress policy's fetch for one remote workload, saying when the policy refused it (its status
 * says why, not only that the upstream could not be reached). Said only for an address written in the
 * URL: for a name, whether it resolves to a refused address is the internal DNS's business.
 */
const remoteFetch =
  (egressFetch: typeof globalThis.fetch, url: URL): typeof globalThis.fetch =>
  async (input, init) => {
    try {
      return await egressFetch(input, init);
    } catch (e) {
      if (!isEgressError(e)) throw e;
      // WHATWG URLs write every IPv4 form as a dotted quad and IPv6 in brackets.
      if (/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname.startsWith('['))
        throw new Error(e.refused ? `the egress policy refuses ${url.host} (allow it with --egress-allow)` : `${e.message}: ${url.host} did not answer`, { cause: e });
      throw new Error(`${e.message}: ${url.host} did not answer, or the egress policy refuses the address its name resolves to (see --egress-allow)`, { cause: e });
    }
  };

/** The file a package's `bin` names (the one named like the package, else the first). */
const binOf = (dir: string, pkg: string): string => {
  const root = join(dir, 'node_modules', pkg);
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin?: string | Record<string, string>; main?: string };
  let rel: string | undefined;
  if (typeof manifest.bin === 'string') rel = manifest.bin;
  else if (manifest.bin) rel = manifest.bin[pkg.split('/').pop()!] ?? Object.values(manifest.bin)[0];
  rel ??= manifest.main ?? 'index.js';
  const file = resolve(root, rel);
  if (!file.startsWith(`${root}/`)) throw new Error(`${pkg}'s bin points outside the package`);
  return file;
};
