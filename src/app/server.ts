import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildHttpApp } from '../api/http-app.js';
import { compileRouteSchemasOf, routeTableOf, type RouteEntry } from '../api/shared/route-table.js';
import { Registry } from '../core/registry.js';
import { ClientConfigFileEditor } from '../adapters/client-config/config-file-editor.js';
import { SkillFolderReader } from '../adapters/skill-folders/skill-folder-reader.js';
import { SkillFolderWriter } from '../adapters/skill-folders/skill-folder-writer.js';
import type { ClientPlatform } from '../core/clients/client-apps.js';
import { openStorage } from '../storage/open-storage.js';
import { openRateLimitStore } from '../storage/open-rate-limit-store.js';
import { HttpOAuthClient } from '../adapters/oauth/http-oauth-client.js';
import { httpCapabilityProbe } from '../adapters/capability-probe/http-capability-probe.js';
import { EgressPolicy } from '../adapters/egress/index.js';
import { SlackWebApi } from '../adapters/integrations/slack-web-api.js';
import { EmbeddingsClient } from '../adapters/embeddings/embeddings-client.js';
import { A2aRemoteAgentClient } from '../adapters/a2a/a2a-client.js';
import { HttpAgentCardSource } from '../adapters/a2a/card-fetcher.js';
import { ociRegistryPort } from './oci-registry.js';
import { HttpOciUpstream } from '../adapters/mirrors/oci-upstream.js';
import { HttpAgentryUpstream } from '../adapters/mirrors/agentry-upstream.js';
import { HttpMcpUpstream } from '../adapters/mirrors/mcp-upstream.js';
import { SelfRegistryRouter } from './self-registry.js';
import type { ServerConfig } from './config.js';
import { openSecretStore } from './secrets-config.js';
import { readDockerConfig } from '../adapters/oci-client/index.js';
import { join } from 'node:path';
import { BubblewrapSandbox } from '../adapters/sandbox/bubblewrap.js';
import { UnsandboxedRunner } from '../adapters/sandbox/unsandboxed.js';
import { ProcessLauncher } from '../adapters/workloads/launcher.js';
import { LogFiles } from '../adapters/workloads/log-files.js';
import { modelClients } from '../adapters/model-providers/index.js';
import { LocalSessionBus, type SessionBus } from '../core/sessions/event-bus.js';
import { SessionRuntime } from '../core/sessions/session-runtime.js';
import { ThreadRunner } from '../core/sessions/threads/thread-runner.js';
import { EvalRunner } from '../core/evals/eval-runner.js';
import { WebhookDispatcher } from '../core/webhooks/webhook-dispatcher.js';
import { MirrorSyncRunner } from '../core/mirrors/mirror-sync-runner.js';
import { PackageEmbedder } from '../core/search/package-embedder.js';
import { HttpWebhookSender } from '../adapters/webhooks/http-webhook-sender.js';
import { isolatedRegexTest } from '../adapters/regex/isolated-regex.js';
import { PublishCheckPool } from '../adapters/publish-check/check-pool.js';
import { ToolsetExecutor } from '../core/sessions/builtin-tools.js';
import { createMcpToolsets, createSessionMounts } from './session-mcp.js';
import { systemClock } from '../core/time.js';
import { PeriodicJob } from '../core/jobs/periodic-job.js';
import { LEXEME_PRUNE_CHECK_MS, LEXEME_PRUNE_PERIOD_MS, type LexemePruneReport } from '../core/search/lexeme-prune.js';
import { PostgresSessionBus } from '../storage/postgres/session-bus.js';
import { createToolRuntime, workspacesDirOf } from './tool-runtime.js';
import type { ToolRuntime } from '../core/tools/builtin-toolset.js';

/** Logins for OCI registries other than this server: the server user's docker config (DOCKER_CONFIG). */
const dockerLogins = async (host: string) => (await readDockerConfig()).get(host);

