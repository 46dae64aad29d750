import type { Principal, RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { AgentryError, badRequest, conflict, forbidden, notFound, unprocessable } from '../errors.js';
import type { PackageService } from '../packages/package-service.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { isoNow } from '../time.js';
import { SharedWorkloads } from './shared-workloads.js';
import { DEFAULT_TIMINGS, Supervisor, type SupervisorTimings } from './supervisor.js';
import type { LaunchPlan, RuntimeCapabilities, WorkloadLauncher, WorkloadLogs } from './workload-runtime.js';
import { CachedWorkloadStore, type WorkloadStore } from './workload-store.js';
import { WORKLOAD_SECRETS_NAMESPACE } from '../secrets/toolhive-secrets.js';
import { WorkloadProxy, type WorkloadSession } from './workload-proxy.js';
import { WorkloadConfigs, type UpgradeCheck, type WorkloadInput } from './workload-config.js';
import { DEFAULT_GROUP, REDACTED_VALUE, packageOf, workloadNameProblem, type SecretRef, type WorkloadConfig, type WorkloadRecord } from './workload.js';
import { PendingWork } from '../pending-work.js';

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
 * Agentry runs MCP servers (ToolHive's workloads): from a registry entry or, for administrators,
 * an explicit spec; each under a {@link Supervisor}; reachable through the proxy by those who may read
 * it (its visibility, decided by the AccessPolicy); managed by its owner and administrators.
 */
export class WorkloadService {
  private readonly supervisors = new Map<string, Supervisor>();
  /** Stops answered before their process ended (a shutdown waits for them). */
  private readonly stopping = new PendingWork();
  private readonly timings: SupervisorTimings;
  private caps: Promise<RuntimeCapabilities> | undefined;
  /** Status writes, one chain per workload so they land in order. */
  private readonly writes = new Map<string, Promise<void>>();
  /** Names being created (two concurrent creates of one name: the second is a 409). */
  private readonly creating = new Set<string>();
  private clientHooks: WorkloadClientHooks | undefined;
  /** Client config edits, one chain per workload so an add and a remove land in order. */
  private readonly clientEdits = new Map<string, Promise<void>>();

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
    this.proxy = new WorkloadProxy(core, {
      connection: (name) => this.supervisors.get(name)?.connection,
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
    this.clientHooks = hooks;
  }

  /** Workloads whose proxy is up (for a client registered now). */
  async running(): Promise<WorkloadRecord[]> {
    return (await this.store.list()).filter((r) => r.status === 'running' && this.supervisors.get(r.name)?.status === 'running');
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
      await this.clientEdit(r.name, 'gone', () => this.clientHooks?.gone(r.name, group));
      if (this.supervisors.get(r.name)?.status === 'running') await this.clientEdit(r.name, 'running', () => this.clientHooks?.running(moved));
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
      if (r.desired === 'running') void this.supervise(r);
      else if (r.status !== 'stopped') await this.store.setStatus(r.name, 'stopped', '');
    }
  }

  /** At server stop: ends every process, keeping each workload's desired state for the next start. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.supervisors.values()].map((s) => s.halt()));
    await this.stopping.settled();
    await this.shared.shutdown();
    this.supervisors.clear();
    await Promise.all(this.writes.values());
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
      if (await this.canRead(ctx, r)) out.push(this.shownTo(ctx, r));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * A workload the caller may read. Its plain environment and header values are shown only to those
   * who may manage it (its owner, administrators); other readers get the names with each value
   * {@link REDACTED_VALUE} (secrets are references and never values anyway).
   */
  async get(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    return this.shownTo(ctx, await this.readable(ctx, name));
  }

  /** The workload as stored, if the caller may read it (404 otherwise): for the service's own use, never handed out as it is. */
  private async readable(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    const problem = workloadNameProblem(name);
    if (problem) throw badRequest(problem);
    const r = await this.store.get(name);
    if (!r) throw this.missing(name);
    await this.core.policy.requireRead(ctx, { ownerAccountId: r.ownerAccountId, visibility: r.config.visibility }, () => this.missing(name));
    return r;
  }

  /** The server's output, the last `maxBytes` (owner and administrators). */
  async logs(ctx: RequestContext, name: string, maxBytes = 1024 * 1024): Promise<string> {
    await this.managed(ctx, name);
    return (await this.deps.logs.read(name, 'server', maxBytes)) ?? '';
  }

  /** The proxy's lines: lifecycle and tool calls (owner and administrators). 404 when there are none yet. */
  async proxyLogs(ctx: RequestContext, name: string, maxBytes = 1024 * 1024): Promise<string> {
    await this.managed(ctx, name);
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
      void this.supervise(record);
      return record;
    } finally {
      this.creating.delete(name);
    }
  }

  /** Replaces a workload's configuration (ToolHive's edit: the fields sent; name, registry and server stay) and restarts it. */
  async edit(ctx: RequestContext, name: string, input: WorkloadInput): Promise<WorkloadRecord> {
    this.core.policy.requireWritable();
    const r = await this.managed(ctx, name);
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
    if (config.group !== r.config.group) await this.clientEdit(name, 'gone', () => this.clientHooks?.gone(name, r.config.group));
    await this.store.update(updated);
    await this.store.setDesired(name, 'running', updated.updatedAt);
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.edit', `workload:${name}`, {});
    this.deps.logs.append(name, 'proxy', this.line('edited', { by: ctx.principal?.account.name }));
    await this.supervisors.get(name)?.halt();
    void this.supervise(updated);
    return updated;
  }

  async stop(ctx: RequestContext, name: string): Promise<void> {
    this.core.policy.requireWritable();
    const r = await this.managed(ctx, name);
    await this.store.setDesired(name, 'stopped', this.now());
    // The clients lose its entry before the answer (a failure is logged, never the request's).
    await this.clientEdit(name, 'gone', () => this.clientHooks?.gone(name, r.config.group));
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.stop', `workload:${name}`, {});
    this.deps.logs.append(name, 'proxy', this.line('stop', { by: ctx.principal?.account.name }));
    const s = this.supervisors.get(name);
    this.supervisors.delete(name);
    if (s) void this.stopping.track(s.stop());
    else await this.writeStatus(name, 'stopped', '');
  }

  async restart(ctx: RequestContext, name: string): Promise<void> {
    this.core.policy.requireWritable();
    const r = await this.managed(ctx, name);
    await this.store.setDesired(name, 'running', this.now());
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.restart', `workload:${name}`, {});
    this.deps.logs.append(name, 'proxy', this.line('restart', { by: ctx.principal?.account.name }));
    const s = this.supervisors.get(name);
    if (s) void s.start();
    else void this.supervise({ ...r, desired: 'running' });
  }

  async remove(ctx: RequestContext, name: string): Promise<void> {
    this.core.policy.requireWritable();
    const r = await this.managed(ctx, name);
    await this.removeNow(name, r.config.group);
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.delete', `workload:${name}`, {});
  }

  /** Ends and forgets a workload; the clients of its group lose its entry. */
  private async removeNow(name: string, group: string): Promise<void> {
    await this.writeStatus(name, 'removing', '');
    const s = this.supervisors.get(name);
    this.supervisors.delete(name);
    await s?.halt();
    await this.writes.get(name);
    await this.clientEdit(name, 'gone', () => this.clientHooks?.gone(name, group));
    await this.store.delete(name);
    this.writes.delete(name);
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
      for (const n of names) await this.managed(ctx, n);
    } else {
      names = (await this.list(ctx, { all: true, group: target.group })).filter((r) => this.mayManage(ctx.principal, r)).map((r) => r.name);
    }
    for (const n of names) {
      if (op === 'stop') await this.stop(ctx, n);
      else if (op === 'restart') await this.restart(ctx, n);
      else await this.remove(ctx, n);
    }
  }

  // ---- upgrades ----

  async upgradeCheck(ctx: RequestContext, name: string): Promise<UpgradeCheck> {
    return this.configs.checkOne(ctx, await this.readable(ctx, name));
  }

  async upgradeCheckAll(ctx: RequestContext, opts: { all?: boolean; group?: string }): Promise<UpgradeCheck[]> {
    const out: UpgradeCheck[] = [];
    for (const r of await this.list(ctx, opts)) out.push(await this.configs.checkOne(ctx, r));
    return out;
  }

  /**
   * Moves a registry-sourced workload to the registry's latest version, keeping its configuration
   * (plus `env` and `secrets` sent), and rolls back to the old version when the new one does not come
   * up healthy. 422 when there is nothing to upgrade to.
   */
  async upgrade(ctx: RequestContext, name: string, extra: { env?: Record<string, string>; secrets?: SecretRef[] }): Promise<UpgradeCheck> {
    this.core.policy.requireWritable();
    const r = await this.managed(ctx, name);
    const check = await this.configs.checkOne(ctx, r);
    if (check.status !== 'upgrade-available') throw unprocessable(`Workload '${name}' has no upgrade to apply (${check.status}${check.reason ? `: ${check.reason}` : ''})`);
    const { source, registry, declaredEnv } = await this.configs.sourceFor(ctx, { server: r.config.registryServer });
    const config: WorkloadConfig = {
      ...r.config,
      source,
      registryVersion: registry?.version,
      env: { ...r.config.env, ...this.configs.checkedEnv(extra.env ?? {}) },
      secrets: [...r.config.secrets.filter((s) => !(extra.secrets ?? []).some((x) => x.target === s.target)), ...this.configs.checkedSecrets(extra.secrets ?? [])],
    };
    this.configs.checkDeclaredEnv(config, declaredEnv);
    await this.configs.checkRunnable(config);
    const previous = r;
    const next: WorkloadRecord = { ...r, config, desired: 'running', updatedAt: this.now() };
    await this.store.update(next);
    await this.core.audit.record(this.core.storage.audit, ctx, 'workload.upgrade', `workload:${name}`, { from: check.currentImage, to: check.candidateImage });
    this.deps.logs.append(name, 'proxy', this.line('upgrade', { from: check.currentImage, to: check.candidateImage }));
    await this.supervisors.get(name)?.halt();
    const healthy = await this.supervise(next);
    // The status it reached is stored before the answer goes out.
    await this.writes.get(name);
    if (!healthy) {
      const s = this.supervisors.get(name);
      await s?.halt();
      await this.store.update({ ...previous, desired: 'running', updatedAt: this.now() });
      this.deps.logs.append(name, 'proxy', this.line('upgrade rolled back', { to: check.currentImage }));
      void this.supervise({ ...previous, desired: 'running' });
      throw unprocessable(
        `The upgrade of '${name}' to ${check.candidateVersion ?? check.candidateImage} failed its health check; rolled back to ${r.config.registryVersion ?? check.currentImage} (see the workload's logs)`,
      );
    }
    return { ...(await this.configs.checkOne(ctx, { ...next })), status: 'up-to-date' };
  }

  // ---- the proxy ----

  /** Opens a client's session on a workload it may read; requests go to whatever process currently runs it. */
  async session(ctx: RequestContext, name: string): Promise<WorkloadSession> {
    return this.proxy.open(ctx, name, await this.readable(ctx, name));
  }

  // ---- internals ----

  private now(): string {
    return isoNow(this.core.clock);
  }

  private line(event: string, fields: Record<string, unknown>): string {
    return JSON.stringify({ time: this.now(), event, ...fields });
  }

  private missing(name: string): AgentryError {
    return notFound(`Workload '${name}' not found`);
  }

  private canRead(ctx: RequestContext, r: WorkloadRecord): Promise<boolean> {
    return this.core.policy.canRead(ctx, { ownerAccountId: r.ownerAccountId, visibility: r.config.visibility });
  }

  /** The record as `ctx` may see it: whole for those who may manage it, its plain env and header values redacted for other readers. */
  private shownTo(ctx: RequestContext, r: WorkloadRecord): WorkloadRecord {
    if (this.mayManage(ctx.principal, r)) return r;
    const redacted = (values: Record<string, string>) => Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED_VALUE]));
    return { ...r, config: { ...r.config, env: redacted(r.config.env), headers: redacted(r.config.headers) } };
  }

  private mayManage(p: Principal | null, r: WorkloadRecord): boolean {
    if (!p || p.token.permission === 'read' || p.token.permission === 'runtime') return false;
    return p.account.isAdmin || p.account.id === r.ownerAccountId;
  }

  /** The workload, if the caller may manage it (its owner, administrators): 404 when it may not even read it, 403 when it only reads. */
  private async managed(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    const r = await this.readable(ctx, name);
    if (!ctx.principal) throw new AgentryError('unauthorized', 'Authentication required');
    if (!this.mayManage(ctx.principal, r)) throw forbidden(`Only the owner of workload '${name}' and administrators manage it (with a publish or admin token)`);
    return r;
  }

  private supervise(record: WorkloadRecord): Promise<boolean> {
    const name = record.name;
    const s = new Supervisor(
      name,
      {
        launcher: this.deps.launcher,
        plan: () => this.planFor(name),
        log: (line) => this.deps.logs.append(name, 'server', line),
        notify: (n) => this.proxy.notify(name, n),
        onStatus: (status, context, startedAt) => {
          this.deps.logs.append(name, 'proxy', this.line('status', { status, context: context || undefined }));
          // The proxy is up: the clients registered to its group get its entry (as ToolHive's runner
          // does) before the status says running, so a caller who sees running finds the entry written.
          const edited =
            status === 'running'
              ? this.clientEdit(name, 'running', async () => {
                  const r = await this.store.get(name);
                  if (r && r.desired === 'running' && this.supervisors.get(name) === s) await this.clientHooks?.running(r);
                })
              : undefined;
          void this.writeStatus(name, status, context, startedAt, edited);
        },
        now: () => this.now(),
      },
      this.timings,
    );
    this.supervisors.set(name, s);
    return s.start();
  }

  /** Queues a client config edit for this workload; a failure is a line in its proxy log, never an error of the request. */
  private clientEdit(name: string, what: 'running' | 'gone', edit: () => Promise<void> | undefined): Promise<void> | undefined {
    if (!this.clientHooks) return undefined;
    const prev = this.clientEdits.get(name) ?? Promise.resolve();
    const next = prev
      .then(edit)
      .catch((e: unknown) => {
        const message = e instanceof AgentryError ? [e.message, ...e.details].join(': ') : e instanceof Error ? e.message : String(e);
        this.deps.logs.append(name, 'proxy', this.line(what === 'running' ? 'client config not updated' : 'client config entry not removed', { error: message.slice(0, 500) }));
      })
      .then(() => undefined);
    this.clientEdits.set(name, next);
    void next.then(() => {
      if (this.clientEdits.get(name) === next) this.clientEdits.delete(name);
    });
    return next;
  }

  private async statusEvent(name: string, status: WorkloadRecord['status'], context: string): Promise<void> {
    const events = this.core.events;
    // The status is written in the workload store, outside the shared store's transactions: the
    // event is recorded in a transaction of its own right after. Nobody listening costs no query.
    if (!events?.wantsAny()) return;
    const r = await this.store.get(name);
    if (r) await events.emit([{ type: 'workload.status', object: { ownerAccountId: r.ownerAccountId, visibility: r.config.visibility }, data: { workload: name, status, context } }]);
  }

  private writeStatus(name: string, status: WorkloadRecord['status'], context: string, startedAt?: string, after?: Promise<void>): Promise<void> {
    const prev = this.writes.get(name) ?? Promise.resolve();
    const next = prev
      .then(() => after)
      .then(() => this.store.setStatus(name, status, context.slice(0, 1000), startedAt))
      .then(() => this.statusEvent(name, status, context.slice(0, 1000)))
      .catch(() => undefined);
    this.writes.set(name, next);
    return next;
  }

  /** The launch plan with secret values read now, from the owner's store; a missing secret stops the start. */
  private async planFor(name: string): Promise<LaunchPlan> {
    const r = await this.store.get(name);
    if (!r) throw new Error(`workload '${name}' no longer exists`);
    const c = r.config;
    const env = { ...c.env };
    for (const s of c.secrets) {
      const value = await this.deps.secrets.get(r.ownerName, WORKLOAD_SECRETS_NAMESPACE, s.name);
      if (value === undefined) throw new Error(`secret '${s.name}' (for ${s.target}) is not in ${r.ownerName}'s secrets`);
      env[s.target] = value;
    }
    const headers = { ...c.headers };
    for (const [header, secret] of Object.entries(c.headerSecrets)) {
      const value = await this.deps.secrets.get(r.ownerName, WORKLOAD_SECRETS_NAMESPACE, secret);
      if (value === undefined) throw new Error(`secret '${secret}' (for header ${header}) is not in ${r.ownerName}'s secrets`);
      headers[header] = value;
    }
    return { name, source: c.source, env, headers, profile: c.profile, networkIsolation: c.networkIsolation };
  }
}
