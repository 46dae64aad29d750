import type { LaunchPlan, McpNotification, McpUpstream, WorkloadLauncher } from './workload-runtime.js';
import type { WorkloadStatus } from './workload.js';
import { PendingWork } from '../pending-work.js';

export interface SupervisorTimings {
  /** How long `initialize` may take (default 60 s: a first npx/uvx start can be slow). */
  initTimeoutMs: number;
  /** How long a health check's `tools/list` may take (default 15 s). */
  healthTimeoutMs: number;
  /** Time between health checks of a running workload (default 30 s). */
  healthIntervalMs: number;
  /** First restart delay, doubled on each failure in a row up to `backoffMaxMs` (defaults 1 s, 60 s). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Restarts in a row before giving up (the status stays error or unhealthy; default 5). */
  maxRestarts: number;
  /** A workload running this long has its failure count reset (default 2 min). */
  stableAfterMs: number;
}

export const DEFAULT_TIMINGS: SupervisorTimings = {
  initTimeoutMs: 60_000,
  healthTimeoutMs: 15_000,
  healthIntervalMs: 30_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  maxRestarts: 5,
  stableAfterMs: 120_000,
};

export interface SupervisorHooks {
  launcher: WorkloadLauncher;
  /** The launch plan for this start (secrets resolved now); throwing sets `error` without retrying. */
  plan(): Promise<LaunchPlan>;
  log(line: string): void;
  /** A notification the running server sent (for the proxy's sessions). */
  notify?(notification: McpNotification): void;
  /** Every status change, in order (persisted by the service). */
  onStatus(status: WorkloadStatus, context: string, startedAt?: string): void;
  now(): string;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 500);

/**
 * Keeps one workload running: starts it, checks its health (MCP `initialize`, then `tools/list`, then
 * `tools/list` every interval), restarts it with exponential back-off when it exits or stops
 * answering, and gives up after `maxRestarts` failures in a row. Each start has a generation number,
 * so a stop or restart makes whatever the previous start still awaits a no-op; it also aborts that
 * start's launch (an install or `initialize` under way), and a stop waits until its process is gone.
 */
export class Supervisor {
  private upstream: McpUpstream | undefined;
  private generation = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private firstOutcome: ((ok: boolean) => void) | undefined;
  /** Processes being started or ended (a stop or halt waits for them all, not only for the current one). */
  private readonly ending = new PendingWork();
  /** Stops the start under way (its install or its process), if any. */
  private startUnderWay: AbortController | undefined;
  status: WorkloadStatus = 'stopped';

  constructor(
    readonly name: string,
    private readonly hooks: SupervisorHooks,
    private readonly timings: SupervisorTimings,
  ) {}

  /** The live connection when running (or unhealthy but connected). */
  get connection(): McpUpstream | undefined {
    return this.upstream;
  }

  /**
   * Starts (or restarts) the workload; resolves with whether its first start came up healthy. A
   * restart ends the running process first: left to itself it would run, unsupervised and unreachable,
   * until the server's own process ends.
   */
  start(): Promise<boolean> {
    const gen = this.reset();
    this.failures = 0;
    const outcome = new Promise<boolean>((resolve) => (this.firstOutcome = resolve));
    const previous = this.upstream;
    this.upstream = undefined;
    void (async () => {
      await this.end(previous);
      if (gen === this.generation) await this.run(gen);
    })();
    return outcome;
  }

  /** Stops the workload and waits for its process to end. */
  async stop(): Promise<void> {
    this.reset();
    this.set('stopping', '');
    await this.endAll();
    this.set('stopped', '');
  }

  /** Ends the process without a status change (server shutdown: the workload comes back at the next start). */
  async halt(): Promise<void> {
    this.reset();
    await this.endAll();
  }

  /** Ends the current process and waits for every process being started or ended to be gone. */
  private async endAll(): Promise<void> {
    const up = this.upstream;
    this.upstream = undefined;
    void this.end(up);
    await this.ending.settled();
  }

  /** Ends a process, tracked until it is gone (a close that fails has nothing left to end). */
  private end(up: McpUpstream | undefined): Promise<void> {
    if (!up) return Promise.resolve();
    return this.ending.track(up.close().catch(() => undefined));
  }

  private reset(): number {
    this.startUnderWay?.abort();
    this.startUnderWay = undefined;
    clearTimeout(this.retryTimer);
    clearInterval(this.healthTimer);
    clearTimeout(this.stableTimer);
    this.settle(false);
    return ++this.generation;
  }

  private settle(ok: boolean): void {
    const f = this.firstOutcome;
    this.firstOutcome = undefined;
    f?.(ok);
  }

