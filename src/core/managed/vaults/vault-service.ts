import type { Principal, RequestContext } from '../../auth/principal.js';
import { badRequest, notFound } from '../../errors.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { archiveFilter, ownedObject, readableObject, writer, type ManagedDeps, listOwned } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { newMetadata, patchMetadata, type Metadata } from '../metadata.js';
import { cutPage, decodePageToken, type Paged, type PageRequest } from '../page-token.js';
import { patchAuth, splitNewAuth, type SplitAuth } from './credential-auth.js';
import type { OAuthTokenRefresher } from './token-refresh.js';
import { newManagedObject } from '../new-managed-object.js';

export interface VaultView {
  id: string;
  displayName: string;
  metadata: Metadata;
  /** 002: whether the vault holds a secret of its own (its value is never shown). */
  hasSecret: boolean;
  secretUpdatedAt: string | null;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export interface CredentialView {
  id: string;
  vaultId: string;
  displayName: string | null;
  metadata: Metadata;
  /** The auth without its secret fields. */
  auth: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export interface VaultInput {
  displayName?: string | null;
  metadata?: Record<string, string | null> | null;
  /** 002: the secret, in the create body or an update (a rotation). */
  secret?: string | Record<string, string>;
}

/** The secret-store address of a vault's values; the key is `secret` (002) or a credential id. */
const namespaceOf = (vaultId: string): string => `managed/vaults/${vaultId}`;
const VAULT_SECRET = 'secret';

const vaultView = (o: ManagedObjectRecord): VaultView => ({
  id: o.id,
  displayName: String(o.data.display_name),
  metadata: (o.data.metadata ?? {}) as Metadata,
  hasSecret: o.data.has_secret === true,
  secretUpdatedAt: (o.data.secret_updated_at as string | undefined) ?? null,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
  archivedAt: o.archivedAt,
});

const credentialView = (o: ManagedObjectRecord): CredentialView => ({
  id: o.id,
  vaultId: o.parentId!,
  displayName: (o.data.display_name as string | null) ?? null,
  metadata: (o.data.metadata ?? {}) as Metadata,
  auth: o.data.auth as Record<string, unknown>,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
  archivedAt: o.archivedAt,
});

const secretText = (secret: string | Record<string, string>): string => {
  const text = typeof secret === 'string' ? secret : JSON.stringify(secret);
  if (text.length === 0) throw badRequest('secret must not be empty');
  if (text.length > 64 * 1024) throw badRequest('secret is larger than 64 KiB');
  return text;
};

/**
 * Vaults (002: a secret in the create body, rotated by update, never returned; the SDK: a vault
 * of credentials). Every secret value lives in the encrypted secret store of the core under
 * (account, managed/vaults/<vault>, key); the database holds only what may be shown.
 */
export class VaultService {
  /** mcp_oauth refreshes under way, by credential id. */
  private readonly refreshing = new Map<string, Promise<boolean>>();

  constructor(private readonly deps: ManagedDeps) {}

  async create(ctx: RequestContext, input: VaultInput): Promise<VaultView> {
    const p = writer(this.deps, ctx);
    const name = (input.displayName ?? '').trim();
    if (name.length === 0 || name.length > 256) throw badRequest('display_name (or name) must be 1-256 characters');
    const secret = input.secret === undefined ? undefined : secretText(input.secret);
    const now = isoNow(this.deps.clock);
    const o = await this.deps.storage.transaction(async (tx) => {
      const created = await tx.managed.insert(
        newManagedObject(
          {
            id: newManagedId('vlt'),
            kind: 'vault',
            accountId: p.account.id,
            data: { display_name: name, metadata: newMetadata(input.metadata ?? undefined), has_secret: secret !== undefined, secret_updated_at: secret !== undefined ? now : null },
          },
          now,
        ),
      );
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.create', created.id, { display_name: name, has_secret: secret !== undefined });
      return created;
    });
    if (secret !== undefined) {
      try {
        await this.deps.secrets.put(p.account.name, namespaceOf(o.id), VAULT_SECRET, secret);
      } catch (e) {
        await this.deps.storage.managed.delete(o.id);
        throw e;
      }
    }
    return vaultView(o);
  }

  async list(ctx: RequestContext, q: PageRequest & { limit: number; includeArchived?: boolean }): Promise<Paged<VaultView>> {
    return listOwned(this.deps, ctx, 'vault', q, { archived: archiveFilter(q) }, vaultView);
  }

  async get(ctx: RequestContext, id: string): Promise<VaultView> {
    return vaultView(await readableObject(this.deps, ctx, 'vault', id));
  }

  /** Renames, changes metadata, or (002) rotates the vault's secret. */
  async update(ctx: RequestContext, id: string, input: VaultInput): Promise<VaultView> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'vault', id, p);
    if (o.archivedAt) throw badRequest(`Vault ${id} is archived and cannot be changed`);
    if (input.displayName != null && (input.displayName.trim() === '' || input.displayName.length > 256)) throw badRequest('display_name must be 1-256 characters');
    const secret = input.secret === undefined ? undefined : secretText(input.secret);
    const now = isoNow(this.deps.clock);
    if (secret !== undefined) await this.deps.secrets.put(p.account.name, namespaceOf(o.id), VAULT_SECRET, secret);
    const data = {
      ...o.data,
      display_name: input.displayName == null ? o.data.display_name : input.displayName.trim(),
      metadata: patchMetadata((o.data.metadata ?? {}) as Metadata, input.metadata),
      ...(secret !== undefined ? { has_secret: true, secret_updated_at: now } : {}),
    };
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.update(o.id, { data, updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, secret !== undefined ? 'managed.vault.rotate' : 'managed.vault.update', o.id, {});
    });
    return vaultView({ ...o, data, updatedAt: now });
  }

  async archive(ctx: RequestContext, id: string): Promise<VaultView> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'vault', id, p);
    if (o.archivedAt) return vaultView(o);
    const now = isoNow(this.deps.clock);
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.update(o.id, { archivedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.archive', o.id, {});
    });
    return vaultView({ ...o, archivedAt: now });
  }

  /** Deletes the vault, its credentials and every secret value they held. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'vault', id, p);
    for (const key of await this.deps.secrets.list(p.account.name, namespaceOf(o.id))) await this.deps.secrets.delete(p.account.name, namespaceOf(o.id), key);
    await this.deps.storage.transaction(async (tx) => {
      for (;;) {
        const creds = await tx.managed.list({ kind: 'vault_credential', accountIds: [p.account.id], parentId: o.id, archived: 'include', limit: 500 });
        if (creds.length === 0) break;
        for (const c of creds) await tx.managed.delete(c.id);
      }
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.delete', o.id, {});
    });
  }

  async createCredential(
    ctx: RequestContext,
    vaultId: string,
    input: { auth: Record<string, unknown>; displayName?: string | null; metadata?: Record<string, string | null> },
  ): Promise<CredentialView> {
    const p = writer(this.deps, ctx);
    const vault = await ownedObject(this.deps.storage, 'vault', vaultId, p);
    if (vault.archivedAt) throw badRequest(`Vault ${vaultId} is archived`);
    const split = splitNewAuth(input.auth);
    const now = isoNow(this.deps.clock);
    const o = await this.deps.storage.transaction(async (tx) => {
      const created = await tx.managed.insert(
        newManagedObject(
          {
            id: newManagedId('cred'),
            kind: 'vault_credential',
            accountId: p.account.id,
            parentId: vault.id,
            data: { display_name: input.displayName ?? null, metadata: newMetadata(input.metadata), auth: split.shown },
          },
          now,
        ),
      );
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.credential.create', created.id, { vault: vault.id, type: split.shown.type });
      return created;
    });
    try {
      await this.deps.secrets.put(p.account.name, namespaceOf(vault.id), o.id, JSON.stringify(split.secret));
    } catch (e) {
      await this.deps.storage.managed.delete(o.id);
      throw e;
    }
    return credentialView(o);
  }

  async credentials(ctx: RequestContext, vaultId: string, q: PageRequest & { limit: number; includeArchived?: boolean }): Promise<Paged<CredentialView>> {
    const vault = await readableObject(this.deps, ctx, 'vault', vaultId);
    const rows = await this.deps.storage.managed.list({
      kind: 'vault_credential',
      accountIds: [vault.accountId],
      parentId: vaultId,
      archived: archiveFilter(q),
      beforeSeq: decodePageToken(q.page),
      limit: q.limit + 1,
    });
    const page = cutPage(rows, q.limit, (r) => r.seq);
    return { rows: page.rows.map(credentialView), nextPage: page.nextPage };
  }

  async credential(ctx: RequestContext, vaultId: string, id: string): Promise<CredentialView> {
    const vault = await readableObject(this.deps, ctx, 'vault', vaultId);
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'vault_credential' || o.parentId !== vault.id || o.accountId !== vault.accountId) throw notFound(`Credential ${id} not found`);
    return credentialView(o);
  }

  async updateCredential(
    ctx: RequestContext,
    vaultId: string,
    id: string,
    input: { auth?: Record<string, unknown>; displayName?: string | null; metadata?: Record<string, string | null> | null },
  ): Promise<CredentialView> {
    const p = writer(this.deps, ctx);
    const o = await this.ownedCredential(p, vaultId, id);
    if (o.archivedAt) throw badRequest(`Credential ${id} is archived and cannot be changed`);
    let auth = o.data.auth as Record<string, unknown>;
    if (input.auth !== undefined) {
      const stored = await this.deps.secrets.get(p.account.name, namespaceOf(vaultId), o.id);
      const current: SplitAuth = { shown: auth, secret: stored ? (JSON.parse(stored) as Record<string, string>) : {} };
      const next = patchAuth(current, input.auth);
      await this.deps.secrets.put(p.account.name, namespaceOf(vaultId), o.id, JSON.stringify(next.secret));
      auth = next.shown;
    }
    const now = isoNow(this.deps.clock);
    const data = {
      ...o.data,
      auth,
      display_name: input.displayName === undefined ? o.data.display_name : input.displayName,
      metadata: patchMetadata((o.data.metadata ?? {}) as Metadata, input.metadata),
    };
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.update(o.id, { data, updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.credential.update', o.id, { vault: vaultId, rotated: input.auth !== undefined });
    });
    return credentialView({ ...o, data, updatedAt: now });
  }

  async archiveCredential(ctx: RequestContext, vaultId: string, id: string): Promise<CredentialView> {
    const p = writer(this.deps, ctx);
    const o = await this.ownedCredential(p, vaultId, id);
    if (o.archivedAt) return credentialView(o);
    const now = isoNow(this.deps.clock);
    // An archived credential can no longer be used: its secret goes now.
    await this.deps.secrets.delete(p.account.name, namespaceOf(vaultId), o.id);
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.update(o.id, { archivedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.credential.archive', o.id, { vault: vaultId });
    });
    return credentialView({ ...o, archivedAt: now });
  }

  async deleteCredential(ctx: RequestContext, vaultId: string, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await this.ownedCredential(p, vaultId, id);
    await this.deps.secrets.delete(p.account.name, namespaceOf(vaultId), o.id);
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.vault.credential.delete', o.id, { vault: vaultId });
    });
  }

  private async ownedCredential(p: Principal, vaultId: string, id: string): Promise<ManagedObjectRecord> {
    await ownedObject(this.deps.storage, 'vault', vaultId, p);
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'vault_credential' || o.parentId !== vaultId || o.accountId !== p.account.id) throw notFound(`Credential ${id} not found`);
    return o;
  }
  /**
   * The header that authenticates a session to an MCP server: the first live `static_bearer` or
   * `mcp_oauth` credential of the session's vaults (in their order) whose `mcp_server_url` is the
   * server's URL, as `Authorization: Bearer …`. Read in the worker only; never stored in events.
   */
  async credentialHeaders(accountId: number, vaultIds: string[], url: string): Promise<Record<string, string>> {
    const found = await this.credentialForServer(accountId, vaultIds, url);
    if (!found) return {};
    const token = found.auth.type === 'static_bearer' ? found.secret.token : found.secret.access_token;
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** The credential {@link credentialHeaders} uses for a server URL, with its secret fields. */
  private async credentialForServer(
    accountId: number,
    vaultIds: string[],
    url: string,
  ): Promise<{ ownerName: string; vaultId: string; credential: ManagedObjectRecord; auth: Record<string, unknown>; secret: Record<string, string> } | undefined> {
    const same = (a: string, b: string): boolean => {
      try {
        const x = new URL(a);
        const y = new URL(b);
        return x.origin === y.origin && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '') && x.search === y.search;
      } catch {
        return a === b;
      }
    };
    return this.firstCredential(
      accountId,
      vaultIds,
      (auth) => (auth.type === 'static_bearer' || auth.type === 'mcp_oauth') && typeof auth.mcp_server_url === 'string' && same(auth.mcp_server_url, url),
    );
  }

  /** The first live credential of these vaults (in their order) that `match`es, with its secret fields. */
  private async firstCredential(
    accountId: number,
    vaultIds: string[],
    match: (auth: Record<string, unknown>) => boolean,
  ): Promise<{ ownerName: string; vaultId: string; credential: ManagedObjectRecord; auth: Record<string, unknown>; secret: Record<string, string> } | undefined> {
    const owner = await this.deps.storage.accounts.findById(accountId);
    if (!owner) return undefined;
    for (const vaultId of vaultIds) {
      const vault = await this.deps.storage.managed.find(vaultId);
      if (!vault || vault.kind !== 'vault' || vault.accountId !== accountId || vault.archivedAt) continue;
      const creds = await this.deps.storage.managed.list({ kind: 'vault_credential', accountIds: [accountId], parentId: vaultId, archived: 'exclude', limit: 1000 });
      for (const c of creds) {
        const auth = (c.data.auth ?? {}) as Record<string, unknown>;
        if (!match(auth)) continue;
        const stored = await this.deps.secrets.get(owner.name, namespaceOf(vaultId), c.id);
        if (!stored) continue;
        return { ownerName: owner.name, vaultId, credential: c, auth, secret: JSON.parse(stored) as Record<string, string> };
      }
    }
    return undefined;
  }

  /**
   * Refreshes the `mcp_oauth` credential a session uses for an MCP server (the refresh-token grant
   * at its `refresh.token_endpoint`, through `refresher`): when its `expires_at` has passed (or is
   * within 30 s), or always with `force` (the server answered 401). The new tokens go to the secret
   * store and `expires_at` is updated. True when it refreshed; false when there is nothing to refresh.
   * One refresh per credential at a time in this process (a rotated refresh token is used once).
   */
  async refreshMcpOAuth(accountId: number, vaultIds: string[], url: string, refresher: OAuthTokenRefresher, opts: { force: boolean; now: Date }): Promise<boolean> {
    const found = await this.credentialForServer(accountId, vaultIds, url);
    if (!found || found.auth.type !== 'mcp_oauth') return false;
    const refresh = (found.auth.refresh ?? null) as Record<string, unknown> | null;
    const refreshToken = found.secret['refresh.refresh_token'];
    if (!refresh || !refreshToken || typeof refresh.token_endpoint !== 'string' || typeof refresh.client_id !== 'string') return false;
    const expiresAt = typeof found.auth.expires_at === 'string' ? Date.parse(found.auth.expires_at) : NaN;
    if (!opts.force && !(Number.isFinite(expiresAt) && expiresAt - 30_000 <= opts.now.getTime())) return false;
    const running = this.refreshing.get(found.credential.id);
    if (running) return running;
    const job = (async () => {
      const endpointAuth = (refresh.token_endpoint_auth ?? {}) as Record<string, unknown>;
      const authType = endpointAuth.type === 'client_secret_basic' || endpointAuth.type === 'client_secret_post' ? endpointAuth.type : 'none';
      const got = await refresher.refresh({
        tokenEndpoint: refresh.token_endpoint as string,
        refreshToken,
        clientId: refresh.client_id as string,
        auth: authType,
        clientSecret: found.secret['refresh.token_endpoint_auth.client_secret'],
        scope: typeof refresh.scope === 'string' ? refresh.scope : undefined,
        resource: typeof refresh.resource === 'string' ? refresh.resource : undefined,
      });
      const secret = { ...found.secret, access_token: got.accessToken, ...(got.refreshToken ? { 'refresh.refresh_token': got.refreshToken } : {}) };
      await this.deps.secrets.put(found.ownerName, namespaceOf(found.vaultId), found.credential.id, JSON.stringify(secret));
      const nextExpiry = got.expiresIn !== undefined ? new Date(opts.now.getTime() + got.expiresIn * 1000).toISOString() : null;
      const now = isoNow(this.deps.clock);
      await this.deps.storage.managed.update(found.credential.id, { data: { ...found.credential.data, auth: { ...found.auth, expires_at: nextExpiry } }, updatedAt: now });
      return true;
    })();
    this.refreshing.set(found.credential.id, job);
    try {
      return await job;
    } finally {
      this.refreshing.delete(found.credential.id);
    }
  }

  /**
   * A named secret of a session's vaults, for an agent.yaml MCP server's `${secrets.KEY}`: the
   * `secret_value` of the first live `environment_variable` credential (in the vaults' order) whose
   * `secret_name` is `key`. Read in the worker only, at a server's start; never stored elsewhere.
   */
  async secretByName(accountId: number, vaultIds: string[], key: string): Promise<string | undefined> {
    const found = await this.firstCredential(accountId, vaultIds, (auth) => auth.type === 'environment_variable' && auth.secret_name === key);
    return found?.secret.secret_value;
  }

  /**
   * A token for a git host (a session's github_repository without a token of its own): the first
   * live `static_bearer` credential of the session's vaults whose `mcp_server_url` has the
   * repository's origin. Read in the worker only.
   */
  async tokenForOrigin(accountId: number, vaultIds: string[], url: string): Promise<string | undefined> {
    const origin = (u: string): string | undefined => {
      try {
        return new URL(u).origin;
      } catch {
        return undefined;
      }
    };
    const want = origin(url);
    if (want === undefined) return undefined;
    const found = await this.firstCredential(accountId, vaultIds, (auth) => auth.type === 'static_bearer' && typeof auth.mcp_server_url === 'string' && origin(auth.mcp_server_url) === want);
    return found?.secret.token || undefined;
  }
}
