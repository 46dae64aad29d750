import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest, isAgentryError, validationFailed } from '../../core/errors.js';
import type { Sandbox, SandboxedProcess, SandboxProfile } from '../../core/sandbox/sandbox.js';
import {
  BASH_DEFAULT_TIMEOUT_MS,
  BASH_MAX_TIMEOUT_MS,
  builtinTool,
  checkToolInput,
  errorResult,
  isBuiltinToolName,
  textResult,
  type ResolvedBuiltinTool,
  type SessionToolbox,
  type ToolboxSpec,
  type ToolNetwork,
  type ToolResult,
  type ToolRuntime,
  type ToolRuntimeStatus,
  type ToolUse,
} from '../../core/tools/builtin-toolset.js';
import { AllowList } from '../egress/index.js';
import { processHandle } from '../sandbox/process-handle.js';
import { BashShell, type ShellOutcome } from './bash-shell.js';
import { editTool, globTool, grepTool, readTool, writeTool } from './file-tools.js';
import { webFetchTool } from './web-fetch.js';
import { PathRefused, Workspace, WORKDIR } from './workspace.js';

/**
 * The built-in toolset on this machine (the `ToolRuntime` of `src/core/tools/builtin-toolset.ts`):
 * workspaces under `baseDir` (`<data dir>/workspaces/<session id>`), bash in the process sandbox
 * (bubblewrap; network none, or an allow-list / any public host through the sandbox's egress proxy),
 * the file tools in-process confined to the workspace, web_fetch through the egress policy's fetch.
 *
 * Without a working sandbox, bash is refused with the reason, unless the operator started the server
 * with `--unsafe-local-tools`: then bash runs as the server's own user in the workspace folder, with
 * no isolation of files, processes or network (for a developer's own machine only).
 */
export interface LocalToolRuntimeOptions {
  /** Where session workspaces live: `<data dir>/workspaces`. */
  baseDir: string;
  /** The process sandbox (bubblewrap, given the server's egress policy so allow-lists work). */
  sandbox: Sandbox;
  /** The egress policy's fetch (web_fetch). */
  fetch: typeof globalThis.fetch;
  /** Run bash without a sandbox when none works (`--unsafe-local-tools`). */
  unsafeLocalTools?: boolean;
}

const SHELL_ENV = { LANG: 'C.UTF-8', TERM: 'dumb', PS1: '', PS2: '', HOME: WORKDIR };

