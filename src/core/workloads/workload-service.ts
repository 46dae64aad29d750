import { isVisibility, type Visibility } from '../access/visibility.js';
import type { Principal, RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { AgentryError, badRequest, conflict, forbidden, notFound, unprocessable, validationFailed } from '../errors.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import type { PackageService, PackageView } from '../packages/package-service.js';
import { versionSchemeOf } from '../packages/version-scheme.js';
import { validateSandboxSpec } from '../sandbox/profile.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { isoNow } from '../time.js';
import { launchFromServerJson, type DeclaredVar, type RegistryLaunch } from './registry-source.js';
import { SharedWorkloads } from './shared-workloads.js';
import { DEFAULT_TIMINGS, Supervisor, type SupervisorTimings } from './supervisor.js';
import type { LaunchPlan, McpNotification, McpRequestOptions, McpResult, McpUpstream, RuntimeCapabilities, WorkloadLauncher, WorkloadLogs } from './workload-runtime.js';
import { CachedWorkloadStore, type WorkloadStore } from './workload-store.js';
import { WORKLOAD_SECRETS_NAMESPACE } from '../secrets/toolhive-secrets.js';
import {
  DEFAULT_GROUP,
  packageOf,
  transportOf,
  workloadNameProblem,
  type PermissionProfile,
  type SecretRef,
  type ToolOverride,
  type WorkloadConfig,
  type WorkloadRecord,
  type WorkloadSource,
} from './workload.js';

/** What a create or edit asks for, in the core's words (the door translates ToolHive's createRequest). */
export interface WorkloadInput {
  name?: string;
  /** A registry entry: `scope/name` of an MCP server package Agentry holds. */
  server?: string;
  /** Explicit specs (administrators only): an image (`npx://pkg@v`, `uvx://pkg@v`, an OCI ref), a command, or a URL. */
  image?: string;
  command?: string;
  url?: string;
  transport?: string;
  args?: string[];
  group?: string;
  env?: Record<string, string>;
  /** `name,target=ENV` strings or objects, as ToolHive takes them. */
  secrets?: SecretRef[];
  headers?: Record<string, string>;
  headerSecrets?: Record<string, string>;
  profile?: PermissionProfile;
  networkIsolation?: boolean;
  tools?: string[];
  toolsOverride?: Record<string, ToolOverride>;
  proxyMode?: string;
  visibility?: string;
}

export type UpgradeStatus = 'up-to-date' | 'upgrade-available' | 'not-registry-sourced' | 'server-not-found' | 'unknown';

export interface UpgradeCheck {
  workloadName: string;
  status: UpgradeStatus;
  currentImage: string;
  candidateImage?: string;
  registryServer?: string;
  candidateVersion?: string;
  envAdded: DeclaredVar[];
  envRemoved: DeclaredVar[];
  transportChange?: { from: string; to: string };
  profileChange?: { from: string; to: string };
  reason?: string;
}

/** A client's view of one workload through the proxy: the server's identity and a request gate. */
export interface WorkloadSession {
  readonly capabilities: Record<string, unknown>;
  readonly serverInfo: { name: string; version: string };
  readonly instructions: string | undefined;
  /** Passes a client's request on (cancelled when `options.signal` aborts; progress to `options.onProgress`). */
  request(method: string, params: Record<string, unknown> | undefined, options?: McpRequestOptions): Promise<McpResult>;
  /**
   * Receives the server's notifications that concern every client (list changes, log messages,
   * resource updates), from whichever process runs the workload now; returns the unsubscribe.
   */
  subscribe(listener: (notification: McpNotification) => void): () => void;
}

/** A JSON-RPC error for the proxy's client (its `code` goes on the wire). */
export class McpRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

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

/** Methods the proxy passes to the server besides tools (initialize is answered by the proxy itself). */
const PASSED_METHODS = new Set([
  'ping',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
]);

/** Server notifications passed on to every session of the workload (progress goes to the request that asked for it). */
const BROADCAST_NOTIFICATIONS = new Set([
  'notifications/tools/list_changed',
  'notifications/resources/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/updated',
  'notifications/message',
]);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const emptyProfile = (): PermissionProfile => ({ name: 'none', read: [], write: [], network: { outbound: {} } });

/** ToolHive's secret flag: `name,target=ENV`. */
export const parseSecretFlag = (flag: string): SecretRef => {
  const m = /^([^,]+),target=([^,]+)$/.exec(flag);
  if (!m) throw badRequest(`secret '${flag.slice(0, 100)}' is not '<name>,target=<ENV_VAR>'`);
  return { name: m[1], target: m[2] };
};

/**
 * Agentry runs MCP servers (ToolHive's workloads): from a registry entry or, for administrators,
 * an explicit spec; each under a {@link Supervisor}; reachable through the proxy by those who may read
 * it (its visibility, decided by the AccessPolicy); managed by its owner and administrators.
 */
export class WorkloadService {
  private readonly supervisors = new Map<string, Supervisor>();
  private readonly timings: SupervisorTimings;
  private caps: Promise<RuntimeCapabilities> | undefined;
  /** Status writes, one chain per workload so they land in order. */
  private readonly writes = new Map<string, Promise<void>>();
  /** The proxy's sessions listening to each workload's notifications. */
  private readonly listeners = new Map<string, Set<(notification: McpNotification) => void>>();
  /** Names being created (two concurrent creates of one name: the second is a 409). */
  private readonly creating = new Set<string>();
  private clientHooks: WorkloadClientHooks | undefined;
  /** Client config edits, one chain per workload so an add and a remove land in order. */
  private readonly clientEdits = new Map<string, Promise<void>>();

  /** The store, with `get` cached (the proxy checks the workload on every request). */
  private readonly store: WorkloadStore;
  /** Workloads held by sessions (the MCP servers of agent.yaml packages), with the same launcher and timings; never stored. */
  readonly shared: SharedWorkloads;

  constructor(
    private readonly core: CoreDeps,
    private readonly deps: WorkloadServiceDeps,
  ) {
    this.timings = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.store = new CachedWorkloadStore(deps.store, () => core.clock.now().getTime());
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
      if (await this.canRead(ctx, r)) out.push(r);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
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
    const { source, registry, declaredEnv, launch } = await this.sourceFor(ctx, input);
    const name = input.name ?? this.defaultName(source, input.server);
    const problem = workloadNameProblem(name);
    if (problem) throw badRequest(problem);
    const config = this.configFrom(name, { ...input, profile: input.profile ?? launch?.profile }, source, registry, undefined);
    await this.checkGroup(config.group);
    this.checkDeclaredEnv(config, declaredEnv);
    await this.checkRunnable(config);
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
    if (changesSource) source = (await this.sourceFor(ctx, { ...input, server: undefined })).source;
    else if (input.args !== undefined && source.kind !== 'remote') source = { ...source, args: input.args };
    const registry = r.config.registryServer ? { server: r.config.registryServer, version: r.config.registryVersion ?? '' } : undefined;
    const config = this.configFrom(name, { group: r.config.group, visibility: r.config.visibility, ...input }, source, changesSource ? undefined : registry, r.config);
    if (config.group !== r.config.group) await this.checkGroup(config.group);
    await this.checkRunnable(config);
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
    if (s) void s.stop();
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
    return this.checkOne(ctx, await this.get(ctx, name));
  }

  async upgradeCheckAll(ctx: RequestContext, opts: { all?: boolean; group?: string }): Promise<UpgradeCheck[]> {
    const out: UpgradeCheck[] = [];
    for (const r of await this.list(ctx, opts)) out.push(await this.checkOne(ctx, r));
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
    const check = await this.checkOne(ctx, r);
    if (check.status !== 'upgrade-available') throw unprocessable(`Workload '${name}' has no upgrade to apply (${check.status}${check.reason ? `: ${check.reason}` : ''})`);
    const { source, registry, declaredEnv } = await this.sourceFor(ctx, { server: r.config.registryServer });
    const config: WorkloadConfig = {
      ...r.config,
      source,
      registryVersion: registry?.version,
      env: { ...r.config.env, ...this.checkedEnv(extra.env ?? {}) },
      secrets: [...r.config.secrets.filter((s) => !(extra.secrets ?? []).some((x) => x.target === s.target)), ...this.checkedSecrets(extra.secrets ?? [])],
    };
    this.checkDeclaredEnv(config, declaredEnv);
    await this.checkRunnable(config);
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
    return { ...(await this.checkOne(ctx, { ...next })), status: 'up-to-date' };
  }

  // ---- the proxy ----

  /** Opens a client's session on a workload it may read; requests go to whatever process currently runs it. */
  async session(ctx: RequestContext, name: string): Promise<WorkloadSession> {
    const r = await this.get(ctx, name);
    const up = this.supervisors.get(name)?.connection;
    if (!up) throw new AgentryError('unavailable', `Workload '${name}' is not running (status: ${r.status}${r.statusContext ? `, ${r.statusContext}` : ''})`);
    const caller = ctx.principal?.account.name ?? 'anonymous';
    const config = r.config;
    const overrides = config.toolsOverride;
    const renamed = new Map(Object.entries(overrides).flatMap(([orig, o]) => (o.name ? [[o.name, orig] as const] : [])));
    const offered = (orig: string) => config.tools.length === 0 || config.tools.includes(orig);
    const connection = (): McpUpstream => {
      const c = this.supervisors.get(name)?.connection;
      if (!c) throw new McpRequestError(-32603, `Workload '${name}' is not running`);
      return c;
    };
    const timeout = this.deps.requestTimeoutMs ?? 300_000;
    return {
      capabilities: up.capabilities,
      serverInfo: up.serverInfo,
      instructions: up.instructions,
      subscribe: (listener) => {
        let set = this.listeners.get(name);
        if (!set) this.listeners.set(name, (set = new Set()));
        set.add(listener);
        return () => {
          set.delete(listener);
          if (set.size === 0 && this.listeners.get(name) === set) this.listeners.delete(name);
        };
      },
      request: async (method, params, options) => {
        if (method === 'tools/list') {
          const result = await connection().request(method, params, timeout, options);
          const tools = Array.isArray(result.tools) ? result.tools.filter(isPlainObject) : [];
          return {
            ...result,
            tools: tools
              .filter((t) => typeof t.name === 'string' && offered(t.name) && !(renamed.has(t.name) && overrides[t.name]?.name !== t.name && !overrides[t.name]))
              .map((t) => {
                const o = overrides[t.name as string];
                return o ? { ...t, ...(o.name ? { name: o.name } : {}), ...(o.description ? { description: o.description } : {}) } : t;
              }),
          };
        }
        if (method === 'tools/call') {
          const asked = typeof params?.name === 'string' ? params.name : '';
          const orig = renamed.get(asked) ?? (overrides[asked]?.name && overrides[asked].name !== asked ? undefined : asked);
          if (orig === undefined || !offered(orig)) throw new McpRequestError(-32602, `Unknown tool: ${asked.slice(0, 200)}`);
          const started = Date.now();
          let outcome = 'ok';
          try {
            const result = await connection().request(method, { ...params, name: orig }, timeout, options);
            if (result.isError === true) outcome = 'tool_error';
            return result;
          } catch (e) {
            outcome = 'error';
            throw e;
          } finally {
            const duration = Date.now() - started;
            this.deps.logs.append(name, 'proxy', this.line('tool call', { tool: orig, caller, duration_ms: duration, outcome }));
            this.core.audit.recordLater(this.core.storage.audit, ctx, 'workload.tool_call', `workload:${name}`, { tool: orig, duration_ms: duration, outcome });
          }
        }
        if (!PASSED_METHODS.has(method)) throw new McpRequestError(-32601, `Method not found: ${method.slice(0, 100)}`);
        return connection().request(method, params, timeout, options);
      },
    };
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

  private mayManage(p: Principal | null, r: WorkloadRecord): boolean {
    if (!p || p.token.permission === 'read' || p.token.permission === 'runtime') return false;
    return p.account.isAdmin || p.account.id === r.ownerAccountId;
  }

  /** The workload, if the caller may manage it (its owner, administrators): 404 when it may not even read it, 403 when it only reads. */
  private async managed(ctx: RequestContext, name: string): Promise<WorkloadRecord> {
    const r = await this.get(ctx, name);
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
        notify: (n) => {
          if (!BROADCAST_NOTIFICATIONS.has(n.method)) return;
          for (const listener of this.listeners.get(name) ?? []) listener(n);
        },
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

  /** A workload's group must exist (ToolHive refuses a create or move into an unknown group). */
  private async checkGroup(group: string): Promise<void> {
    if (this.deps.groupExists && !(await this.deps.groupExists(group))) throw badRequest(`Group '${group.slice(0, 70)}' does not exist (create it with POST /api/v1beta/groups)`);
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

  /** Refuses what this machine cannot run, before anything is stored. */
  private async checkRunnable(config: WorkloadConfig): Promise<void> {
    const caps = await this.capabilities();
    const kind = config.source.kind;
    if (kind === 'remote') return;
    if (kind === 'oci') {
      if (!caps.containerEngine) throw new AgentryError('unavailable', 'OCI images need a container engine (podman or docker) and none answers on this server');
      return;
    }
    if (kind === 'pypi' && !caps.uv) throw new AgentryError('unavailable', 'PyPI packages run with uvx, and uv is not installed on this server');
    if (!caps.sandbox.available && !caps.unsafeLocal) {
      throw new AgentryError(
        'unavailable',
        `Local workloads run sandboxed, and the sandbox is unavailable: ${caps.sandbox.reason ?? 'unknown reason'} (or start the server with --unsafe-local-workloads)`,
      );
    }
    // The profile's own rules (mounts of /, .., volume mounts, …), before anything is spawned.
    validateSandboxSpec({ command: 'x', args: [], env: {}, profile: config.profile });
  }

  private defaultName(source: WorkloadSource, server: string | undefined): string {
    const base =
      server?.split('/').pop() ??
      (source.kind === 'npm' || source.kind === 'pypi' ? source.package.split('/').pop()! : source.kind === 'remote' ? new URL(source.url).hostname : packageOf(source).split('/').pop()!);
    return (
      base
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .replace(/\.\.+/g, '.')
        .slice(0, 63) || 'workload'
    );
  }

  private async sourceFor(
    ctx: RequestContext,
    input: WorkloadInput,
  ): Promise<{ source: WorkloadSource; registry?: { server: string; version: string }; declaredEnv: DeclaredVar[]; launch?: RegistryLaunch }> {
    const args = input.args ?? [];
    if (input.server !== undefined) {
      const view = await this.serverView(ctx, input.server);
      const manifest = view.latest?.manifest;
      if (!manifest) throw notFound(`Server '${input.server}' has no published version`);
      const { launch, problems } = launchFromServerJson(manifest, await this.capabilities());
      if (!launch) throw new AgentryError('unavailable', `Server '${input.server}' cannot run on this server`, problems);
      let source = launch.source;
      if (input.args !== undefined && source.kind !== 'remote') source = { ...source, args: input.args };
      return { source, registry: { server: `${view.pkg.scope}/${view.pkg.name}`, version: view.latest!.version }, declaredEnv: [...launch.env, ...launch.headers], launch };
    }
    const given = [input.image, input.command, input.url].filter((x) => x !== undefined && x !== '');
    if (given.length !== 1) throw badRequest('Send one of server (a registry entry), image, command or url');
    if (input.url) {
      let u: URL;
      try {
        u = new URL(input.url);
      } catch {
        throw badRequest(`url '${input.url.slice(0, 200)}' is not a URL`);
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badRequest('url must be http or https');
      const transport = input.transport === 'sse' ? 'sse' : 'streamable-http';
      return { source: { kind: 'remote', url: u.toString(), transport }, declaredEnv: [] };
    }
    if (input.command) {
      if (input.command.includes('\0')) throw badRequest('command must not contain NUL bytes');
      return { source: { kind: 'command', command: input.command, args }, declaredEnv: [] };
    }
    const image = input.image!;
    const pkg = /^(npx|uvx):\/\/((?:@[^/@\s]+\/)?[^@\s]+)(?:@([^@\s]+))?$/.exec(image);
    if (pkg) return { source: { kind: pkg[1] === 'npx' ? 'npm' : 'pypi', package: pkg[2], version: pkg[3] ?? 'latest', args }, declaredEnv: [] };
    if (/^[a-z]+:\/\//.test(image)) throw badRequest(`image '${image.slice(0, 200)}': only npx://, uvx:// and OCI references are supported`);
    return { source: { kind: 'oci', image, args }, declaredEnv: [] };
  }

  private async serverView(ctx: RequestContext, server: string): Promise<PackageView> {
    const slash = server.indexOf('/');
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (slash <= 0 || slash === server.length - 1 || server.indexOf('/', slash + 1) !== -1 || /(^|\/)\.\.?(\/|$)|[\u0000-\u001f\\]/.test(server)) {
      throw badRequest(`server '${server.slice(0, 200)}' is not '<scope>/<name>' of an MCP server in this registry`);
    }
    try {
      return await this.deps.packages.get(ctx, server.slice(0, slash), server.slice(slash + 1), 'mcp-server');
    } catch (e) {
      if (e instanceof AgentryError && (e.status === 404 || e.status === 400)) throw notFound(`Server '${server}' not found in the registry`);
      throw e;
    }
  }

  private checkedEnv(env: Record<string, string>): Record<string, string> {
    const problems = Object.entries(env).flatMap(([k, v]) =>
      !ENV_NAME.test(k) ? [`env_vars: '${k.slice(0, 100)}' is not a variable name`] : typeof v !== 'string' || v.includes('\0') ? [`env_vars.${k}: must be a string without NUL bytes`] : [],
    );
    if (problems.length > 0) throw validationFailed(problems, 'Invalid environment variables');
    return env;
  }

  private checkedSecrets(secrets: SecretRef[]): SecretRef[] {
    const problems = secrets.flatMap((s) =>
      !ENV_NAME.test(s.target)
        ? [`secrets: target '${s.target.slice(0, 100)}' is not a variable name`]
        : /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(s.name)
          ? []
          : [`secrets: '${s.name.slice(0, 100)}' is not a secret key`],
    );
    if (problems.length > 0) throw validationFailed(problems, 'Invalid secrets');
    return secrets;
  }

  private configFrom(name: string, input: WorkloadInput, source: WorkloadSource, registry: { server: string; version: string } | undefined, prev: WorkloadConfig | undefined): WorkloadConfig {
    const problems: string[] = [];
    const group = input.group ?? prev?.group ?? DEFAULT_GROUP;
    if (!GROUP.test(group)) problems.push(`group '${group.slice(0, 70)}' is invalid: 1-63 letters, digits, '.', '_' or '-'`);
    const headers = input.headers ?? prev?.headers ?? {};
    const headerSecrets = input.headerSecrets ?? prev?.headerSecrets ?? {};
    for (const h of [...Object.keys(headers), ...Object.keys(headerSecrets)]) if (!HEADER_NAME.test(h)) problems.push(`header '${h.slice(0, 100)}' is not a header name`);
    for (const v of Object.values(headers)) if (/[\r\n\0]/.test(v)) problems.push('header values must not contain line breaks or NUL bytes');
    const visibility = input.visibility ?? prev?.visibility ?? 'private';
    if (!isVisibility(visibility)) problems.push(`visibility must be public, internal or private`);
    const proxyMode = input.proxyMode || prev?.proxyMode || 'streamable-http';
    if (proxyMode !== 'streamable-http' && proxyMode !== 'sse') problems.push(`proxy_mode must be streamable-http or sse`);
    const tools = input.tools ?? prev?.tools ?? [];
    const toolsOverride = input.toolsOverride ?? prev?.toolsOverride ?? {};
    const newNames = Object.values(toolsOverride).flatMap((o) => (o.name ? [o.name] : []));
    if (new Set(newNames).size !== newNames.length) problems.push('tools_override: two tools are renamed to one name');
    if (source.kind === 'remote' && input.profile !== undefined && (input.profile.read.length > 0 || input.profile.write.length > 0))
      problems.push('permission_profile: a remote workload has no mounts');
    if (problems.length > 0) throw validationFailed(problems, 'The workload is refused');
    return {
      name,
      group,
      source,
      ...(registry ? { registryServer: registry.server, registryVersion: registry.version } : {}),
      env: this.checkedEnv(input.env ?? prev?.env ?? {}),
      secrets: this.checkedSecrets(input.secrets ?? prev?.secrets ?? []),
      headers,
      headerSecrets,
      profile: input.profile ?? prev?.profile ?? emptyProfile(),
      networkIsolation: input.networkIsolation ?? true,
      tools,
      toolsOverride,
      proxyMode: proxyMode === 'sse' ? 'sse' : 'streamable-http',
      visibility: visibility as Visibility,
      labels: prev?.labels ?? {},
    };
  }

  /** Required variables the entry declares must be given, as env or secrets (never guessed). */
  private checkDeclaredEnv(config: WorkloadConfig, declared: DeclaredVar[]): void {
    const given = new Set([...Object.keys(config.env), ...config.secrets.map((s) => s.target), ...Object.keys(config.headers), ...Object.keys(config.headerSecrets)]);
    const missing = declared.filter((d) => d.required && d.default === undefined && !given.has(d.name));
    if (missing.length > 0) {
      throw validationFailed(
        missing.map((d) => `${d.name}${d.secret ? ' (secret: send it in secrets as "<key>,target=' + d.name + '")' : ''} is required${d.description ? `: ${d.description}` : ''}`),
        'The server needs settings that were not sent',
      );
    }
  }

  private async checkOne(ctx: RequestContext, r: WorkloadRecord): Promise<UpgradeCheck> {
    const base: UpgradeCheck = { workloadName: r.name, status: 'unknown', currentImage: packageOf(r.config.source), envAdded: [], envRemoved: [] };
    if (!r.config.registryServer) return { ...base, status: 'not-registry-sourced' };
    base.registryServer = r.config.registryServer;
    let view: PackageView;
    try {
      view = await this.serverView(ctx, r.config.registryServer);
    } catch (e) {
      if (e instanceof AgentryError && e.status === 404) return { ...base, status: 'server-not-found' };
      throw e;
    }
    const latest = view.latest;
    if (!latest) return { ...base, status: 'server-not-found' };
    const current = r.config.registryVersion ?? '';
    const caps = await this.capabilities();
    const { launch, problems } = launchFromServerJson(latest.manifest, caps);
    if (!launch) return { ...base, reason: `the registry's version ${latest.version} cannot run here: ${problems.join('; ')}` };
    const candidateImage = packageOf(launch.source);
    const out: UpgradeCheck = { ...base, candidateImage, candidateVersion: latest.version };
    if (latest.version === current) return { ...out, status: 'up-to-date' };
    let currentPublished = '';
    try {
      currentPublished = (await this.deps.packages.getVersion(ctx, view.pkg.scope, view.pkg.name, current, { kind: 'mcp-server' })).version.publishedAt;
    } catch {
      // The running version was unpublished since: compare by version string alone.
    }
    const newest = versionSchemeOf('mcp-server').sortDesc([
      { version: current, publishedAt: currentPublished },
      { version: latest.version, publishedAt: latest.publishedAt },
    ])[0];
    if (newest.version !== latest.version) return { ...out, status: 'up-to-date', reason: `the workload runs ${current}, newer than the registry's latest ${latest.version}` };
    const given = new Set([...Object.keys(r.config.env), ...r.config.secrets.map((s) => s.target)]);
    const declaredNames = new Set(launch.env.map((e) => e.name));
    out.envAdded = launch.env.filter((e) => !given.has(e.name)).map((e) => (e.secret ? { ...e, default: undefined } : e));
    out.envRemoved = [...given].filter((n) => !declaredNames.has(n)).map((n) => ({ name: n, required: false, secret: r.config.secrets.some((s) => s.target === n) }));
    const fromTransport = transportOf(r.config.source);
    const toTransport = transportOf(launch.source);
    if (fromTransport !== toTransport) out.transportChange = { from: fromTransport, to: toTransport };
    if (launch.profile && JSON.stringify(launch.profile) !== JSON.stringify(r.config.profile)) {
      out.profileChange = { from: JSON.stringify(r.config.profile), to: JSON.stringify(launch.profile) };
    }
    return { ...out, status: 'upgrade-available' };
  }
}
