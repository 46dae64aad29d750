/**
 * The process sandbox port: how the core asks for a command to run isolated from the host, without
 * knowing how (bubblewrap on Linux today: `src/adapters/sandbox/bubblewrap.ts`). Used by MCP workloads
 * and the agent runtime's tools.
 *
 * A profile has ToolHive's permission-profile shape (`toolhive-core/permissions`): `read` and `write`
 * mounts (`host` or `host:container`, absolute) and an outbound network rule: none (the default), an
 * allow-list (`allow_host`, optionally `allow_port`) served through a local egress proxy the sandbox
 * reaches over a bind-mounted unix socket (`HTTP_PROXY`/`HTTPS_PROXY` are set for the process; nothing
 * else leaves the sandbox), or all (`insecure_allow_all`: the host's network, loopback included).
 * See `validateSandboxSpec` in `./profile.ts` and docs/sandbox.md.
 */
export interface SandboxProfile {
  /** Mounts the process may read: `host` or `host:container`, absolute paths. */
  read: string[];
  /** Mounts the process may read and write: `host` or `host:container`, absolute paths. */
  write: string[];
  network: {
    outbound: {
      /** All outbound network, the host's own network namespace included (loopback too). */
      insecure_allow_all?: boolean;
      /**
       * Hosts the process may reach through the egress proxy: `host`, `host:port`, `*.domain`, IP
       * addresses, CIDR blocks, or `*` (any host the server's egress policy allows). HTTP(S) clients
       * that honour `HTTP_PROXY`/`HTTPS_PROXY` only: there is no other route out.
       */
      allow_host?: string[];
      /** With `allow_host`: only these ports. */
      allow_port?: number[];
    };
  };
}

/** What to run and how. */
export interface SandboxSpec {
  /** An absolute path, or a name looked up on the sandbox's PATH. */
  command: string;
  args: string[];
  /** The whole environment of the process: nothing of the server's own is passed on. */
  env: Record<string, string>;
  /** Working directory inside the sandbox (absolute; default `/tmp`). */
  cwd?: string;
  profile: SandboxProfile;
}

/** A running sandboxed process. Killing it kills everything it started. */
export interface SandboxedProcess {
  /** The host PID of the sandbox's supervisor (killing it ends the whole sandbox). */
  readonly pid: number;
  readonly stdin: NodeJS.WritableStream;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** Resolves when the process tree has ended: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Sends a signal (default SIGTERM) to the sandbox. */
  kill(signal?: NodeJS.Signals): void;
}

/** Whether sandboxing works on this machine, in words a server can print at start. */
export interface SandboxProbe {
  available: boolean;
  /** e.g. `bubblewrap 0.8.0`, when available. */
  version?: string;
  /** Why not, when not available (what is missing and how to install it). */
  reason?: string;
}

export interface Sandbox {
  probe(): Promise<SandboxProbe>;
  /**
   * Starts `spec` in the sandbox. Rejects with a `validation_failed` AgentryError (before anything is
   * spawned) when the profile or spec is unsafe or unsupported, `unavailable` when the sandbox cannot run.
   */
  spawn(spec: SandboxSpec): Promise<SandboxedProcess>;
}
