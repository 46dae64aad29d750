import { AccountService } from './accounts/account-service.js';
import { A2aTasks } from './a2a/a2a-tasks.js';
import { ServedAgents } from './a2a/served-agents.js';
import { AgentTurns } from './sessions/agent-turn.js';
import { A2aImports } from './a2a/a2a-imports.js';
import type { AgentCardSource } from './a2a/card-source.js';
import { ScopeService } from './accounts/scope-service.js';
import { AgentspaceAgents } from './agentspaces/agentspace-agents.js';
import { AgentspaceParameters } from './agentspaces/agentspace-parameters.js';
import { AgentspaceSecrets } from './agentspaces/agentspace-secrets.js';
import { AgentspaceRuns } from './agentspaces/agentspace-runs.js';
import { AgentspaceService } from './agentspaces/agentspace-service.js';
import { AgentspaceArtifacts, type ArtifactOptions } from './agentspaces/agentspace-artifacts.js';
import { AuditLog } from './audit/audit-log.js';
import type { Visibility } from './access/visibility.js';
import { AccessPolicy } from './auth/access-policy.js';
import type { RequestContext } from './auth/principal.js';
import { BlobRedirects, type BlobUrlSigner } from './blobs/blob-redirects.js';
import { BlobAccess } from './blobs/blob-access.js';
import { GarbageCollector } from './blobs/garbage-collector.js';
import { checkReadiness, type Readiness } from './health/readiness.js';
import { OciService } from './oci/oci-service.js';
import { SignatureService } from './signatures/signature-service.js';
import type { UploadStore } from './oci/ports.js';
import type { CoreDeps } from './core-deps.js';
import { ManagedAgents, type ManagedOptions } from './managed/managed-agents.js';
import { PackageLifecycle } from './packages/package-lifecycle.js';
import { PackageService } from './packages/package-service.js';
import { SecretService } from './secrets/secret-service.js';
import { ToolhiveSecrets } from './secrets/toolhive-secrets.js';
import { GroupService } from './groups/group-service.js';
import type { GroupStore } from './groups/group-store.js';
import { ClientService } from './clients/client-service.js';
import type { ClientConfigFiles, WorkloadEndpoint } from './clients/client-config-files.js';
import type { ClientPlatform } from './clients/client-apps.js';
import type { SecretStore } from './secrets/secret-store.js';
import { SkillService } from './skills/skill-service.js';
import { SkillInstalls } from './skills/skill-installs.js';
import type { SkillFolders, SkillInstallStore } from './skills/skill-install-store.js';
import type { SkillFolderSource } from './skills/skill-folder-source.js';
import { RecipeService } from './recipes/recipe-service.js';
import { RateLimiter } from './rate-limits/rate-limiter.js';
import type { RateLimitStore } from './rate-limits/rate-limit-store.js';
import type { RateLimitRules } from './rate-limits/rules.js';
import { StarService } from './stars/star-service.js';
import { SignInService, type SignInConfig } from './oauth/sign-in-service.js';
import { TelemetryService } from './telemetry/telemetry-service.js';
import { DiscoveryService } from './trending/discovery-service.js';
import { PackageInsights } from './packages/package-insights.js';
import type { TarballLimits } from './packages/tarball.js';
import type { AuditQuery } from './audit/audit-repo.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { Storage } from './storage.js';
import { systemClock, type Clock } from './time.js';
import { TokenService } from './tokens/token-service.js';
import type { SupervisorTimings } from './workloads/supervisor.js';
import type { WorkloadLauncher, WorkloadLogs } from './workloads/workload-runtime.js';
import { WorkloadService } from './workloads/workload-service.js';
import { workloadProxyPath, type WorkloadRecord } from './workloads/workload.js';
import type { WorkloadStore } from './workloads/workload-store.js';
import type { EvalStore } from './evals/eval-store.js';
import { EvalService } from './evals/eval-service.js';
import { MirrorService } from './mirrors/mirror-service.js';
import { OciMirror } from './mirrors/oci-mirror.js';
import type { AgentryUpstream, MirrorStore, OciUpstream } from './mirrors/mirror.js';
import { AgentryMirror } from './mirrors/agentry-mirror.js';
import { parseAgentrySyncFilter, syncAgentryMirror } from './mirrors/agentry-sync.js';
import { refuseMcpSyncFilter, syncMcpMirror } from './mirrors/mcp-sync.js';
import { MirrorSyncService, type MirrorSyncers, type MirrorSyncStore } from './mirrors/mirror-sync.js';
import { parseOciSyncFilter, syncOciMirror } from './mirrors/oci-sync.js';
import { McpMirrors, type McpMirrorCache, type McpUpstream } from './mirrors/mcp-mirror.js';
import { DomainEvents, type DomainEvent } from './events/domain-events.js';
import type { WebhookSender } from './webhooks/webhook-sender.js';
import { WebhookService } from './webhooks/webhook-service.js';
import type { WebhookStore } from './webhooks/webhook-store.js';
import type { Embedder } from './embeddings/embedder.js';
import type { PackageVectorStore } from './search/package-vectors.js';
import { SemanticSearch } from './search/semantic-search.js';

