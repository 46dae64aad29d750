import type { SandboxProbe } from '../sandbox/sandbox.js';
import type { PermissionProfile, WorkloadSource } from './workload.js';

/**
 * What the core asks of the machine to run a workload (implemented in `src/adapters/workloads/`):
 * start the server (sandboxed, or reach it when remote), speak MCP to it, keep its logs.
 */

/** Everything needed to start one workload once; secret values are resolved into `env` / `headers` here and go nowhere else. */
export interface LaunchPlan {
  name: string;
  source: WorkloadSource;
  env: Record<string, string>;
  headers: Record<string, string>;
  profile: PermissionProfile;
  /** Apply the profile's network rules (false: the host's network). */
  networkIsolation: boolean;
}

/** The result of an MCP request: the JSON-RPC `result` object. */
export type McpResult = Record<string, unknown>;

/** An MCP notification (JSON-RPC without an id), as the server or client sent it. */
export interface McpNotification {
  method: string;
  params?: Record<string, unknown>;
}

/** Per-request options of an upstream request. */
export interface McpRequestOptions {
  /** Aborting it sends MCP `notifications/cancelled` to the server and rejects the request. */
  signal?: AbortSignal;
  /** Asks the server for progress (a progress token of the upstream's own) and receives each `notifications/progress` params (without the token). */
  onProgress?: (progress: Record<string, unknown>) => void;
}

/**
 * A live MCP connection to a started workload, already initialized (`initialize` answered). For a
 * local workload it also owns the process: closing it ends the process.
 */
export interface McpUpstream {
  /** The host PID of the process (its sandbox), for local workloads. */
  readonly pid: number | undefined;
  readonly capabilities: Record<string, unknown>;
  readonly serverInfo: { name: string; version: string; [k: string]: unknown };
  readonly instructions: string | undefined;
  /**
   * Sends one request; rejects after `timeoutMs`, or with the server's JSON-RPC error (an Error whose
   * `code` is the JSON-RPC code, passed on to clients as it is).
   */
  request(method: string, params: Record<string, unknown> | undefined, timeoutMs: number, options?: McpRequestOptions): Promise<McpResult>;
  /** Settles once when the connection is lost or the process ends, with why. */
  readonly ended: Promise<string>;
  /** Ends the connection (and the process: SIGTERM, then SIGKILL after a grace period). */
  close(): Promise<void>;
}

/** What this machine can run, said at start. */
export interface RuntimeCapabilities {
  sandbox: SandboxProbe;
  /** Run local workloads without the sandbox when it is missing (`--unsafe-local-workloads`). */
  unsafeLocal: boolean;
  /** `uvx` is installed (pypi packages). */
  uv: boolean;
  /** The container engine found (podman or docker, answering), if any (oci packages). */
  containerEngine: string | undefined;
}

export interface WorkloadLauncher {
  capabilities(): Promise<RuntimeCapabilities>;
  /**
   * Starts the workload and completes MCP `initialize` within `initTimeoutMs`, else kills it and
   * rejects (a server that prints garbage or never answers is refused, not waited on). Every line
   * the server writes to stderr (and every non-JSON line on stdout) goes to `log`; every notification
   * the server sends that is not tied to a request of the proxy (list changes, log messages, resource
   * updates) goes to `onNotification`. Aborting `signal` stops the start where it is (the package
   * install or the starting process is killed) and rejects once nothing of it runs any more.
   */
  launch(plan: LaunchPlan, log: (line: string) => void, initTimeoutMs: number, onNotification?: (notification: McpNotification) => void, signal?: AbortSignal): Promise<McpUpstream>;
}

export type LogStream = 'server' | 'proxy';

/** A workload's logs, kept with rotation: the server's output, and the proxy's lines (tool-call audit, lifecycle). */
export interface WorkloadLogs {
  append(name: string, stream: LogStream, line: string): void;
  /** The last `maxBytes` of the log (older rotated files first), or undefined when there is none. */
  read(name: string, stream: LogStream, maxBytes: number): Promise<string | undefined>;
  remove(name: string): Promise<void>;
  /** Releases open files (server shutdown); later appends reopen them. */
  closeFiles?(): void;
}
