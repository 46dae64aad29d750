import { readFileSync } from 'node:fs';
import { buildHttpApp } from '../api/http-app.js';
import { routeTableOf, type RouteEntry } from '../api/shared/route-table.js';
import { Registry } from '../core/registry.js';
import { openStorage } from '../storage/open-storage.js';
import { openRateLimitStore } from '../storage/open-rate-limit-store.js';
import { HttpOAuthClient } from './oauth/http-oauth-client.js';
import type { ServerConfig } from './config.js';
import { openSecretStore } from './secrets-config.js';
import { readDockerConfig } from '../core/oci-client/index.js';

/** Logins for OCI registries other than this server: the server user's docker config (DOCKER_CONFIG). */
const dockerLogins = async (host: string) => (await readDockerConfig()).get(host);

export interface RunningServer {
  url: string;
  /** Set only when this start created the admin account and generated its token. */
  adminToken?: string;
  /** Every route the server answers (method and URL pattern). */
  routes: readonly RouteEntry[];
  close(): Promise<void>;
}

const packageVersion = (): string => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
};

/** The composition root: opens storage, assembles the core, mounts the doors, listens. */
export const startServer = async (config: ServerConfig): Promise<RunningServer> => {
  const { storage, blobs, uploads } = await openStorage(config);
  let secretStore;
  let rateLimitStore;
  try {
    secretStore = await openSecretStore(config.secrets, config.dataDir, storage, config.env);
    rateLimitStore = await openRateLimitStore(config);
  } catch (e) {
    await storage.close();
    blobs.close?.();
    throw e;
  }
  let storeErrorLogged = 0;
  let warn: (e: unknown) => void = () => undefined;
  const registry = new Registry({
    secretStore,
    agentspaceOci: { defaultRegistry: config.ociRegistryDefault, credentials: dockerLogins },
    storage,
    blobs,
    uploads,
    maxTarballBytes: config.limits.maxTarballBytes,
    readOnly: config.readOnly,
    defaultVisibility: config.defaultVisibility,
    authRequiredForReads: config.authRequiredForReads,
    skillsRoot: config.skillsRoot,
    recipeScope: config.recipeScope,
    managed: { maxFileBytes: config.limits.maxFileBytes, maxUnpackedBytes: config.limits.maxUnpackedBytes, embeddings: config.embeddings },
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
    signIn: config.oauth && {
      client: new HttpOAuthClient(config.oauth),
      allowedRedirectUris: [...config.oauth.redirectUris, ...(config.publicUrl ? [`${config.publicUrl}/api/v1/auth/callback`] : [])],
      defaultRedirectUri: config.publicUrl ? `${config.publicUrl}/api/v1/auth/callback` : undefined,
      tokenDays: config.oauth.tokenDays,
    },
  });
  let app;
  try {
    const boot = await registry.accounts.bootstrapAdmin(config.adminToken);
    await registry.recipes.ensureScope();
    await registry.packages.followChanges();
    app = await buildHttpApp({
      registry,
      version: packageVersion(),
      publicUrl: config.publicUrl,
      maxBodyBytes: config.limits.maxBodyBytes,
      maxTarballBytes: config.limits.maxTarballBytes,
      logLevel: config.logLevel,
      logStream: config.logStream,
      metricsToken: config.metricsToken,
    });
    const log = app.log;
    warn = (e) => log.warn({ err: e }, 'rate-limit store failed; requests are let through until it answers');
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const running = app;
    const selfHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : host;
    registry.agentspaceArtifacts.useSelfRegistry(config.publicUrl ?? `http://${selfHost}:${port}`);
    return {
      url: `http://${host}:${port}`,
      adminToken: boot.secret,
      routes: routeTableOf(running),
      close: async () => {
        await running.close();
        await rateLimitStore.close();
        await storage.close();
        blobs.close?.();
      },
    };
  } catch (e) {
    await app?.close();
    await rateLimitStore.close();
    await storage.close();
    blobs.close?.();
    throw e;
  }
};
