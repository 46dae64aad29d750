import type { AccessPolicy } from '../auth/access-policy.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, methodNotAllowed, notFound } from '../errors.js';
import type { SecretService } from './secret-service.js';
import { secretKeyProblem, type SecretBackendKind } from './secret-store.js';

/**
 * The namespace of the secret store that ToolHive's `/api/v1beta/secrets` and the workloads that
 * reference secrets by name share: each account has its own (owner = the account's name).
 */
export const WORKLOAD_SECRETS_NAMESPACE = 'workloads';

/** ToolHive's provider types, as its API names them, for each of Agentry's backends. */
const PROVIDER_TYPE: Record<SecretBackendKind, string> = { builtin: 'encrypted', env: 'environment', vault: 'vault' };
const TOOLHIVE_PROVIDER_TYPES = ['encrypted', '1password', 'environment'];

export interface SecretsProviderInfo {
  name: string;
  provider_type: string;
  capabilities: { can_read: boolean; can_write: boolean; can_delete: boolean; can_list: boolean; can_cleanup: boolean };
}

/**
 * ToolHive's secrets API over the core secret store: the caller's own secrets, in the
 * `workloads` namespace of their account. Values go in and never come back out through here.
 * The backend is the server's (AGENTRY_SECRET_BACKEND); "setting up" a provider only confirms it.
 */
export class ToolhiveSecrets {
  constructor(
    private readonly secrets: SecretService,
    private readonly policy: AccessPolicy,
  ) {}

  private get writable(): boolean {
    return this.secrets.backend !== 'env';
  }

  provider(ctx: RequestContext): SecretsProviderInfo {
    this.policy.requirePermission(ctx, 'read');
    const w = this.writable;
    return {
      name: 'default',
      provider_type: PROVIDER_TYPE[this.secrets.backend],
      capabilities: { can_read: true, can_write: w, can_delete: w, can_list: true, can_cleanup: w },
    };
  }

  setup(ctx: RequestContext, providerType: string): { provider_type: string; message: string } {
    this.policy.requirePermission(ctx, 'publish');
    if (providerType === '') throw badRequest('provider type cannot be empty');
    const current = PROVIDER_TYPE[this.secrets.backend];
    if (!TOOLHIVE_PROVIDER_TYPES.includes(providerType) && providerType !== current) {
      throw badRequest(`invalid secrets provider type: ${providerType.slice(0, 40)} (valid types: ${TOOLHIVE_PROVIDER_TYPES.join(', ')})`);
    }
    if (providerType !== current) {
      throw badRequest(`This server keeps secrets in its '${current}' provider; it is chosen by the server's configuration (AGENTRY_SECRET_BACKEND), not per request`);
    }
    return { provider_type: current, message: `Secrets provider '${current}' is set up` };
  }

  private owner(ctx: RequestContext, needs: 'read' | 'publish'): string {
    return this.policy.requirePermission(ctx, needs).account.name;
  }

  private checkKey(key: string): void {
    const problem = secretKeyProblem(key);
    if (problem) throw badRequest('Invalid secret key', [problem]);
  }

  private requireWritable(verb: string): void {
    if (!this.writable) throw methodNotAllowed(`secrets provider does not support ${verb} secrets`, ["this server's secrets come from its environment (AGENTRY_SECRET_BACKEND=env)"]);
  }

  async list(ctx: RequestContext): Promise<{ key: string }[]> {
    const owner = this.owner(ctx, 'read');
    return (await this.secrets.list(owner, WORKLOAD_SECRETS_NAMESPACE)).map((key) => ({ key }));
  }

  async create(ctx: RequestContext, key: string, value: string): Promise<void> {
    const owner = this.owner(ctx, 'publish');
    if (key === '' || value === '') throw badRequest("both 'key' and 'value' are required");
    this.checkKey(key);
    this.requireWritable('creating');
    if ((await this.secrets.get(owner, WORKLOAD_SECRETS_NAMESPACE, key)) !== undefined) throw conflict('secret already exists');
    await this.secrets.put(owner, WORKLOAD_SECRETS_NAMESPACE, key, value);
  }

  async update(ctx: RequestContext, key: string, value: string): Promise<void> {
    const owner = this.owner(ctx, 'publish');
    if (value === '') throw badRequest('value is required');
    this.checkKey(key);
    this.requireWritable('updating');
    if ((await this.secrets.get(owner, WORKLOAD_SECRETS_NAMESPACE, key)) === undefined) throw notFound('secret not found');
    await this.secrets.put(owner, WORKLOAD_SECRETS_NAMESPACE, key, value);
  }

  async delete(ctx: RequestContext, key: string): Promise<void> {
    const owner = this.owner(ctx, 'publish');
    this.checkKey(key);
    this.requireWritable('deleting');
    if (!(await this.secrets.delete(owner, WORKLOAD_SECRETS_NAMESPACE, key))) throw notFound('secret not found');
  }
}
