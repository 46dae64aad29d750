import { readFileSync } from 'node:fs';
import { buildHttpApp } from '../api/http-app.js';
import { Registry } from '../core/registry.js';
import { openStorage } from '../storage/open-storage.js';
import type { ServerConfig } from './config.js';
import { openSecretStore } from './secrets-config.js';

export interface RunningServer {
  url: string;
  /** Set only when this start created the admin account and generated its token. */
  adminToken?: string;
  close(): Promise<void>;
}

const packageVersion = (): string => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
};

/** The composition root: opens storage, assembles the core, mounts the doors, listens. */
export const startServer = async (config: ServerConfig): Promise<RunningServer> => {
  const { storage, blobs } = await openStorage(config);
  let secretStore;
  try {
    secretStore = await openSecretStore(config.secrets, config.dataDir, storage, config.env);
  } catch (e) {
    await storage.close();
    throw e;
  }
  const registry = new Registry({
    secretStore,
    storage,
    blobs,
    readOnly: config.readOnly,
    skillsRoot: config.skillsRoot,
    recipeScope: config.recipeScope,
    limits: { maxUnpackedBytes: config.limits.maxUnpackedBytes, maxFiles: config.limits.maxFiles, maxTextFileBytes: 1024 * 1024 },
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
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const running = app;
    return {
      url: `http://${host}:${port}`,
      adminToken: boot.secret,
      close: async () => {
        await running.close();
        await storage.close();
      },
    };
  } catch (e) {
    await app?.close();
    await storage.close();
    throw e;
  }
};
