import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import { BuiltinSecretStore, type RotationResult } from './builtin-secret-store.js';
import type { SecretBackendKind, SecretStore } from './secret-store.js';

/**
 * The core's door to secret values: the configured backend behind the read-only guard, plus
 * the admin's key rotation. Services that keep secrets (agentspaces, vaults) call `put`, `get`,
 * `delete` and `list` here after their own access checks; values never leave through any other way.
 */
export class SecretService implements SecretStore {
  constructor(
    private readonly deps: CoreDeps,
    private readonly store: SecretStore,
  ) {}

  get backend(): SecretBackendKind {
    return this.store.backend;
  }

  async put(owner: string, namespace: string, key: string, value: string): Promise<void> {
    this.deps.policy.requireWritable();
    await this.store.put(owner, namespace, key, value);
  }

  get(owner: string, namespace: string, key: string): Promise<string | undefined> {
    return this.store.get(owner, namespace, key);
  }

  async delete(owner: string, namespace: string, key: string): Promise<boolean> {
    this.deps.policy.requireWritable();
    return this.store.delete(owner, namespace, key);
  }

  list(owner: string, namespace: string): Promise<string[]> {
    return this.store.list(owner, namespace);
  }

  /** Admin only: re-encrypts every value of the built-in backend under a new root key, without downtime. */
  async rotateKey(ctx: RequestContext): Promise<RotationResult> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    if (!(this.store instanceof BuiltinSecretStore)) {
      throw badRequest(`Key rotation is for the built-in secret backend; this server keeps secrets in the ${this.store.backend} backend`);
    }
    const result = await this.store.rotate();
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'secrets.rotate_key', `secret-key:${result.activeKeyId}`, {
      reencrypted: result.reencrypted,
      retired_key_ids: result.retiredKeyIds,
    });
    return result;
  }
}