export interface RegistryOptions {
  storage: Storage;
  blobs: BlobStore;
  limits: TarballLimits;
  clock?: Clock;
  /** Serve reads only: every write is refused with `read_only`. */
  readOnly?: boolean;
  /** The visibility new scopes start with (default `public`). */
  defaultVisibility?: Visibility;
  /** Every read needs a token (401 without one). */
  authRequiredForReads?: boolean;
  /** Where OCI blob uploads grow (the data dir); without it the OCI door refuses blob pushes. */
  uploads?: UploadStore;
  /** Largest package tarball, also for package layers pushed through the OCI door (default 50 MiB). */
  maxTarballBytes?: number;
  /** The backend that keeps secret values (built-in, environment or Vault; see core/secrets). */
  secretStore: SecretStore;
  /** Where agentspaces are published (AGENTRY_OCI_REGISTRY_DEFAULT) and the logins for other OCI registries. */
  agentspaceOci?: ArtifactOptions;
  /** The server-side folders skills may be validated from (under AGENTRY_SKILLS_ROOT, read by an adapter); none when unset. */
  skillFolders?: SkillFolderSource;
  /** The scope PraisonAI's unscoped recipe names map onto (default `recipes`). */
  recipeScope?: string;
  /** Rate limits (agentx's: per IP, per user, publishes per user) and where their counters live; absent: none. */
  rateLimits?: { store: RateLimitStore; rules: RateLimitRules; onStoreError?: (e: unknown) => void };
  /** The scope single-level OCI repository names (`/v2/app/…`) belong to; absent: they are refused with NAME_INVALID. */
  ociDefaultScope?: string;
  /**
   * Blob downloads (OCI blob GET, `/api/v1/blobs/…`) answer 307 to a signed URL of the blob store
   * valid for `expiresInSeconds`, after the access check; absent: the server streams every download.
   */
  blobRedirects?: { signer: BlobUrlSigner; expiresInSeconds: number };
  /** Sign-in through an OAuth2 provider (agentx's GitHub sign-in); absent: not offered. */
  signIn?: SignInConfig;
  /** Fetches A2A agent cards by URL (through the egress policy) for imports; absent: only cards sent whole are imported. */
  a2aCards?: AgentCardSource;
  /** The managed-agents plane's settings (file size limit, embeddings endpoint, …). */
  managed?: ManagedOptions;
  /** Running MCP servers (ToolHive's workloads): where they are kept, how they start, where their logs go. Absent: not offered. */
  workloads?: { store: WorkloadStore; launcher: WorkloadLauncher; logs: WorkloadLogs; sharedLogs?: WorkloadLogs; sharedIdleStopMs?: number; timings?: Partial<SupervisorTimings> };
  /** ToolHive-style groups and client registrations (absent: an in-memory store is not offered; groups and clients are refused). */
  groups?: GroupStore;
  /** Where eval runs are kept; absent: evals are not offered (the routes answer 501). `wake` tells this process's runner of a new or cancelled run. */
  evals?: { store: EvalStore; wake?: (id: string) => void };
  /** The MCP client settings files of the account the server runs as, and its platform (for their paths). */
  clientFiles?: { files: ClientConfigFiles; platform: ClientPlatform };
  /** Where skill installs are recorded and the clients' skills folders they write (needs clientFiles for the platform). Absent: installs are not offered. */
  skillInstalls?: { store: SkillInstallStore; folders: SkillFolders };
  /** Pull-through mirrors: where upstreams are kept and how each kind's upstream is reached. Absent: not offered. */
  mirrors?: {
    store: MirrorStore;
    oci?: OciUpstream;
    agentry?: AgentryUpstream;
    syncs?: { store: MirrorSyncStore; wake?: (id: string) => void };
    /** MCP upstreams: how they are read, where their listings are cached, the namespaces pinned to this registry, who hears of a stale listing. */
    mcp?: { upstream: McpUpstream; cache: McpMirrorCache; pinned?: readonly string[]; onStale?: (mirror: string, url: string, e: unknown) => void };
  };
  /** Webhooks of users and orgs: where they and their deliveries are kept, how deliveries go out; `wake` tells this process's dispatcher of new deliveries. Absent: not offered (501). */
  webhooks?: { store: WebhookStore; sender: WebhookSender; wake?: () => void };
  /** Told when a listener of domain events (webhooks) failed on one; never given secret values. */
  onEventError?: (e: unknown, event: DomainEvent) => void;
  /**
   * Semantic and hybrid package search (core/search): where package vectors are kept, the embeddings
   * endpoint and model; `wake` tells this process's PackageEmbedder a package was queued. Absent: keyword search only.
   */
  semanticSearch?: { vectors: PackageVectorStore; embedder: Embedder; model: string; wake?: () => void };
}

