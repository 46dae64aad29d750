import { join } from 'node:path';
import { BuiltinSecretStore } from '../core/secrets/builtin-secret-store.js';
import { EnvSecretStore } from '../core/secrets/env-secret-store.js';
import type { SecretBackendKind, SecretStore } from '../core/secrets/secret-store.js';
import { VaultSecretStore } from '../adapters/vault/vault-secret-store.js';
import type { EgressPolicy } from '../adapters/egress/index.js';
import type { Storage } from '../core/storage.js';
import { systemClock } from '../core/time.js';
import { envRootKeySource, fileRootKeySource } from './secret-keys.js';

/** Where secret values are kept; see the README's "Secrets" section. */
export type SecretsConfig =
  | { backend: 'builtin'; rootKey?: string }
  | { backend: 'env'; prefix: string }
  | { backend: 'vault'; address: string; token: string; mount: string; pathPrefix: string; namespace?: string };

/**
 * AGENTRY_SECRET_BACKEND (builtin | env | vault, default builtin); builtin: AGENTRY_SECRET_KEY or
 * `<data dir>/secret.key`; env: AGENTRY_SECRET_ENV_PREFIX (default `SECRET_`); vault:
 * AGENTRY_VAULT_ADDR, AGENTRY_VAULT_TOKEN, AGENTRY_VAULT_MOUNT (secret), AGENTRY_VAULT_PATH_PREFIX (agentry), AGENTRY_VAULT_NAMESPACE.
 */
export const resolveSecretsConfig = (env: NodeJS.ProcessEnv): SecretsConfig => {
  const backend = (env.AGENTRY_SECRET_BACKEND || 'builtin') as SecretBackendKind;
  switch (backend) {
    case 'builtin':
      return { backend, rootKey: env.AGENTRY_SECRET_KEY || undefined };
    case 'env':
      return { backend, prefix: env.AGENTRY_SECRET_ENV_PREFIX ?? 'SECRET_' };
    case 'vault': {
      const address = env.AGENTRY_VAULT_ADDR;
      const token = env.AGENTRY_VAULT_TOKEN;
      if (!address || !/^https?:\/\/[^/]+/.test(address)) throw new Error('AGENTRY_SECRET_BACKEND=vault needs AGENTRY_VAULT_ADDR, an http(s) URL such as https://vault.example.com:8200');
      if (!token) throw new Error('AGENTRY_SECRET_BACKEND=vault needs AGENTRY_VAULT_TOKEN');
      const clean = (s: string) => s.replace(/^\/+|\/+$/g, '');
      return {
        backend,
        address,
        token,
        mount: clean(env.AGENTRY_VAULT_MOUNT || 'secret'),
        pathPrefix: clean(env.AGENTRY_VAULT_PATH_PREFIX ?? 'agentry') || 'agentry',
        namespace: env.AGENTRY_VAULT_NAMESPACE || undefined,
      };
    }
    default:
      throw new Error(`AGENTRY_SECRET_BACKEND must be builtin, env or vault (got '${String(backend)}')`);
  }
};

/** Opens the configured backend; the built-in one checks its root key first and throws when it is wrong. */
export const openSecretStore = async (cfg: SecretsConfig, dataDir: string, storage: Storage, env: NodeJS.ProcessEnv, egress: EgressPolicy): Promise<SecretStore> => {
  switch (cfg.backend) {
    case 'builtin': {
      const source = cfg.rootKey ? envRootKeySource(cfg.rootKey) : fileRootKeySource(join(dataDir, 'secret.key'));
      return BuiltinSecretStore.open(storage.secretValues, source, systemClock);
    }
    case 'env':
      return new EnvSecretStore(env, cfg.prefix);
    case 'vault':
      return new VaultSecretStore(cfg, egress);
  }
};
