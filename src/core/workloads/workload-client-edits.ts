import { AgentryError } from '../errors.js';
import type { WorkloadLogs } from './workload-runtime.js';
import type { WorkloadRecord } from './workload.js';

/**
 * Told when a workload's proxy comes up and when it goes (stopped, deleted, moved to another
 * group), so that the MCP clients registered to its group get or lose its entry (ToolHive's
 * AddServerToClients / RemoveServerFromClients). A failure is logged in the workload's proxy log
 * and does not stop the workload.
 */
export interface WorkloadClientHooks {
  running(r: WorkloadRecord): Promise<void>;
  gone(name: string, group: string): Promise<void>;
}

/**
 * The client config edits of workloads, one chain per workload so that an add and a remove land in
 * order. Each answers undefined when no client service is plugged in; a failure is a line in the
 * workload's proxy log, never an error of the request.
 */
export class WorkloadClientEdits {
  private hooks: WorkloadClientHooks | undefined;
  private readonly edits = new Map<string, Promise<void>>();

  constructor(
    private readonly logs: WorkloadLogs,
    private readonly line: (event: string, fields: Record<string, unknown>) => string,
  ) {}

  /** The client service plugs in here. */
  use(hooks: WorkloadClientHooks): void {
    this.hooks = hooks;
  }

  /** The clients of `group` get the workload's entry, if `current` still answers a record then. */
  running(name: string, current: () => Promise<WorkloadRecord | undefined>): Promise<void> | undefined {
    return this.edit(name, 'running', async () => {
      const r = await current();
      if (r) await this.hooks?.running(r);
    });
  }

  /** The clients of `group` lose the workload's entry. */
  gone(name: string, group: string): Promise<void> | undefined {
    return this.edit(name, 'gone', () => this.hooks?.gone(name, group));
  }

  private edit(name: string, what: 'running' | 'gone', edit: () => Promise<void> | undefined): Promise<void> | undefined {
    if (!this.hooks) return undefined;
    const prev = this.edits.get(name) ?? Promise.resolve();
    const next = prev
      .then(edit)
      .catch((e: unknown) => {
        const message = e instanceof AgentryError ? [e.message, ...e.details].join(': ') : e instanceof Error ? e.message : String(e);
        this.logs.append(name, 'proxy', this.line(what === 'running' ? 'client config not updated' : 'client config entry not removed', { error: message.slice(0, 500) }));
      })
      .then(() => undefined);
    this.edits.set(name, next);
    void next.then(() => {
      if (this.edits.get(name) === next) this.edits.delete(name);
    });
    return next;
  }
}