/**
 * The core, assembled: every door holds one `Registry` and calls its services.
 *
 * @example
 *   const registry = new Registry({ storage, blobs, limits });
 *   const ctx = { principal: await registry.tokens.authenticate(secret), ip };
 *   await registry.packages.publish(ctx, { scope: 'alice', name: 'helper', tarball });
 */
export class Registry {
  readonly storage: Storage;
  readonly blobs: BlobStore;
  readonly policy: AccessPolicy;
  readonly auditLog: AuditLog;
  readonly tokens: TokenService;
  readonly accounts: AccountService;
  readonly packages: PackageService;
  /** Remote A2A agents published as agent packages (issue 20). */
  readonly a2aImports: A2aImports;
  /** Deprecate, unpublish, version status and dist-tags: what happens to versions after their publish. */
  readonly packageLifecycle: PackageLifecycle;
  readonly gc: GarbageCollector;
  /** The only way a door reads blob bytes: through an object the caller may read that refers to them. */
  readonly blobAccess: BlobAccess;
  readonly oci: OciService;
  readonly signatures: SignatureService;
  readonly scopes: ScopeService;
  readonly secrets: SecretService;
  readonly agentspaces: AgentspaceService;
  readonly agentspaceAgents: AgentspaceAgents;
  readonly agentspaceSecrets: AgentspaceSecrets;
  readonly agentspaceParameters: AgentspaceParameters;
  readonly agentspaceArtifacts: AgentspaceArtifacts;
  readonly skills: SkillService;
  readonly recipes: RecipeService;
  readonly rateLimiter: RateLimiter | undefined;
  readonly stars: StarService;
  readonly discovery: DiscoveryService;
  /** A package's downloads per day and the files of a version (the web console's package page). */
  readonly insights: PackageInsights;
  readonly telemetry: TelemetryService;
  readonly signIn: SignInService;
  readonly managed: ManagedAgents;
  /** The one routine that runs an agent turn as a session (A2A, the MCP "run agent" tool). */
  readonly agentTurns: AgentTurns;
  /** A2A serving (issue 20): the agents each caller may run, described for their cards, and their tasks. */
  readonly a2a: { agents: ServedAgents; tasks: A2aTasks };
  /** MCP servers this server runs and proxies; undefined when the server was built without a runtime. */
  readonly workloads: WorkloadService | undefined;
  readonly groups: GroupService | undefined;
  readonly clients: ClientService | undefined;
  readonly skillInstalls: SkillInstalls | undefined;
  /** The secrets of ToolHive's `/api/v1beta/secrets`, one set per account. */
  readonly toolhiveSecrets: ToolhiveSecrets;
  /** Eval runs of managed agents (issue 14); undefined when the server was built without an eval store. */
  readonly evals: EvalService | undefined;
  /** Upstreams (pull-through mirrors, issue 18); undefined when the server was built without a mirror store. */
  readonly mirrors: MirrorService | undefined;
  /** Agentry upstreams of packages (agents, skills, recipes): on-demand fetches and `syncAgentryMirror`'s deps. */
  readonly agentryMirror: AgentryMirror | undefined;
  /** Sync jobs of mirrors; undefined when the server keeps no sync jobs. Its `syncers` are what the background runner drives. */
  readonly mirrorSyncs: MirrorSyncService | undefined;
  /** MCP upstreams shown in the MCP and ToolHive views; undefined when not offered. */
  readonly mcpMirrors: McpMirrors | undefined;
  /** What happened, once committed (package writes, session and workload statuses): webhooks listen. */
  readonly events: DomainEvents;
  /** Webhooks of users and orgs (issue 18); undefined when the server was built without a webhook store. */
  readonly webhooks: WebhookService | undefined;