/** bash straight on the host, in its own process group so a kill reaches everything it started. */
const spawnLocalShell = async (cwd: string): Promise<SandboxedProcess> => {
  const child = spawn('/bin/bash', ['--noprofile', '--norc'], {
    cwd,
    env: { ...SHELL_ENV, HOME: cwd, PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid as number;
  return processHandle(child, pid, (signal) => {
    try {
      process.kill(-pid, signal);
    } catch {
      child.kill(signal);
    }
  });
};

const networkProfile = (n: ToolNetwork): SandboxProfile['network'] => {
  if (n.type === 'limited') return { outbound: { allow_host: n.allowedHosts } };
  if (n.type === 'unrestricted') return { outbound: { allow_host: ['*'] } };
  return { outbound: {} };
};

const describeEnd = (o: ShellOutcome): string => {
  const e = o.ended;
  if (!e) return '';
  if (e.type === 'timeout') {
    return `[bash: timed out after ${e.ms} ms: the command and every process it started were killed. The next call starts a new shell (working directory and variables are reset).]`;
  }
  if (e.type === 'aborted') return '[bash: interrupted: the command and every process it started were killed. The next call starts a new shell.]';
  return `[bash: the shell exited (${e.signal ? `signal ${e.signal}` : `code ${e.code}`}). The next call starts a new shell.]`;
};

class LocalToolbox implements SessionToolbox {
  private shell: BashShell | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly sessionId: string,
    readonly tools: readonly ResolvedBuiltinTool[],
    private readonly ws: Workspace,
    private readonly network: ToolNetwork,
    private readonly runtime: LocalToolRuntime,
    private readonly opts: LocalToolRuntimeOptions,
  ) {}

  async execute(use: ToolUse, o: { signal?: AbortSignal } = {}): Promise<ToolResult> {
    try {
      const name = use?.name;
      if (!isBuiltinToolName(name)) return errorResult(`${String(name)}: no such built-in tool (available: ${this.tools.map((t) => t.name).join(', ') || 'none'})`);
      const tool = builtinTool(this.tools, name);
      if (!tool) return errorResult(`${name}: this tool is disabled for this agent`);
      const checked = checkToolInput(name, use.input);
      if (!checked.ok) return errorResult(checked.message);
      const input = checked.value;
      switch (name) {
        case 'bash':
          return await this.serial(() => this.bash(input, o.signal));
        case 'read':
          return await readTool(this.ws, input);
        case 'write':
          return await writeTool(this.ws, input);
        case 'edit':
          return await editTool(this.ws, input);
        case 'glob':
          return await globTool(this.ws, input, o.signal);
        case 'grep':
          return await grepTool(this.ws, input, o.signal);
        case 'web_fetch':
          return await webFetchTool(this.opts.fetch, tool.webFetch ?? {}, input, o.signal);
      }
    } catch (e) {
      // A tool failing in a way none of the above foresaw: still a result, never a thrown turn.
      return errorResult(`${String(use?.name)}: failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async collect(path: string): Promise<Array<{ path: string; content: Uint8Array }>> {
    let resolved;
    try {
      resolved = await this.ws.resolve(path, 'read');
    } catch (e) {
      throw e instanceof PathRefused ? badRequest(e.message) : e;
    }
    const { host, mount } = resolved;
    if (mount.kind !== 'directory' || !mount.writable || mount.path !== resolved.path) throw badRequest(`${path} is not a writable folder of the workspace (a mount or /mnt/session/outputs)`);
    const entries = await readdir(host, { recursive: true, withFileTypes: true });
    const out: Array<{ path: string; content: Uint8Array }> = [];
    for (const e of entries) {
      if (!e.isFile()) continue; // symlinks, sockets and folders are left out
      const full = join(e.parentPath, e.name);
      out.push({ path: full.slice(host.length + 1), content: await readFile(full) });
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  async close(): Promise<void> {
    const shell = this.shell;
    this.shell = undefined;
    if (shell?.alive) {
      shell.kill();
      await Promise.race([shell.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async bash(input: Record<string, unknown>, signal?: AbortSignal): Promise<ToolResult> {
    const command = input.command as string | undefined;
    const timeout = (input.timeout_ms as number | undefined) || BASH_DEFAULT_TIMEOUT_MS;
    if (timeout < 0 || timeout > BASH_MAX_TIMEOUT_MS) return errorResult(`bash: timeout_ms must be from 1 to ${BASH_MAX_TIMEOUT_MS} (or 0 for the default ${BASH_DEFAULT_TIMEOUT_MS})`);
    if (input.restart === true) await this.close();
    if (command === undefined || command.trim() === '') {
      return input.restart === true ? textResult('bash: the shell was restarted') : errorResult('bash: command is required (or restart: true to restart the shell)');
    }
    if (!this.shell?.alive) {
      const started = await this.startShell();
      if (typeof started === 'string') return errorResult(started);
      this.shell = started;
    }
    const outcome = await this.shell.run(command, timeout, signal);
    if (!this.shell.alive) this.shell = undefined;
    const parts = [outcome.output || '(no output)'];
    if (outcome.ended) {
      parts.push(describeEnd(outcome));
      const clean = outcome.ended.type === 'shell_exited' && outcome.ended.code === 0;
      return textResult(parts.join('\n'), !clean);
    }
    if (outcome.exitCode !== 0) parts.push(`[exit code: ${outcome.exitCode}]`);
    return textResult(parts.join('\n'), outcome.exitCode !== 0);
  }

  /** A new shell in the sandbox (or on the host when allowed); a message for the model when it cannot start. */
  private async startShell(): Promise<BashShell | string> {
    const status = await this.runtime.status();
    if (status.bash === 'unavailable') return `bash: ${status.message}`;
    if (status.bash === 'unsafe') return new BashShell(await spawnLocalShell(join(this.ws.root, WORKDIR)));
    const profile: SandboxProfile = {
      read: this.ws.mounts.filter((m) => !m.writable).map((m) => `${m.host}:${m.path}`),
      write: this.ws.mounts.filter((m) => m.writable).map((m) => `${m.host}:${m.path}`),
      network: networkProfile(this.network),
    };
    try {
      const proc = await this.opts.sandbox.spawn({ command: '/bin/bash', args: ['--noprofile', '--norc'], env: SHELL_ENV, cwd: WORKDIR, profile });
      return new BashShell(proc);
    } catch (e) {
      const details = isAgentryError(e) && e.details.length > 0 ? `: ${e.details.join('; ')}` : '';
      return `bash: the sandbox could not start (${e instanceof Error ? e.message : String(e)}${details})`;
    }
  }
}

export class LocalToolRuntime implements ToolRuntime {
  private probed: Promise<ToolRuntimeStatus> | undefined;

  constructor(private readonly opts: LocalToolRuntimeOptions) {}

  /** Probes the sandbox once; the answer is kept for the life of the server. */
  status(): Promise<ToolRuntimeStatus> {
    this.probed ??= this.opts.sandbox.probe().then((p): ToolRuntimeStatus => {
      if (p.available) return { bash: 'sandboxed', message: `bash runs sandboxed (${p.version ?? 'bubblewrap'})` };
      if (this.opts.unsafeLocalTools) {
        return {
          bash: 'unsafe',
          message: `WARNING: no sandbox (${p.reason}); --unsafe-local-tools is set, so bash runs as this server's user in the session folder, with no isolation of files, processes or network`,
        };
      }
      return {
        bash: 'unavailable',
        message: `bash is unavailable: ${p.reason}. Install bubblewrap, or start the server with --unsafe-local-tools to run bash without isolation (trusted agents only)`,
      };
    });
    return this.probed;
  }

  async open(spec: ToolboxSpec): Promise<SessionToolbox> {
    if (spec.networking.type === 'limited') {
      try {
        new AllowList(spec.networking.allowedHosts);
      } catch (e) {
        throw validationFailed([`networking.allowed_hosts: ${e instanceof Error ? e.message : String(e)}`], 'The workspace is refused');
      }
    }
    const ws = await Workspace.open(this.opts.baseDir, spec.sessionId, spec.mounts ?? []);
    return new LocalToolbox(spec.sessionId, spec.tools, ws, spec.networking, this, this.opts);
  }

  destroy(sessionId: string): Promise<void> {
    return Workspace.destroy(this.opts.baseDir, sessionId);
  }
}
