import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../../auth/principal.js';
import { hashTokenSecret, sameHash } from '../../auth/token-secret.js';
import { badRequest, conflict, unauthorized } from '../../errors.js';
import { isPlainObject } from '../../packages/manifest/fields.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { archiveFilter, ownedObject, readableObject, writer, type ManagedDeps, listOwned, updateOwned } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { newMetadata, patchMetadata, type Metadata } from '../metadata.js';
import { type Paged, type PageRequest } from '../page-token.js';
import { newManagedObject } from '../new-managed-object.js';

/** An environment template agents run in: a cloud sandbox (networking, packages) or self-hosted. */
export interface EnvironmentData {
  name: string;
  description: string | null;
  config: Record<string, unknown>;
  metadata: Metadata;
  scope: 'organization' | 'account' | null;
}

export interface EnvironmentInput {
  name?: string | null;
  description?: string | null;
  config?: Record<string, unknown> | null;
  metadata?: Record<string, string | null> | null;
  scope?: 'organization' | 'account' | null;
}

export interface EnvironmentView extends EnvironmentData {
  id: string;
  /** A self-hosted environment's own key: only in the answer that made the environment (shown once). */
  environmentKey?: string;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

const PACKAGE_MANAGERS = ['apt', 'cargo', 'gem', 'go', 'npm', 'pip'] as const;

/** A config with the SDK's defaults: cloud, unrestricted networking, no packages. */
const config = (c: Record<string, unknown> | null | undefined): Record<string, unknown> => {
  if (c == null) return config({ type: 'cloud' });
  if (c.type === 'self_hosted') return { type: 'self_hosted' };
  if (c.type !== 'cloud') throw badRequest("config.type must be 'cloud' or 'self_hosted'");
  const net = isPlainObject(c.networking) ? c.networking : { type: 'unrestricted' };
  let networking: Record<string, unknown>;
  if (net.type === 'limited') {
    const hosts = net.allowed_hosts ?? [];
    if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'string')) throw badRequest('config.networking.allowed_hosts must be a list of host names');
    networking = { type: 'limited', allowed_hosts: hosts, allow_mcp_servers: net.allow_mcp_servers ?? false, allow_package_managers: net.allow_package_managers ?? false };
  } else if (net.type === 'unrestricted') networking = { type: 'unrestricted' };
  else throw badRequest("config.networking.type must be 'unrestricted' or 'limited'");
  const pk = isPlainObject(c.packages) ? c.packages : {};
  const packages: Record<string, unknown> = { type: 'packages' };
  for (const m of PACKAGE_MANAGERS) {
    const list = pk[m] ?? [];
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw badRequest(`config.packages.${m} must be a list of package names`);
    packages[m] = list;
  }
  return { type: 'cloud', networking, packages };
};

const nameOf = (n: string): string => {
  const t = n.trim();
  if (t.length === 0 || t.length > 256) throw badRequest('name must be 1-256 characters');
  return t;
};

/**
 * A self-hosted environment's key: `agentry_envkey_<environment id>_<43 base64url characters>`. Only
 * its SHA-256 is stored (in the environment's data, never shown); the id in it finds the environment.
 */
const KEY_PATTERN = /^agentry_envkey_(env_[0-9A-Za-z]{1,64})_([A-Za-z0-9_-]{43})$/;

export const looksLikeEnvironmentKey = (secret: string): boolean => secret.startsWith('agentry_envkey_');

const view = (o: ManagedObjectRecord): EnvironmentView => ({
  ...(({ key_sha256: _hidden, ...d }) => d)(o.data as unknown as EnvironmentData & { key_sha256?: string }),
  id: o.id,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
  archivedAt: o.archivedAt,
});

/** Environments: create, read, update, archive, and delete only while no live agent uses one. */
export class EnvironmentService {
  constructor(private readonly deps: ManagedDeps) {}

  async create(ctx: RequestContext, input: EnvironmentInput): Promise<EnvironmentView> {
    const p = writer(this.deps, ctx);
    if (input.name == null) throw badRequest("missing required field 'name'");
    const data: EnvironmentData = {
      name: nameOf(input.name),
      description: input.description ?? null,
      config: config(input.config),
      metadata: newMetadata(input.metadata ?? undefined),
      scope: input.scope ?? null,
    };
    const id = newManagedId('env');
    const key = data.config.type === 'self_hosted' ? `agentry_envkey_${id}_${randomBytes(32).toString('base64url')}` : undefined;
    return this.deps.storage.transaction(async (tx) => {
      const now = isoNow(this.deps.clock);
      const o = await tx.managed.insert(
        newManagedObject(
          {
            id,
            kind: 'environment',
            accountId: p.account.id,
            data: { ...data, ...(key ? { key_sha256: hashTokenSecret(key) } : {}) } as unknown as Record<string, unknown>,
          },
          now,
        ),
      );
      await this.deps.audit.record(tx.audit, ctx, 'managed.environment.create', o.id, { name: data.name });
      return { ...view(o), ...(key ? { environmentKey: key } : {}) };
    });
  }