  constructor(opts: RegistryOptions) {
    const clock = opts.clock ?? systemClock;
    this.storage = opts.storage;
    this.blobs = opts.blobs;
    this.policy = new AccessPolicy(opts.storage, opts.readOnly ?? false, {
      defaultVisibility: opts.defaultVisibility,
      authRequiredForReads: opts.authRequiredForReads,
    });
    this.auditLog = new AuditLog(clock);
    this.events = new DomainEvents(opts.storage, opts.onEventError);
    const deps: CoreDeps = { storage: opts.storage, blobs: opts.blobs, policy: this.policy, audit: this.auditLog, clock, events: this.events };
    this.tokens = new TokenService(deps);
    this.accounts = new AccountService(deps, this.tokens);
    this.packages = new PackageService(deps, opts.limits);
    const semantic = opts.semanticSearch;
    if (semantic) {
      this.packages.useSemanticSearch(new SemanticSearch({ packages: opts.storage.packages, vectors: semantic.vectors, embedder: semantic.embedder, model: semantic.model }), () => semantic.wake?.());
    }
    this.a2aImports = new A2aImports(this.packages, opts.a2aCards);
    this.packageLifecycle = new PackageLifecycle(deps, this.packages);
    this.gc = new GarbageCollector(deps);
    const redirects = new BlobRedirects(opts.blobRedirects?.signer, opts.blobRedirects?.expiresInSeconds);
    this.oci = new OciService(deps, this.packages, {
      uploads: opts.uploads,
      redirects,
      defaultScope: opts.ociDefaultScope,
      maxPackageBytes: opts.maxTarballBytes ?? 50 * 1024 * 1024,
    });
    this.blobAccess = new BlobAccess(deps, this.oci.access, redirects);
    this.mirrors = opts.mirrors && new MirrorService(deps, opts.mirrors.store, opts.secretStore, this.accounts);
    const ociMirror = this.mirrors && new OciMirror(deps, this.mirrors, opts.mirrors?.oci, redirects);
    if (ociMirror) this.oci.useMirrors(ociMirror);
    const mcp = opts.mirrors?.mcp;
    this.mcpMirrors = this.mirrors && mcp && new McpMirrors(deps, this.mirrors, this.packages, mcp.cache, mcp.upstream, { pinned: mcp.pinned, onStale: mcp.onStale });
    this.gc.addSweeper('oci_uploads', (now, dryRun) => this.oci.uploads.purgeAbandoned(now, dryRun));
    this.scopes = new ScopeService(deps);
    this.signatures = new SignatureService(deps, this.packages, this.oci, this.scopes);
    this.packages.publisher.signPublishes(this.signatures);
    const agentryUpstream = opts.mirrors?.agentry;
    this.agentryMirror =
      this.mirrors &&
      agentryUpstream &&
      new AgentryMirror(deps, this.mirrors, agentryUpstream, this.packages, (pkg, v, bundle) => this.signatures.copyMirrored(pkg, v, bundle), opts.maxTarballBytes ?? 50 * 1024 * 1024);
    if (this.agentryMirror) this.packages.useMirrors(this.agentryMirror);
    const packageMirror = this.agentryMirror;
    // A mirror's new visibility reaches the packages it fetched at once (OCI and MCP reads ask the mirror itself).
    if (packageMirror) this.mirrors?.onVisibilityChange(async (m) => (m.kind === 'agentry' ? packageMirror.applyVisibility(m) : undefined));
    const syncs = opts.mirrors?.syncs;
    // The syncer of each mirror kind: one line per kind.
    const syncers: MirrorSyncers = {};
    if (ociMirror && opts.mirrors?.oci) syncers.oci = (m, o) => syncOciMirror({ oci: ociMirror, clock }, m, o);
    const agentryMirror = this.agentryMirror;
    if (agentryMirror) syncers.agentry = (m, o) => syncAgentryMirror(agentryMirror, m, o);
    const mcpMirrors = this.mcpMirrors;
    if (mcpMirrors) syncers.mcp = (m, o) => syncMcpMirror(mcpMirrors.syncDeps, m, o);
    this.mirrorSyncs =
      this.mirrors &&
      syncs &&
      new MirrorSyncService(deps, this.mirrors, syncs.store, syncers, (id) => syncs.wake?.(id), {
        oci: (f) => void parseOciSyncFilter(f),
        agentry: (f) => void parseAgentrySyncFilter(f),
        mcp: refuseMcpSyncFilter,
      });
    this.stars = new StarService(deps, this.packages);
    this.discovery = new DiscoveryService(deps);
    this.telemetry = new TelemetryService(deps, this.packages);
    this.signIn = new SignInService(deps, this.accounts, this.tokens, opts.signIn);
    this.secrets = new SecretService(deps, opts.secretStore);
    const webhooks = opts.webhooks;
    this.webhooks = webhooks && new WebhookService(deps, webhooks.store, this.secrets, webhooks.sender, () => webhooks.wake?.());
    this.agentspaces = new AgentspaceService(deps, this.secrets);
    this.agentspaceAgents = new AgentspaceAgents(deps, this.secrets);
    this.agentspaceSecrets = new AgentspaceSecrets(deps, this.secrets);
    this.agentspaceParameters = new AgentspaceParameters(deps);
    this.agentspaceArtifacts = new AgentspaceArtifacts(deps, this.agentspaces, opts.agentspaceOci, this.oci);
    this.insights = new PackageInsights(deps, this.packages, this.blobAccess, opts.limits);
    this.skills = new SkillService(this.packages, this.blobAccess, opts.limits, opts.skillFolders, this.oci);
    this.recipes = new RecipeService(this.packages, this.packageLifecycle, this.accounts, opts.recipeScope);
    this.rateLimiter = opts.rateLimits && new RateLimiter(opts.rateLimits.store, opts.rateLimits.rules, clock, opts.rateLimits.onStoreError);
    const limiter = this.rateLimiter;
    if (limiter) this.packages.publisher.gatePublishes((account) => limiter.requirePublishBudget(account));
    const groupStore = opts.groups;
    this.workloads =
      opts.workloads &&
      new WorkloadService(deps, {
        ...opts.workloads,
        packages: this.packages,
        secrets: this.secrets,
        groupExists: groupStore && (async (name: string) => (await groupStore.get(name)) !== undefined),
      });
    this.toolhiveSecrets = new ToolhiveSecrets(this.secrets, this.policy);
    this.groups = opts.groups && new GroupService(deps, opts.groups);
    const workloads = this.workloads;
    if (workloads) this.groups?.onDelete((group, withWorkloads) => workloads.groupDeleted(group, withWorkloads));
    this.clients = opts.groups && opts.clientFiles && new ClientService(deps, opts.groups, opts.clientFiles.files, opts.clientFiles.platform);
    this.skillInstalls = opts.skillInstalls && opts.clientFiles && new SkillInstalls(deps, this.skills, opts.skillInstalls.store, opts.skillInstalls.folders, opts.groups, opts.clientFiles.platform);
    const managedDeps = { ...deps, blobAccess: this.blobAccess, packages: this.packages, secrets: this.secrets };
    this.managed = new ManagedAgents(managedDeps, this.tokens, opts.managed);
    const agentspaceRuns = new AgentspaceRuns(deps, this.agentspaceAgents, this.managed.agents, this.managed.modelCards);
    this.managed.sessions.resolveAgentsOfType('agentspace', (ctx, ref) => agentspaceRuns.resolve(ctx, ref));
    this.agentTurns = new AgentTurns(this.managed.sessions, this.managed.agents, this.managed.environments);
    this.a2a = { agents: new ServedAgents(managedDeps, this.packages, this.managed.agents, this.agentspaceAgents), tasks: new A2aTasks(deps) };
    const evals = opts.evals;
    this.evals = evals && new EvalService(managedDeps, this.managed.agents, this.managed.sessions, evals.store, (id) => evals.wake?.(id));
  }