export interface RunningServer {
  url: string;
  /** Set only when this start created the admin account and generated its token. */
  adminToken?: string;
  /** Every route the server answers (method and URL pattern). */
  routes: readonly RouteEntry[];
  /** Compiles the request and response schemas of every route that has not answered yet (they compile on first use); how many. */
  compileSchemas(): number;
  /** Lines the server says at start besides where it listens (e.g. that agents' bash is refused: no sandbox). */
  notices: string[];
  /** The built-in toolset of managed-agent sessions (bash, read, write, edit, glob, grep, web_fetch). */
  tools: ToolRuntime;
  /**
   * Stops the server gracefully: no new connections, idle keep-alive sockets closed at once,
   * requests in flight allowed `graceMs` (default 10 s) to finish before their sockets are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** How long requests in flight may take to finish once the server is stopping. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** The platform whose client settings paths apply (anything else follows Linux's). */
const clientPlatform = (): ClientPlatform => (process.platform === 'darwin' || process.platform === 'win32' ? process.platform : 'linux');

const packageVersion = (): string => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
};

/** The composition root: opens storage, assembles the core, mounts the doors, listens. */
export const startServer = async (config: ServerConfig, opts: { http?: boolean } = {}): Promise<RunningServer> => {
  // Every outbound request the server makes goes through this one policy.
  const egress = new EgressPolicy({ allow: config.egressAllow });
  const outbound = new SelfRegistryRouter(egress);
  const tools = createToolRuntime(config, egress);
  const {
    storage,
    blobs,
    uploads,
    groups,
    workloads: workloadStore,
    evals: evalStore,
    webhooks: webhookStore,
    skillInstalls,
    mirrors,
    mirrorSyncs,
    mcpMirrorCache,
    packageVectors,
    lexemes,
    signer,
    viewStamps,
  } = await openStorage(config);
  let secretStore;
  let rateLimitStore;
  try {
    secretStore = await openSecretStore(config.secrets, config.dataDir, storage, config.env, egress);
    rateLimitStore = await openRateLimitStore(config);
  } catch (e) {
    await storage.close();
    await blobs.close?.();
    throw e;
  }
  let sessionBus: SessionBus;
  if (config.databaseUrl) {
    const bus = new PostgresSessionBus(config.databaseUrl, config.databaseSchema ?? 'public');
    try {
      await bus.start();
    } catch (e) {
      await storage.close();
      await blobs.close?.();
      throw e;
    }
    sessionBus = bus;
  } else sessionBus = new LocalSessionBus();
  // The eval runner is made once the core is: a new run wakes it through this.
  let evalRunner: EvalRunner | undefined;
  let storeErrorLogged = 0;
  let integrationLog: (e: unknown, integrationId: string) => void = () => undefined;
  let warn: (e: unknown) => void = () => undefined;
  let webhookLog: (e: unknown, where: string) => void = () => undefined;
  let mirrorSyncLog: (e: unknown, jobId: string) => void = () => undefined;
  // Made once the core is (it drives the core's syncers): a new or cancelled job wakes it through this.
  let mirrorSyncRunner: MirrorSyncRunner | undefined;
  let mirrorLog: (mirror: string, url: string, e: unknown) => void = () => undefined;
  let lexemeLog: (e: unknown, report?: LexemePruneReport) => void = () => undefined;
  // PostgreSQL: the lexemes publishes left behind are pruned once a day, by one process of several.
  const lexemePrune =
    lexemes &&
    new PeriodicJob({
      leases: lexemes.leases,
      clock: systemClock,
      id: lexemes.jobId,
      workerPrefix: 'lxp',
      periodMs: LEXEME_PRUNE_PERIOD_MS,
      checkMs: LEXEME_PRUNE_CHECK_MS,
      run: async (signal) => lexemeLog(undefined, await lexemes.prune(signal)),
      onError: (e) => lexemeLog(e),
    });
  // One embeddings client for memory-store search and package search (the same setting).
  const embedder = config.embeddings && new EmbeddingsClient(config.embeddings, egress);
  let embedderLog: (e: unknown) => void = () => undefined;
  const packageEmbedder =
    config.embeddings && embedder ? new PackageEmbedder({ store: packageVectors, embedder, model: config.embeddings.model, clock: systemClock }, (e) => embedderLog(e)) : undefined;
  const webhookSender = new HttpWebhookSender(egress);
  const webhookDispatcher = new WebhookDispatcher(
    { store: webhookStore, accounts: storage.accounts, secrets: secretStore, sender: webhookSender, clock: systemClock },
    { retryBaseMs: config.webhooks.retryBaseMs, maxAttempts: config.webhooks.maxAttempts, onError: (e, id) => webhookLog(e, id) },
  );
  const registry = new Registry({
    webhooks: { store: webhookStore, sender: webhookSender, wake: () => webhookDispatcher.wake() },
    onEventError: (e, event) => webhookLog(e, event.type),
    semanticSearch: config.embeddings && embedder && { vectors: packageVectors, embedder, model: config.embeddings.model, wake: () => packageEmbedder?.wake() },
    secretStore,
    groups,
    a2aCards: new HttpAgentCardSource(egress),
    clientFiles: { files: new ClientConfigFileEditor(config.clientsHome), platform: clientPlatform() },
    evals: { store: evalStore, wake: (id) => evalRunner?.wake(id) },
    skillInstalls: { store: skillInstalls, folders: new SkillFolderWriter(config.clientsHome) },
    mirrors: {
      store: mirrors,
      oci: new HttpOciUpstream({ fetch: egress.fetch, downloadDir: join(config.dataDir, 'mirror-downloads') }),
      agentry: new HttpAgentryUpstream({ fetch: egress.fetch }),
      syncs: { store: mirrorSyncs, wake: (id) => mirrorSyncRunner?.wake(id) },
      mcp: { upstream: new HttpMcpUpstream({ fetch: egress.fetch }), cache: mcpMirrorCache, pinned: config.mcpPinnedNamespaces, onStale: (m, url, e) => mirrorLog(m, url, e) },
    },
    agentspaceOci: { registryClient: ociRegistryPort(outbound.fetch), defaultRegistry: config.ociRegistryDefault, credentials: dockerLogins },
    storage,
    blobs,
    uploads,
    blobRedirects: config.blobRedirectSeconds !== null && signer ? { signer, expiresInSeconds: config.blobRedirectSeconds } : undefined,
    maxTarballBytes: config.limits.maxTarballBytes,
    ociDefaultScope: config.ociDefaultScope,
    readOnly: config.readOnly,
    defaultVisibility: config.defaultVisibility,
    authRequiredForReads: config.authRequiredForReads,
    skillFolders: config.skillsRoot !== undefined ? new SkillFolderReader(config.skillsRoot) : undefined,
    recipeScope: config.recipeScope,
    managed: {
      maxFileBytes: config.limits.maxFileBytes,
      maxUnpackedBytes: config.limits.maxUnpackedBytes,
      embedder,
      probe: httpCapabilityProbe(egress),
      sessionBus,
      sessions: { heartbeatMs: config.runtimeTiming.heartbeatMs },
      integrations: { chat: new SlackWebApi(egress.fetch), onError: (e, id) => integrationLog(e, id) },
    },
    limits: { maxUnpackedBytes: config.limits.maxUnpackedBytes, maxFiles: config.limits.maxFiles, maxTextFileBytes: 1024 * 1024 },
    rateLimits: {
      store: rateLimitStore,
      rules: config.rateLimits,
      // A Redis outage lets requests through; say so at most once a minute.
      onStoreError: (e) => {
        if (Date.now() - storeErrorLogged < 60_000) return;
        storeErrorLogged = Date.now();
        warn(e);
      },
    },
    workloads: {
      store: workloadStore,
      launcher: new ProcessLauncher({
        sandbox: new BubblewrapSandbox({ egress, bwrapPath: config.bwrapPath }),
        unsandboxed: new UnsandboxedRunner(),
        unsafeLocal: config.unsafeLocalWorkloads,
        packagesDir: join(config.dataDir, 'workloads', 'packages'),
        fetch: egress.fetch,
        egress,
        npmRegistry: config.workloadNpmRegistry,
      }),
      logs: new LogFiles(join(config.dataDir, 'workloads', 'logs')),
      sharedLogs: new LogFiles(join(config.dataDir, 'workloads', 'shared-logs')),
      sharedIdleStopMs: config.sharedWorkloadIdleMs,
      timings: config.workloadTimings,
    },
    signIn: config.oauth && {
      client: new HttpOAuthClient(config.oauth, egress),
      allowedRedirectUris: [
        ...config.oauth.redirectUris,
        ...(config.publicUrl ? [`${config.publicUrl}/api/v1/auth/callback`, `${config.publicUrl}/v1/oauth/${encodeURIComponent(config.oauth.name)}/callback`] : []),
      ],
      defaultRedirectUri: config.publicUrl ? `${config.publicUrl}/api/v1/auth/callback` : undefined,
      tokenDays: config.oauth.tokenDays,
    },
  });
  // Publish checks (gunzip, untar, manifests, secret scan) in a worker thread: the event loop keeps to
  // requests and commits, and the second core takes the checks (one worker: the machine this serves
  // runs SQLite's syncs and the blob writes on libuv's threads too).
  const publishChecks = PublishCheckPool.create(1);
  if (publishChecks) registry.packages.publisher.checkPublishesWith(publishChecks.check);
  mirrorSyncRunner =
    registry.mirrorSyncs &&
    new MirrorSyncRunner(
      { store: mirrorSyncs, mirrors, syncers: registry.mirrorSyncs.syncers, clock: systemClock },
      { leaseMs: config.runtimeTiming.leaseMs, onError: (e, id) => mirrorSyncLog(e, id) },
    );
  let app;
  let runtimeLog: (e: unknown, sessionId: string) => void = () => undefined;
  const toolExecutor = new ToolsetExecutor(tools, createSessionMounts(registry, storage, { egress, workspacesDir: workspacesDirOf(config) }));
  const mcpToolsets = createMcpToolsets(registry, storage, egress);
  const runtime = config.runtime
    ? new SessionRuntime(
        {
          storage,
          log: registry.managed.sessions.log,
          sessions: registry.managed.sessions,
          endpointFor: (accountId, modelId) => registry.managed.modelCards.endpointFor(accountId, modelId),
          models: modelClients(egress),
          tools: toolExecutor,
          mcp: mcpToolsets,
          remoteAgents: {
            client: new A2aRemoteAgentClient(egress),
            credential: (accountId, vaultIds, url) => registry.managed.vaults.tokenForOrigin(accountId, vaultIds, url),
          },
          threads: new ThreadRunner(
            {
              storage,
              log: registry.managed.sessions.log,
              endpointFor: (accountId, modelId) => registry.managed.modelCards.endpointFor(accountId, modelId),
              models: modelClients(egress),
              tools: toolExecutor,
              clock: systemClock,
            },
            { retryBaseMs: config.runtimeTiming.retryBaseMs },
          ),
          clock: systemClock,
        },
        {
          leaseMs: config.runtimeTiming.leaseMs,
          retryBaseMs: config.runtimeTiming.retryBaseMs,
          outcomeHeartbeatMs: config.runtimeTiming.heartbeatMs,
          maxConcurrent: config.maxRunningSessions,
          onError: (e, id) => runtimeLog(e, id),
        },
      )
    : undefined;
  // Evals run their trials as sessions, so they are driven where sessions run.
  evalRunner = config.runtime
    ? new EvalRunner(
        {
          store: evalStore,
          storage,
          sessions: registry.managed.sessions,
          bus: registry.managed.sessions.log.bus,
          tools,
          endpointFor: (accountId, modelId) => registry.managed.modelCards.endpointFor(accountId, modelId),
          models: modelClients(egress),
          regexTest: isolatedRegexTest(),
          clock: systemClock,
        },
        { leaseMs: config.runtimeTiming.leaseMs, onError: (e, id) => runtimeLog(e, id) },
      )
    : undefined;
  const stopRuntime = async (): Promise<void> => {
    await webhookDispatcher.stop();
    await packageEmbedder?.stop();
    await mirrorSyncRunner?.stop();
    await lexemePrune?.stop();
    await evalRunner?.stop();
    await registry.managed.integrations.close();
    await runtime?.stop();
    await toolExecutor.close();
    await mcpToolsets.close();
    await sessionBus.close();
  };
  try {
    const boot = await registry.accounts.bootstrapAdmin(config.adminToken);
    await registry.recipes.ensureScope();
    await registry.packages.followChanges(viewStamps);
    // Before any write: which accounts have webhooks (writes about anybody else's objects then query nothing for them).
    await registry.webhooks?.start();
    if (opts.http === false) {
      runtimeLog = (e, sessionId) => process.stderr.write(`session runtime failed${sessionId ? ` (${sessionId})` : ''}: ${e instanceof Error ? e.message : String(e)}\n`);
      runtime?.start();
      evalRunner?.start();
      webhookDispatcher.start();
      mirrorSyncRunner?.start();
      lexemeLog = (e) => {
        if (e !== undefined) process.stderr.write(`package lexeme prune failed: ${e instanceof Error ? e.message : String(e)}\n`);
      };
      lexemePrune?.start();
      embedderLog = (e) => process.stderr.write(`package embeddings failed: ${e instanceof Error ? e.message : String(e)}\n`);
      await packageEmbedder?.start();
      const status = await tools.status();
      return {
        url: '',
        routes: [],
        compileSchemas: () => 0,
        notices: status.bash === 'sandboxed' ? [] : [`Agent tools: ${status.message}`],
        tools,
        close: async () => {
          await stopRuntime();
          // Sessions run their packages' MCP servers as shared workloads: their processes end here.
          await registry.workloads?.shutdown();
          await publishChecks?.close();
          await egress.close();
          await rateLimitStore.close();
          await storage.close();
          await blobs.close?.();
        },
      };
    }
    app = await buildHttpApp({
      registry,
      version: packageVersion(),
      publicUrl: config.publicUrl,
      maxBodyBytes: config.limits.maxBodyBytes,
      maxTarballBytes: config.limits.maxTarballBytes,
      logLevel: config.logLevel,
      logStream: config.logStream,
      metricsToken: config.metricsToken,
      trustProxy: config.trustProxy,
      consoleRoot: fileURLToPath(new URL('../../dist/console/', import.meta.url)),
    });
    const log = app.log;
    egress.useLogger((fields, message) => log.debug(fields, message));
    warn = (e) => log.warn({ err: e }, 'rate-limit store failed; requests are let through until it answers');
    integrationLog = (e, integrationId) => log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e), integration: integrationId }, 'integration reply failed');
    mirrorLog = (mirror, url, e) =>
      log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e), mirror, upstream: url }, 'MCP upstream could not be read: its cached listing is served (stale)');
    webhookLog = (e, where) => log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e), webhook: where }, 'webhook delivery failed');
    embedderLog = (e) => log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e) }, 'package embeddings failed; the packages stay queued and are tried again');
    mirrorSyncLog = (e, id) => log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e), mirror_sync: id }, 'mirror sync failed');
    lexemeLog = (e, report) => {
      if (e !== undefined) log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e) }, 'package lexeme prune failed; the next period tries again');
      else if (report) log.info({ lexemes: report }, 'package lexemes pruned');
    };
    runtimeLog = (e, sessionId) => log.error({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e), session: sessionId }, 'session runtime failed');
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const selfHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : host;
    const selfUrl = config.publicUrl ?? `http://${selfHost}:${port}`;
    // Before workloads resume: those that come back are written into their groups' clients again.
    registry.connectWorkloadsToClients(selfUrl);
    const workloads = registry.workloads;
    if (workloads) {
      const caps = await workloads.capabilities();
      if (!caps.sandbox.available) {
        log.warn(
          caps.unsafeLocal
            ? `MCP workloads run WITHOUT a sandbox (--unsafe-local-workloads): ${caps.sandbox.reason ?? ''}`
            : `local MCP workloads are refused: ${caps.sandbox.reason ?? 'the sandbox is unavailable'} (start with --unsafe-local-workloads to run them without isolation)`,
        );
      }
      await workloads.resume();
    }
    const running = app;
    registry.agentspaceArtifacts.useSelfRegistry(selfUrl);
    runtime?.start();
    evalRunner?.start();
    webhookDispatcher.start();
    mirrorSyncRunner?.start();
    lexemePrune?.start();
    await packageEmbedder?.start();
    // Packages stored before their detail documents were kept (or whose owner's profile changed) get them now.
    registry.packages
      .fillDocuments()
      .then((written) => {
        if (written > 0) log.info({ documents: written }, 'package detail documents written (on PostgreSQL, run VACUUM ANALYZE packages now: see the README)');
      })
      .catch((e: unknown) =>
        log.warn({ err: e instanceof Error ? { message: e.message, name: e.name } : String(e) }, 'package document fill failed; it is tried again on the next read of a package without one'),
      );
    // This server's own /v2/ is reached in-process, never through the egress policy.
    outbound.useApp(app, [new URL(selfUrl).host, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
    const toolStatus = await tools.status();
    if (toolStatus.bash === 'sandboxed') log.info({ tools: toolStatus.bash }, toolStatus.message);
    else log.warn({ tools: toolStatus.bash }, toolStatus.message);
    return {
      url: `http://${host}:${port}`,
      adminToken: boot.secret,
      routes: routeTableOf(running),
      compileSchemas: () => compileRouteSchemasOf(running),
      notices: toolStatus.bash === 'sandboxed' ? [] : [`Agent tools: ${toolStatus.message}`],
      tools,
      close: async (graceMs = SHUTDOWN_GRACE_MS) => {
        // Fastify stops listening, closes the idle keep-alive sockets (forceCloseConnections:
        // 'idle') and answers further requests on busy ones with 503 and `Connection: close`.
        // A socket whose request finishes meanwhile is idle too: closed within 100 ms, not left
        // to its keep-alive timeout. What still runs after the grace period loses its socket.
        const closing = running.close();
        const sweep = setInterval(() => running.server.closeIdleConnections(), 100);
        const timer = setTimeout(() => running.server.closeAllConnections(), graceMs);
        // Turns in progress stop and their sessions stay running, for another worker to take.
        const runtimeStopped = stopRuntime();
        try {
          await closing;
        } finally {
          clearInterval(sweep);
          clearTimeout(timer);
        }
        await runtimeStopped;
        await registry.packages.stopFillingDocuments();
        await registry.workloads?.shutdown();
        await publishChecks?.close();
        await egress.close();
        await rateLimitStore.close();
        await storage.close();
        await blobs.close?.();
      },
    };
  } catch (e) {
    await stopRuntime();
    await app?.close();
    // A start that failed after workloads resumed must not leave their processes running.
    await registry.workloads?.shutdown().catch(() => undefined);
    await publishChecks?.close();
    await rateLimitStore.close();
    await storage.close();
    await blobs.close?.();
    throw e;
  }
};
