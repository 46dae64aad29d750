import { join } from 'node:path';
import { BuiltinSecretStore } from '../core/secrets/builtin-secret-store.js';
import { EnvSecretStore } from '../core/secrets/env-secret-store.js';
import type { SecretBackendKind, SecretStore } from '../core/secrets/secret-store.js';
import { VaultSecretStore } from '../adapters/vault/vault-secret-store.js';
import type { EgressPolicy } from '../adapters/egress/index.js';
import type { Storage } from '../core/storage.js';
import { systemClock } from '../core/time.js';
import { envRootKeySource, fileRootKeySource } from './secret-keys.js';
import type { SettingSources } from './settings.js';

/** Where secret values are kept; see the README's "Secrets" section. */
export type SecretsConfig =
  { backend: 'builtin'; rootKey?: string } | { backend: 'env'; prefix: string } | { backend: 'vault'; address: string; token: string; mount: string; pathPrefix: string; namespace?: string };

/**
 * The secret settings (settings.ts): `secret-backend` (builtin | env | vault, default builtin); builtin:
 * `secret-key` or `<data dir>/secret.key`; env: `secret-env-prefix` (default `SECRET_`); vault:
 * `vault-addr`, `vault-token`, `vault-mount` (secret), `vault-path-prefix` (agentry), `vault-namespace`.
 */
export const resolveSecretsConfig = (s: SettingSources): SecretsConfig => {
  const backend = (s.value('secret-backend') || 'builtin') as SecretBackendKind;
  const backendLabel = s.label('secret-backend');
  switch (backend) {
    case 'builtin':
      return { backend, rootKey: s.value('secret-key') || undefined };
    case 'env':
      return { backend, prefix: s.value('secret-env-prefix') ?? 'SECRET_' };
    case 'vault': {
      const address = s.value('vault-addr');
      const token = s.value('vault-token');
      if (!address || !/^https?:\/\/[^/]+/.test(address)) {
        throw new Error(`${backendLabel}=vault needs ${s.label('vault-addr')}, an http(s) URL such as https://vault.example.com:8200`);
      }
      if (!token) throw new Error(`${backendLabel}=vault needs ${s.label('vault-token')}`);
      const clean = (v: string) => v.replace(/^\/+|\/+$/g, '');
      return {
        backend,
        address,
        token,
        mount: clean(s.value('vault-mount') || 'secret'),
        pathPrefix: clean(s.value('vault-path-prefix') ?? 'agentry') || 'agentry',
        namespace: s.value('vault-namespace') || undefined,
      };
    }
    default:
      throw new Error(`${backendLabel} must be builtin, env or vault (got '${String(backend)}')`);
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