  /**
   * Wires running workloads into the MCP clients registered to their groups (ToolHive's model):
   * a workload whose proxy comes up is written into those clients' settings files at
   * `<baseUrl>/workloads/<name>/mcp` (or `/sse`), and leaves them when stopped, deleted or moved;
   * a client registered later gets the running ones. Called by the composition root once it knows
   * its own URL, before workloads resume.
   */
  connectWorkloadsToClients(baseUrl: string): void {
    const { workloads, clients } = this;
    if (!workloads || !clients) return;
    const endpoint = (r: WorkloadRecord): WorkloadEndpoint => ({
      name: r.name,
      group: r.config.group,
      transport: r.config.proxyMode,
      url: `${baseUrl.replace(/\/+$/, '')}${workloadProxyPath(r.name, r.config.proxyMode)}`,
    });
    clients.useWorkloads({ running: async () => (await workloads.running()).map(endpoint) });
    workloads.useClients({ running: (r) => clients.addServer(endpoint(r)), gone: (name, group) => clients.removeServer(name, group) });
  }

  /** Whether this process can serve: the database answers, migrations are applied, the blob store takes writes. */
  readiness(): Promise<Readiness> {
    return checkReadiness(this.storage, this.blobs);
  }

  /** Admin only: the audit log, newest first. */
  audit(ctx: RequestContext, q: AuditQuery) {
    this.policy.requireAdmin(ctx);
    return this.auditLog.list(this.storage.audit, q);
  }

  /** Anyone signed in: the entries of what their own account did (the actor is the caller), newest first. */
  ownAudit(ctx: RequestContext, q: Omit<AuditQuery, 'actor'>) {
    const p = this.policy.requirePrincipal(ctx);
    return this.auditLog.list(this.storage.audit, { ...q, actor: p.account.name });
  }
}
