import type { CoreDeps } from '../core-deps.js';
import { PendingWork } from '../pending-work.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { Supervisor, type SupervisorTimings } from './supervisor.js';
import type { WorkloadClientEdits } from './workload-client-edits.js';
import { launchPlanOf } from './workload-launch-plan.js';
import type { LaunchPlan, McpNotification, McpUpstream, WorkloadLauncher, WorkloadLogs } from './workload-runtime.js';
import { WorkloadStatusWrites } from './workload-status.js';
import type { WorkloadStore } from './workload-store.js';
import type { WorkloadRecord, WorkloadStatus } from './workload.js';

export interface WorkloadSupervisorsDeps {
  core: CoreDeps;
  store: WorkloadStore;
  launcher: WorkloadLauncher;
  logs: WorkloadLogs;
  secrets: SecretStore;
  timings: SupervisorTimings;
  clientEdits: WorkloadClientEdits;
  /** A notification a workload's server sent (for the proxy's sessions). */
  notify(name: string, notification: McpNotification): void;
  line(event: string, fields: Record<string, unknown>): string;
  now(): string;
}

/**
 * The supervisors of the stored workloads, one per workload that runs: each status it reports is
 * logged and written in order (its clients' entries following it), and its launch plan is read at
 * each start. Stops answered before their process ended are kept until it has, for the shutdown.
 */
export class WorkloadSupervisors {
  private readonly supervisors = new Map<string, Supervisor>();
  /** Stops answered before their process ended (a shutdown waits for them). */
  private readonly stopping = new PendingWork();
  /** Status writes, one chain per workload so they land in order. */
  readonly writes: WorkloadStatusWrites;

  constructor(private readonly deps: WorkloadSupervisorsDeps) {
    this.writes = new WorkloadStatusWrites(deps.core, deps.store);
  }

  /** What the supervisor of `name` last saw, if one runs it. */
  status(name: string): WorkloadStatus | undefined {
    return this.supervisors.get(name)?.status;
  }

  /** The live connection to `name`'s process, if it runs. */
  connection(name: string): McpUpstream | undefined {
    return this.supervisors.get(name)?.connection;
  }

  /** Supervises `record` (a new supervisor, in place of any former one) and starts it; resolves with whether its first start came up healthy. */
  supervise(record: WorkloadRecord): Promise<boolean> {
    const name = record.name;
    const s = new Supervisor(
      name,
      {
        launcher: this.deps.launcher,
        plan: () => this.planFor(name),
        log: (line) => this.deps.logs.append(name, 'server', line),
        notify: (n) => this.deps.notify(name, n),
        onStatus: (status, context, startedAt) => {
          this.deps.logs.append(name, 'proxy', this.deps.line('status', { status, context: context || undefined }));
          // The proxy is up: the clients registered to its group get its entry (as ToolHive's runner
          // does) before the status says running, so a caller who sees running finds the entry written.
          const edited =
            status === 'running'
              ? this.deps.clientEdits.running(name, async () => {
                  const r = await this.deps.store.get(name);
                  return r && r.desired === 'running' && this.supervisors.get(name) === s ? r : undefined;
                })
              : undefined;
          void this.writes.write(name, status, context, startedAt, edited);
        },
        now: () => this.deps.now(),
      },
      this.deps.timings,
    );
    this.supervisors.set(name, s);
    return s.start();
  }

  /** Restarts `record`'s supervisor, or supervises it when none runs it. */
  restart(record: WorkloadRecord): void {
    const s = this.supervisors.get(record.name);
    if (s) void s.start();
    else void this.supervise(record);
  }

  /** Ends `name`'s process, keeping its supervisor (a new start follows). */
  async halt(name: string): Promise<void> {
    await this.supervisors.get(name)?.halt();
  }

  /** Stops `name` without waiting for its process to end (the shutdown does); stopped at once when none runs it. */
  async stop(name: string): Promise<void> {
    const s = this.supervisors.get(name);
    this.supervisors.delete(name);
    if (s) void this.stopping.track(s.stop());
    else await this.writes.write(name, 'stopped', '');
  }

  /** Forgets `name`'s supervisor and ends its process. */
  async remove(name: string): Promise<void> {
    const s = this.supervisors.get(name);
    this.supervisors.delete(name);
    await s?.halt();
  }

  /** Ends every process (server stop), keeping each workload's desired state for the next start. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.supervisors.values()].map((s) => s.halt()));
    await this.stopping.settled();
    this.supervisors.clear();
  }

  /** The launch plan with secret values read now, from the owner's store; a missing secret stops the start. */
  private async planFor(name: string): Promise<LaunchPlan> {
    const r = await this.deps.store.get(name);
    if (!r) throw new Error(`workload '${name}' no longer exists`);
    return launchPlanOf(r, this.deps.secrets);
  }
}
