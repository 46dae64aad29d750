import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { PackageService } from '../packages/package-service.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { isoNow } from '../time.js';
import { SharedWorkloads } from './shared-workloads.js';
import { DEFAULT_TIMINGS, type SupervisorTimings } from './supervisor.js';
import type { RuntimeCapabilities, WorkloadLauncher, WorkloadLogs } from './workload-runtime.js';
import { CachedWorkloadStore, type WorkloadStore } from './workload-store.js';
import { WorkloadProxy, type WorkloadSession } from './workload-proxy.js';
import { WorkloadConfigs, type UpgradeCheck, type WorkloadInput } from './workload-config.js';
import { DEFAULT_GROUP, packageOf, workloadNameProblem, type SecretRef, type WorkloadRecord } from './workload.js';
import { WorkloadAccess } from './workload-access.js';
import { WorkloadClientEdits, type WorkloadClientHooks } from './workload-client-edits.js';
import { WorkloadSupervisors } from './workload-supervisors.js';
import { upgradeWorkload } from './workload-upgrade.js';

/** What the workload service needs besides the core's deps (whose `events` hear every status a supervisor writes: webhooks' workload.status). */
export interface WorkloadServiceDeps {
  store: WorkloadStore;
  launcher: WorkloadLauncher;
  logs: WorkloadLogs;
  /** The logs of shared workloads (agent.yaml servers of sessions); absent: not kept. */
  sharedLogs?: WorkloadLogs;
  /** How long a shared workload nobody uses keeps running (default 60 s). */
  sharedIdleStopMs?: number;
  packages: PackageService;
  secrets: SecretStore;
  timings?: Partial<SupervisorTimings>;
  /** How long a proxied request may take (default 5 min). */
  requestTimeoutMs?: number;
  /** Whether a group exists (ToolHive's groups); absent: every valid group name is taken. */
  groupExists?: (name: string) => Promise<boolean>;
}

/**
 * Agentry runs MCP servers (ToolHive's workloads): from a registry entry or, for administrators,
 * an explicit spec; each under a Supervisor (workload-supervisors.ts); reachable through the proxy by those who may read
 * it (its visibility, decided by the AccessPolicy); managed by its owner and administrators.
 */
export class WorkloadService {
  /** The supervisor of each stored workload that runs, and their status writes. */
  private readonly supervisors: WorkloadSupervisors;
  private readonly timings: SupervisorTimings;
  private caps: Promise<RuntimeCapabilities> | undefined;
  /** Names being created (two concurrent creates of one name: the second is a 409). */
  private readonly creating = new Set<string>();
  /** Client config edits, one chain per workload so an add and a remove land in order. */
  private readonly clientEdits: WorkloadClientEdits;
  /** Who may read, see and manage a workload. */
  private readonly access: WorkloadAccess;

  /** The store, with `get` cached (the proxy checks the workload on every request). */
  private readonly store: WorkloadStore;
  /** Workloads held by sessions (the MCP servers of agent.yaml packages), with the same launcher and timings; never stored. */
  readonly shared: SharedWorkloads;
  /** Configurations from what a create, edit or upgrade asks for, and the upgrade check. */
  private readonly configs: WorkloadConfigs;
  /** Client sessions on workloads, and the notifications passed to them. */
  private readonly proxy: WorkloadProxy;

  constructor(
    private readonly core: CoreDeps,
    private readonly deps: WorkloadServiceDeps,
  ) {
    this.timings = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.store = new CachedWorkloadStore(deps.store, () => core.clock.now().getTime());
    this.clientEdits = new WorkloadClientEdits(deps.logs, (event, fields) => this.line(event, fields));
    this.access = new WorkloadAccess(core, this.store);
    this.supervisors = new WorkloadSupervisors({
      core,
      store: this.store,
      launcher: deps.launcher,
      logs: deps.logs,
      secrets: deps.secrets,
      timings: this.timings,
      clientEdits: this.clientEdits,
      notify: (name, n) => this.proxy.notify(name, n),
      line: (event, fields) => this.line(event, fields),
      now: () => this.now(),
    });
    this.proxy = new WorkloadProxy(core, {
      connection: (name) => this.supervisors.connection(name),
      logs: deps.logs,
      line: (event, fields) => this.line(event, fields),
      requestTimeoutMs: deps.requestTimeoutMs,
    });
    this.configs = new WorkloadConfigs({ packages: deps.packages, capabilities: () => this.capabilities(), groupExists: deps.groupExists });
    this.shared = new SharedWorkloads({
      launcher: deps.launcher,
      logs: deps.sharedLogs ?? { append: () => undefined, read: async () => undefined, remove: async () => undefined },
      timings: this.timings,
      now: () => this.now(),
      idleStopMs: deps.sharedIdleStopMs,
      requestTimeoutMs: deps.requestTimeoutMs,
    });
  }

