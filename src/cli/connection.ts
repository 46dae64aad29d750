import { CliError } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { loadUserConfig, userConfigPath, type UserConfig } from './config-file.js';
import type { RegistryOptions } from './global-options.js';
import { RegistryClient } from './http-client.js';
import { DEFAULT_REGISTRY, normalizeRegistryUrl } from './registry-url.js';

/** Which registry a command talks to, with which token, and the client for it. */
export interface Connection {
  registry: string;
  token?: string;
  client: RegistryClient;
  configPath: string;
  config: UserConfig;
}

/**
 * Resolves the registry (`--registry`, AGENTRY_REGISTRY, the saved default, http://127.0.0.1:8080)
 * and the token (`--token`, AGENTRY_TOKEN, the token saved for that registry).
 */
export const connect = async (opts: RegistryOptions, env: NodeJS.ProcessEnv = process.env): Promise<Connection> => {
  const configPath = userConfigPath(env);
  const config = await loadUserConfig(configPath);
  const registry = normalizeRegistryUrl(opts.registry || env.AGENTRY_REGISTRY || config.default_registry || DEFAULT_REGISTRY);
  const token = opts.token || env.AGENTRY_TOKEN || config.registries[registry]?.token || undefined;
  return { registry, token, client: new RegistryClient(registry, token), configPath, config };
};

/** Fails before any request when a command that needs a token has none. */
export const requireToken = (conn: Connection): string => {
  if (!conn.token) throw new CliError(`not logged in to ${conn.registry}: run 'agentry login' or pass --token`, [], EXIT.auth);
  return conn.token;
};
