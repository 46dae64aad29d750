import { createHash } from 'node:crypto';
import { Supervisor, type SupervisorTimings } from './supervisor.js';
import type { LaunchPlan, McpRequestOptions, McpResult, WorkloadLauncher, WorkloadLogs } from './workload-runtime.js';
import { PendingWork } from '../pending-work.js';

/** How long a shared workload nobody uses keeps running (default 60 s). */
export const SHARED_IDLE_STOP_MS = 60_000;

export interface SharedWorkloadsDeps {
  launcher: WorkloadLauncher;
  /** Their own logs (not the ToolHive workloads' folder: a workload name there could read them). */
  logs: WorkloadLogs;
  timings: SupervisorTimings;
  now(): string;
  /** How long one nobody uses keeps running. */
  idleStopMs?: number;
  /** How long a request may take (default 5 min). */
  requestTimeoutMs?: number;
}

/** One user's hold on a running shared workload. */
export interface SharedWorkloadLease {
  /** The name its logs are kept under. */
  readonly name: string;
  request(method: string, params: Record<string, unknown> | undefined, options?: McpRequestOptions): Promise<McpResult>;
  /** Lets go; the last one to let go starts the idle timer. Idempotent. */
  release(): void;
}

interface Entry {
  name: string;
  supervisor: Supervisor;
  ready: Promise<boolean>;
  users: number;
  /** The last status context (why a start failed). */
  context: string;
  /** The first start has come up. */
  up: boolean;
  idle?: NodeJS.Timeout;
}

/**
 * Workloads that exist only while something uses them (the MCP servers of agent.yaml packages run
 * by sessions, docs/run.md): one per key, started on first use under a {@link Supervisor} (the same
 * health checks and back-off as every workload; `plan` is called at each start, so secrets are read
 * then), shared by every lease of that key, stopped when the last lease has been released for
 * `idleStopMs`. Not stored: a server restart forgets them, and the next use starts them again.
 */
export class SharedWorkloads {
  private readonly entries = new Map<string, Entry>();
  /** Entries let go of whose process is still ending (a shutdown waits for them). */
  private readonly stopping = new PendingWork();

  constructor(private readonly deps: SharedWorkloadsDeps) {}

  /** The log name of a key: `shared-<hash>` (the key names accounts and vaults; the name does not). */
  static nameOf(key: string): string {
    return `shared-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
  }

  /** Holds the workload of `key`, starting it when none runs; rejects with why its start failed. */
  async acquire(key: string, plan: () => Promise<LaunchPlan>): Promise<SharedWorkloadLease> {
    let entry = this.entries.get(key);
    // One that came up and has since died (gave up, or waits to restart) is replaced by a fresh start.
    if (entry?.up && !entry.supervisor.connection && entry.supervisor.status !== 'starting') {
      this.entries.delete(key);
      clearTimeout(entry.idle);
      this.stop(entry);
      entry = undefined;
    }
    if (!entry) {
      const name = SharedWorkloads.nameOf(key);
      const created: Entry = { name, users: 0, context: '', up: false, ready: Promise.resolve(false), supervisor: undefined as unknown as Supervisor };
      created.supervisor = new Supervisor(
        name,
        {
          launcher: this.deps.launcher,
          plan: async () => ({ ...(await plan()), name }),
          log: (line) => this.deps.logs.append(name, 'server', line),
          onStatus: (status, context) => {
            if (context) created.context = context.replace(/; (restarting in|gave up after) .*$/, '');
            this.deps.logs.append(name, 'proxy', JSON.stringify({ time: this.deps.now(), event: 'status', status, context: context || undefined }));
          },
          now: () => this.deps.now(),
        },
        this.deps.timings,
      );
      created.ready = created.supervisor.start().then((ok) => (created.up = ok));
      this.entries.set(key, created);
      entry = created;
    }
    const held = entry;
    held.users++;
    clearTimeout(held.idle);
    held.idle = undefined;
    if (!(await held.ready)) {
      held.users--;
      // A first start that failed is not retried in the background: the next use tries again.
      if (this.entries.get(key) === held) {
        this.entries.delete(key);
        this.stop(held);
      }
      throw new Error(held.context || 'the server did not start');
    }
    let released = false;
    const timeout = this.deps.requestTimeoutMs ?? 300_000;
    return {
      name: held.name,
      request: (method, params, options) => {
        const up = held.supervisor.connection;
        if (!up) return Promise.reject(new Error(`the server is not running (${held.supervisor.status}${held.context ? `: ${held.context}` : ''})`));
        return up.request(method, params, timeout, options);
      },
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0 || this.entries.get(key) !== held) return;
        held.idle = setTimeout(() => {
          if (held.users > 0 || this.entries.get(key) !== held) return;
          this.entries.delete(key);
          this.stop(held);
        }, this.deps.idleStopMs ?? SHARED_IDLE_STOP_MS);
        held.idle.unref();
      },
    };
  }

  /** Whether the workload of `key` is running now (held or idle). */
  running(key: string): boolean {
    return this.entries.get(key)?.supervisor.status === 'running';
  }

  /** Ends every process (server stop). */
  async shutdown(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) clearTimeout(e.idle);
    await Promise.all([...all.map((e) => e.supervisor.halt()), this.stopping.settled()]);
  }

  /** Stops an entry no longer in the map, tracked until its process has ended. */
  private stop(entry: Entry): void {
    void this.stopping.track(entry.supervisor.stop());
  }
}