  /** The client service plugs in here (the composition root wires it before `resume`). */
  useClients(hooks: WorkloadClientHooks): void {
    this.clientEdits.use(hooks);
  }

  /** Workloads whose proxy is up (for a client registered now). */
  async running(): Promise<WorkloadRecord[]> {
    return (await this.store.list()).filter((r) => r.status === 'running' && this.supervisors.status(r.name) === 'running');
  }

  /**
   * A group is being deleted (GroupService asked, an administrator's request): its workloads are
   * deleted (`withWorkloads`) or moved to the default group, their client entries following them.
   */
  async groupDeleted(group: string, withWorkloads: boolean): Promise<void> {
    for (const r of await this.store.list()) {
      if (r.config.group !== group) continue;
      if (withWorkloads) {
        await this.removeNow(r.name, r.config.group);
        continue;
      }
      const moved: WorkloadRecord = { ...r, config: { ...r.config, group: DEFAULT_GROUP }, updatedAt: this.now() };
      await this.store.update(moved);
      this.deps.logs.append(r.name, 'proxy', this.line('moved', { from: group, to: DEFAULT_GROUP }));
      await this.clientEdits.gone(r.name, group);
      if (this.supervisors.status(r.name) === 'running') await this.clientEdits.running(r.name, async () => moved);
    }
  }

  /** What this machine can run (probed once). */
  capabilities(): Promise<RuntimeCapabilities> {
    this.caps ??= this.deps.launcher.capabilities();
    return this.caps;
  }

  /** At server start: workloads marked to run start again; the others are stopped. */
  async resume(): Promise<void> {
    for (const r of await this.store.list()) {
      if (r.desired === 'running') void this.supervisors.supervise(r);
      else if (r.status !== 'stopped') await this.store.setStatus(r.name, 'stopped', '');
    }
  }

  /** At server stop: ends every process, keeping each workload's desired state for the next start. */
  async shutdown(): Promise<void> {
    await this.supervisors.shutdown();
    await this.shared.shutdown();
    await this.supervisors.writes.settled();
    // Tool-call audit entries are written in batches: none is lost on a clean shutdown.
    await this.core.audit.flush();
    this.deps.logs.closeFiles?.();
  }

  // ---- reads ----

