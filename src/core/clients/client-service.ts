import type { AuditLog } from '../audit/audit-log.js';
import type { AccessPolicy } from '../auth/access-policy.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import { DEFAULT_GROUP } from '../groups/group-names.js';
import { GroupService } from '../groups/group-service.js';
import type { GroupStore } from '../groups/group-store.js';
import type { CoreDeps } from '../core-deps.js';
import type { Storage } from '../storage.js';
import { CLIENT_APPS, clientApp, clientProblem, installMarkerOf, serverEntry, serverNameProblem, settingsFileOf, type ClientApp, type ClientPlatform } from './client-apps.js';
import type { ClientConfigFiles, ClientConfigTarget, WorkloadEndpoint, WorkloadEndpoints } from './client-config-files.js';

export interface ClientStatus {
  client_type: string;
  installed: boolean;
  registered: boolean;
  supports_skills: boolean;
  supports_plugins: boolean;
}

export interface RegisteredClient {
  name: string;
  groups: string[];
}

/** The settings file of a client, for the editor. */
export const configTargetOf = (app: ClientApp, platform: ClientPlatform): ClientConfigTarget => ({
  file: settingsFileOf(app, platform),
  format: app.format,
  serversKey: app.serversKey,
  storage: app.storage,
});

/** Checks client names: every one must be a client Agentry can configure. */
export const requireClients = (names: readonly string[]): ClientApp[] => {
  const problems = names.map(clientProblem).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw badRequest('Unsupported client type', problems);
  return names.map((n) => clientApp(n) as ClientApp);
};

/**
 * MCP client discovery and registration for the account the server runs as (ToolHive's
 * `/clients` and `/discovery/clients`): a client registered to groups gets every running MCP server
 * of those groups written into its settings file, and the workload supervisor calls `addServer` and
 * `removeServer` as servers start and stop. Administrators only: it edits files on the server's host.
 */
export class ClientService {
  private workloads: WorkloadEndpoints = { running: async () => [] };

  private readonly storage: Storage;
  private readonly policy: AccessPolicy;
  private readonly audit: AuditLog;

  constructor(
    deps: CoreDeps,
    private readonly groups: GroupStore,
    private readonly files: ClientConfigFiles,
    private readonly platform: ClientPlatform,
  ) {
    ({ storage: this.storage, policy: this.policy, audit: this.audit } = deps);
  }

  /** The workload supervisor plugs in here; until then registration records the client and writes no servers. */
  useWorkloads(source: WorkloadEndpoints): void {
    this.workloads = source;
  }

  async discover(ctx: RequestContext): Promise<ClientStatus[]> {
    this.policy.requireAdmin(ctx);
    const registered = new Set((await this.groups.registrations()).map((r) => r.client));
    return Promise.all(
      CLIENT_APPS.map(async (app) => ({
        client_type: app.id,
        installed: await this.files.exists(installMarkerOf(app, this.platform)),
        registered: registered.has(app.id),
        supports_skills: app.skillsPath !== undefined,
        supports_plugins: false,
      })),
    );
  }

  async list(ctx: RequestContext): Promise<RegisteredClient[]> {
    this.policy.requireAdmin(ctx);
    const byClient = new Map<string, string[]>();
    for (const r of await this.groups.registrations()) {
      const groups = byClient.get(r.client) ?? [];
      if (r.group !== '') groups.push(r.group);
      byClient.set(r.client, groups);
    }
    return [...byClient].map(([name, groups]) => ({ name, groups }));
  }

  /**
   * Registers clients to groups (none: to no group, so that they get every running server) and writes
   * the running servers of those groups into each client's settings file. With `useDefaultGroup`, a
   * request without groups registers to the `default` group (ToolHive's single-client register).
   */
  async register(ctx: RequestContext, names: string[], groups: string[], useDefaultGroup = false): Promise<string[]> {
    this.policy.requireWritable();
    this.policy.requireAdmin(ctx);
    if (names.length === 0) throw badRequest('At least one client name is required');
    const apps = requireClients(names);
    const chosen = groups.length === 0 && useDefaultGroup && (await this.groups.get(DEFAULT_GROUP)) ? [DEFAULT_GROUP] : [...new Set(groups)];
    for (const g of chosen) {
      GroupService.checkName(g);
      if (!(await this.groups.get(g))) throw badRequest(`Group '${g}' not found`);
    }
    const servers = (await this.workloads.running()).filter((w) => chosen.length === 0 || chosen.includes(w.group));
    for (const app of apps) {
      for (const w of servers) await this.write(app, w);
      for (const g of chosen.length > 0 ? chosen : ['']) await this.groups.register(app.id, g);
    }
    await this.audit.record(this.storage.audit, ctx, 'client.register', `clients:${names.join(',')}`, { groups: chosen, servers: servers.length });
    return chosen;
  }

  /**
   * Unregisters clients from the given groups (their servers of those groups leave the settings
   * files), or, with no groups, from everything (every running server leaves them).
   */
  async unregister(ctx: RequestContext, names: string[], groups: string[], requireRegistered = false): Promise<void> {
    this.policy.requireWritable();
    this.policy.requireAdmin(ctx);
    if (names.length === 0) throw badRequest('At least one client name is required');
    const apps = requireClients(names);
    for (const g of groups) GroupService.checkName(g);
    if (requireRegistered) {
      const regs = await this.groups.registrations();
      for (const app of apps) {
        for (const g of groups) {
          if (!regs.some((r) => r.client === app.id && r.group === g)) throw notFound(`Client '${app.id}' is not registered to group '${g}'`);
        }
      }
    }
    const servers = (await this.workloads.running()).filter((w) => groups.length === 0 || groups.includes(w.group));
    for (const app of apps) {
      for (const w of servers) await this.files.remove(configTargetOf(app, this.platform), w.name);
      await this.groups.unregister(app.id, groups.length > 0 ? groups : undefined);
    }
    await this.audit.record(this.storage.audit, ctx, 'client.unregister', `clients:${names.join(',')}`, { groups });
  }

  /** A server of `group` started: every client registered to that group (or to no group) gets it. */
  async addServer(server: WorkloadEndpoint): Promise<void> {
    for (const app of await this.clientsFor(server.group)) await this.write(app, server);
  }

  /** A server of `group` stopped or went: it leaves the settings files of the clients that had it. */
  async removeServer(name: string, group: string): Promise<void> {
    for (const app of await this.clientsFor(group)) await this.files.remove(configTargetOf(app, this.platform), name);
  }

  private async clientsFor(group: string): Promise<ClientApp[]> {
    const ids = new Set((await this.groups.registrations()).filter((r) => r.group === group || r.group === '').map((r) => r.client));
    return CLIENT_APPS.filter((a) => ids.has(a.id));
  }

  private async write(app: ClientApp, w: WorkloadEndpoint): Promise<void> {
    const problem = serverNameProblem(w.name);
    if (problem) throw badRequest('Invalid MCP server name', [problem]);
    await this.files.upsert(configTargetOf(app, this.platform), w.name, serverEntry(app, w.name, w.url, w.transport));
  }
}