  private set(status: WorkloadStatus, context: string, startedAt?: string): void {
    this.status = status;
    this.hooks.onStatus(status, context, startedAt);
  }

  private async run(gen: number): Promise<void> {
    this.set('starting', this.failures > 0 ? `restart ${this.failures} of ${this.timings.maxRestarts}` : '');
    let plan: LaunchPlan;
    try {
      plan = await this.hooks.plan();
    } catch (e) {
      if (gen !== this.generation) return;
      this.hooks.log(`[agentry] cannot start: ${messageOf(e)}`);
      this.set('error', messageOf(e));
      this.settle(false);
      return;
    }
    if (gen !== this.generation) return;
    let up: McpUpstream | undefined;
    try {
      up = await this.launch(plan, gen);
    } catch (e) {
      if (gen === this.generation) this.failed('unhealthy', `MCP initialize failed: ${messageOf(e)}`);
      return;
    }
    if (!up) return;
    this.upstream = up;
    try {
      await up.request('tools/list', undefined, this.timings.healthTimeoutMs);
    } catch (e) {
      if (gen !== this.generation) return;
      this.upstream = undefined;
      await this.end(up);
      this.failed('unhealthy', `health check (tools/list) failed: ${messageOf(e)}`);
      return;
    }
    if (gen !== this.generation) return;
    this.hooks.log(`[agentry] running${up.pid ? ` (pid ${up.pid})` : ''}`);
    this.set('running', '', this.hooks.now());
    this.settle(true);
    this.stableTimer = setTimeout(() => (this.failures = 0), this.timings.stableAfterMs);
    this.stableTimer.unref();
    void up.ended.then(async (reason) => {
      if (gen !== this.generation || this.upstream !== up) return;
      this.upstream = undefined;
      clearInterval(this.healthTimer);
      clearTimeout(this.stableTimer);
      this.hooks.log(`[agentry] ended: ${reason}`);
      this.failed('error', reason);
    });
    let misses = 0;
    this.healthTimer = setInterval(() => {
      void up.request('tools/list', undefined, this.timings.healthTimeoutMs).then(
        () => {
          if (gen !== this.generation || misses === 0) return;
          misses = 0;
          this.set('running', '');
        },
        async (e: unknown) => {
          if (gen !== this.generation) return;
          misses++;
          this.hooks.log(`[agentry] health check failed (${misses} in a row): ${messageOf(e)}`);
          if (misses < 3) {
            this.set('unhealthy', `health check failed: ${messageOf(e)}`);
            return;
          }
          clearInterval(this.healthTimer);
          this.upstream = undefined;
          await this.end(up);
          if (gen === this.generation) this.failed('unhealthy', `health check failed 3 times in a row: ${messageOf(e)}`);
        },
      );
    }, this.timings.healthIntervalMs);
    this.healthTimer.unref();
  }

  /**
   * Launches the process of start `gen`, tracked with the processes being ended: a stop or halt
   * meanwhile aborts it (its install or its process is killed) and waits until nothing of it runs.
   * Undefined when another start or a stop came first (the process, if it came up, is ended).
   */
  private launch(plan: LaunchPlan, gen: number): Promise<McpUpstream | undefined> {
    const underWay = new AbortController();
    this.startUnderWay = underWay;
    const notify = (n: McpNotification): void => {
      if (gen === this.generation) this.hooks.notify?.(n);
    };
    const launched = async (): Promise<McpUpstream | undefined> => {
      try {
        const up = await this.hooks.launcher.launch(plan, (line) => this.hooks.log(line), this.timings.initTimeoutMs, notify, underWay.signal);
        if (gen === this.generation) return up;
        await up.close().catch(() => undefined);
        return undefined;
      } finally {
        if (this.startUnderWay === underWay) this.startUnderWay = undefined;
      }
    };
    return this.ending.track(launched());
  }

  /** A start failed or the workload ended: back off and start again, or give up. */
  private failed(status: WorkloadStatus, context: string): void {
    this.settle(false);
    this.failures++;
    if (this.failures > this.timings.maxRestarts) {
      this.set(status, `${context}; gave up after ${this.timings.maxRestarts} restarts (restart it to try again)`);
      return;
    }
    const delay = Math.min(this.timings.backoffMaxMs, this.timings.backoffBaseMs * 2 ** (this.failures - 1));
    this.set(status, `${context}; restarting in ${Math.ceil(delay / 1000)} s (restart ${this.failures} of ${this.timings.maxRestarts})`);
    const gen = this.generation;
    this.retryTimer = setTimeout(() => {
      if (gen === this.generation) void this.run(gen);
    }, delay);
    this.retryTimer.unref();
  }
}