  async list(ctx: RequestContext, opts: { all?: boolean; group?: string } = {}): Promise<WorkloadRecord[]> {
    this.core.policy.requireReadAccess(ctx);
    if (opts.group !== undefined && opts.group !== '' && this.deps.groupExists && !(await this.deps.groupExists(opts.group))) throw notFound(`Group '${opts.group.slice(0, 70)}' not found`);
    const out: WorkloadRecord[] = [];
    for (const r of await this.store.list()) {
      if (opts.group !== undefined && r.config.group !== opts.group) continue;
      if (!opts.all && r.status === 'stopped') continue;
      if (await this.access.canRead(ctx, r)) out.push(this.access.shownTo(ctx, r));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * A workload the caller may read. Its plain environment and header values are shown only to those
   * who may manage it (its owner, administrators); other readers get the names with each value
   * {@link REDACTED_VALUE} (secrets are references and never values anyway).
   */
  async get(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    return this.access.shownTo(ctx, await this.access.readable(ctx, name));
  }

  /** The server's output, the last `maxBytes` (owner and administrators). */
  async logs(ctx: RequestContext, name: string, maxBytes = 1024 * 1024): Promise<string> {
    await this.access.managed(ctx, name);
    return (await this.deps.logs.read(name, 'server', maxBytes)) ?? '';
  }

  /** The proxy's lines: lifecycle and tool calls (owner and administrators). 404 when there are none yet. */
  async proxyLogs(ctx: RequestContext, name: string, maxBytes = 1024 * 1024): Promise<string> {
    await this.access.managed(ctx, name);
    const text = await this.deps.logs.read(name, 'proxy', maxBytes);
    if (text === undefined) throw notFound(`Proxy logs not found for workload '${name}'`);
    return text;
  }

  // ---- writes ----

  async create(ctx: RequestContext, input: WorkloadInput): Promise<WorkloadRecord> {
    this.core.policy.requireWritable();
    const principal = this.core.policy.requirePermission(ctx, 'publish');
    const explicit = input.server === undefined;
    if (explicit) {
      if (!principal.account.isAdmin) throw forbidden('Only administrators run workloads from an explicit image, command or URL; others run MCP servers of the registry (send "server")');
      this.core.policy.requireAdmin(ctx);
    }
    const { source, registry, declaredEnv, launch } = await this.configs.sourceFor(ctx, input);
    const name = input.name ?? this.configs.defaultName(source, input.server);
    const problem = workloadNameProblem(name);
    if (problem) throw badRequest(problem);
    const config = this.configs.configFrom(name, { ...input, profile: input.profile ?? launch?.profile }, source, registry, undefined);
    await this.configs.checkGroup(config.group);
    this.configs.checkDeclaredEnv(config, declaredEnv);
    await this.configs.checkRunnable(config);
    if (this.creating.has(name)) throw conflict(`Workload '${name}' already exists`);
    this.creating.add(name);
    try {
      const now = this.now();
      const record: WorkloadRecord = {
        name,
        ownerAccountId: principal.account.id,
        ownerName: principal.account.name,
        config,
        desired: 'running',
        status: 'starting',
        statusContext: '',
        createdAt: now,
        startedAt: null,
        updatedAt: now,
      };
      if (!(await this.store.insert(record))) throw conflict(`Workload '${name}' already exists`);
      await this.core.audit.record(this.core.storage.audit, ctx, 'workload.create', `workload:${name}`, { package: packageOf(source), registry_server: registry?.server ?? null });
      this.deps.logs.append(name, 'proxy', this.line('created', { by: principal.account.name, package: packageOf(source) }));
      void this.supervisors.supervise(record);
      return record;
    } finally {
      this.creating.delete(name);
    }
  }

  /** Replaces a workload's configuration (ToolHive's edit: the fields sent; name, registry and server stay) and restarts it. */
  async edit(ctx: RequestContext, name: string, input: WorkloadInput): Promise<WorkloadRecord> {
    this.core.policy.requireWritable();
    const r = await this.access.managed(ctx, name);
    const changesSource = input.image !== undefined || input.command !== undefined || input.url !== undefined;
    if (changesSource && !ctx.principal?.account.isAdmin) throw forbidden('Only administrators change what a workload runs');
    let source = r.config.source;
    if (changesSource) source = (await this.configs.sourceFor(ctx, { ...input, server: undefined })).source;
    else if (input.args !== undefined && source.kind !== 'remote') source = { ...source, args: input.args };
    const registry = r.config.registryServer ? { server: r.config.registryServer, version: r.config.registryVersion ?? '' } : undefined;
    const config = this.configs.configFrom(name, { group: r.config.group, visibility: r.config.visibility, ...input }, source, changesSource ? undefined : registry, r.config);
    if (config.group !== r.config.group) await this.configs.checkGroup(config.group);
    await this.configs.checkRunnable(config);
    const updated: WorkloadRecord = { ...r, config, desired: 'running', updatedAt: this.now() };
    // Moved to another group: the clients of the old one lose it (the new group's get it once it runs).
    if (config.group !== r.config.group) await this.clientEdits.gone(name, r.config.group);
    await this.store.update(updated);
    await this.store.setDesired(name, 'running', updated.updatedAt);
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.edit', `workload:${name}`, {});
    this.deps.logs.append(name, 'proxy', this.line('edited', { by: ctx.principal?.account.name }));
    await this.supervisors.halt(name);
    void this.supervisors.supervise(updated);
    return updated;
  }

  async stop(ctx: RequestContext, name: string): Promise<void> {
    this.core.policy.requireWritable();
    const r = await this.access.managed(ctx, name);
    await this.store.setDesired(name, 'stopped', this.now());
    // The clients lose its entry before the answer (a failure is logged, never the request's).
    await this.clientEdits.gone(name, r.config.group);
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.stop', `workload:${name}`, {});
    this.deps.logs.append(name, 'proxy', this.line('stop', { by: ctx.principal?.account.name }));
    await this.supervisors.stop(name);
  }

  async restart(ctx: RequestContext, name: string): Promise<void> {
    this.core.policy.requireWritable();
    const r = await this.access.managed(ctx, name);
    await this.store.setDesired(name, 'running', this.now());
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.restart', `workload:${name}`, {});
    this.deps.logs.append(name, 'proxy', this.line('restart', { by: ctx.principal?.account.name }));
    this.supervisors.restart({ ...r, desired: 'running' });
  }

  async remove(ctx: RequestContext, name: string): Promise<void> {
    this.core.policy.requireWritable();
    const r = await this.access.managed(ctx, name);
    await this.removeNow(name, r.config.group);
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.delete', `workload:${name}`, {});
  }

  /** Ends and forgets a workload; the clients of its group lose its entry. */
  private async removeNow(name: string, group: string): Promise<void> {
    await this.supervisors.writes.write(name, 'removing', '');
    await this.supervisors.remove(name);
    await this.supervisors.writes.last(name);
    await this.clientEdits.gone(name, group);
    await this.store.delete(name);
    this.supervisors.writes.forget(name);
    await this.deps.logs.remove(name);
  }

  /** Bulk stop/restart/delete by names or by group (not both); every name is checked before any is touched. */
  async bulk(ctx: RequestContext, op: 'stop' | 'restart' | 'delete', target: { names?: string[]; group?: string }): Promise<void> {
    const hasNames = target.names !== undefined && target.names.length > 0;
    const hasGroup = target.group !== undefined && target.group !== '';
    if (hasNames === hasGroup) throw badRequest('Send either names or group (not both, not neither)');
    let names: string[];
    if (hasNames) {
      names = [...new Set(target.names)];
      for (const n of names) await this.access.managed(ctx, n);
    } else {
      names = (await this.list(ctx, { all: true, group: target.group })).filter((r) => this.access.mayManage(ctx.principal, r)).map((r) => r.name);
    }
    for (const n of names) {
      if (op === 'stop') await this.stop(ctx, n);
      else if (op === 'restart') await this.restart(ctx, n);
      else await this.remove(ctx, n);
    }
  }

  // ---- upgrades ----

  async upgradeCheck(ctx: RequestContext, name: string): Promise<UpgradeCheck> {
    return this.configs.checkOne(ctx, await this.access.readable(ctx, name));
  }

  async upgradeCheckAll(ctx: RequestContext, opts: { all?: boolean; group?: string }): Promise<UpgradeCheck[]> {
    const out: UpgradeCheck[] = [];
    for (const r of await this.list(ctx, opts)) out.push(await this.configs.checkOne(ctx, r));
    return out;
  }

  /** Moves a registry-sourced workload to the registry's latest version, rolling back when it does not come up healthy ({@link upgradeWorkload}). */
  upgrade(ctx: RequestContext, name: string, extra: { env?: Record<string, string>; secrets?: SecretRef[] }): Promise<UpgradeCheck> {
    return upgradeWorkload(
      { core: this.core, store: this.store, configs: this.configs, access: this.access, supervisors: this.supervisors, logs: this.deps.logs, line: (e, f) => this.line(e, f), now: () => this.now() },
      ctx,
      name,
      extra,
    );
  }

  // ---- the proxy ----

  /** Opens a client's session on a workload it may read; requests go to whatever process currently runs it. */
  async session(ctx: RequestContext, name: string): Promise<WorkloadSession> {
    return this.proxy.open(ctx, name, await this.access.readable(ctx, name));
  }

  // ---- internals ----

  private now(): string {
    return isoNow(this.core.clock);
  }

  private line(event: string, fields: Record<string, unknown>): string {
    return JSON.stringify({ time: this.now(), event, ...fields });
  }
}