  /**
   * The caller behind a self-hosted environment's key: its owner, limited to that environment
   * (`environmentKey`). Refused (401) when the key is malformed, unknown, or its environment is archived.
   */
  async authenticateKey(secret: string, ip: string | null): Promise<RequestContext> {
    const m = KEY_PATTERN.exec(secret);
    const o = m ? await this.deps.storage.managed.find(m[1]) : undefined;
    const stored = o?.kind === 'environment' ? (o.data.key_sha256 as string | undefined) : undefined;
    if (!o || !stored || !sameHash(stored, hashTokenSecret(secret))) throw unauthorized('Invalid environment key');
    if (o.archivedAt) throw unauthorized(`Environment ${o.id} is archived; its key no longer works`);
    const account = await this.deps.storage.accounts.findById(o.accountId);
    if (!account) throw unauthorized('Invalid environment key');
    const token = {
      id: 0,
      accountId: account.id,
      name: `environment key of ${o.id}`,
      hash: '',
      prefix: secret.slice(0, 20),
      permission: 'publish' as const,
      scopes: null,
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      createdAt: o.createdAt,
      allAccounts: false,
    };
    return { principal: { account, token }, ip, environmentKey: o.id };
  }

  async list(ctx: RequestContext, q: PageRequest & { includeArchived?: boolean; archived?: boolean }): Promise<Paged<EnvironmentView>> {
    return listOwned(this.deps, ctx, 'environment', q, { archived: archiveFilter(q) }, view);
  }

  async get(ctx: RequestContext, id: string): Promise<EnvironmentView> {
    return view(await readableObject(this.deps, ctx, 'environment', id));
  }

  async update(ctx: RequestContext, id: string, input: EnvironmentInput): Promise<EnvironmentView> {
    return updateOwned(
      this.deps,
      ctx,
      'environment',
      id,
      (o) => {
        if (o.archivedAt) throw badRequest(`Environment ${id} is archived and cannot be changed`);
        const before = o.data as unknown as EnvironmentData;
        const nextConfig = input.config === undefined ? before.config : config(input.config);
        if (input.config != null && (before.config.type as string) !== (nextConfig.type as string)) {
          throw badRequest(`config.type cannot change from '${String(before.config.type)}' to '${String(nextConfig.type)}'`);
        }
        const data: EnvironmentData = {
          name: input.name == null ? before.name : nameOf(input.name),
          description: input.description === undefined ? before.description : input.description,
          config: nextConfig,
          metadata: patchMetadata(before.metadata, input.metadata),
          scope: input.scope === undefined ? before.scope : input.scope,
        };
        // The key's hash stays: an update never changes the key.
        return { ...data, ...(typeof o.data.key_sha256 === 'string' ? { key_sha256: o.data.key_sha256 } : {}) } as unknown as Record<string, unknown>;
      },
      view,
    );
  }

  async archive(ctx: RequestContext, id: string): Promise<EnvironmentView> {
    const p = writer(this.deps, ctx);
    return this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'environment', id, p, true);
      if (o.archivedAt) return view(o);
      const now = isoNow(this.deps.clock);
      await tx.managed.update(o.id, { archivedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.environment.archive', o.id, {});
      return view({ ...o, archivedAt: now });
    });
  }

  /** Deletes the environment; refused (409) while a live agent's current version names it. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    await this.deps.storage.transaction(async (tx) => {
      const o = await ownedObject(tx, 'environment', id, p, true);
      const users = await tx.managed.referrers('agent', o.id, 4);
      if (users.length > 0) {
        const names = users
          .slice(0, 3)
          .map((a) => a.id)
          .join(', ');
        throw conflict(`Environment ${id} is used by agent${users.length > 1 ? 's' : ''} ${names}${users.length > 3 ? ', …' : ''}; archive those agents or move them to another environment first`);
      }
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.environment.delete', o.id, {});
    });
  }
}
