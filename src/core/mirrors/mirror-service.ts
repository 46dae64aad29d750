import type { CoreDeps } from '../core-deps.js';
import { NOBODY, type ReadTarget, type Visibility } from '../access/visibility.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { AccountService } from '../accounts/account-service.js';
import type { RequestContext } from '../auth/principal.js';
import { conflict, notFound } from '../errors.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import { forwardVia, mayAskUpstreams, newMirrorServerId } from './mirror-via.js';
import {
  DEFAULT_MIRROR_TTL_SECONDS,
  MIRROR_OWNER,
  checkMirrorChange,
  checkMirrorInput,
  defaultMirrorVisibility,
  type MirrorChange,
  type MirrorInput,
  type MirrorKind,
  type MirrorRecord,
  type MirrorStore,
  type UpstreamEndpoint,
} from './mirror.js';

/** Where mirror passwords are kept in the secret store: one key per mirror under a system owner. */
const SECRET_OWNER = 'agentry-system';
const SECRET_NAMESPACE = 'mirrors';
const secretKey = (name: string): string => `mirror-${name}`;

/**
 * Upstreams (pull-through mirrors), managed by administrators: what they are, where they are, the
 * login to use (its password in the secret store, never returned or logged) and how long what they
 * answered is served before they are asked again.
 */
export class MirrorService {
  /** This server's id in `X-Agentry-Mirror-Via` lists. */
  readonly serverId = newMirrorServerId();
  /** The id of {@link MIRROR_OWNER}, once it exists (an account's id never changes). */
  private ownerId: number | undefined;
  /** Told when a mirror's visibility changes, to apply it to what the mirror brought in before (AgentryMirror's packages). */
  private readonly visibilityListeners: Array<(m: MirrorRecord) => Promise<void>> = [];

  constructor(
    private readonly deps: CoreDeps,
    readonly store: MirrorStore,
    private readonly secrets: SecretStore,
    private readonly accounts: AccountService,
  ) {}

  /**
   * The organisation {@link MIRROR_OWNER}, a system org (created when missing, in `tx`): it owns the
   * scopes and repositories mirrors bring in, and its members read what a private mirror brings in.
   * A conflict when a user holds the name: private mirrored objects would be that user's.
   */
  async ensureOwner(tx: StorageRepos, at: string): Promise<AccountRecord> {
    const owner = await this.accounts.ensureSystemOrgIn(tx, { name: MIRROR_OWNER, displayName: 'Pull-through mirrors', visibility: 'public' }, at);
    if (owner.kind !== 'org' || owner.name !== MIRROR_OWNER) {
      throw conflict(`The account ${MIRROR_OWNER} is a user's: mirrors need that name for the organisation owning what they bring in`, { name: MIRROR_OWNER });
    }
    return owner;
  }

  async add(ctx: RequestContext, input: MirrorInput): Promise<MirrorRecord> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const url = checkMirrorInput(input);
    // Before anything is recorded: a mirror whose objects could not be owned is refused.
    await this.deps.storage
      .transaction((tx) => this.ensureOwner(tx, isoNow(this.deps.clock)))
      .catch(async (e: unknown) => {
        // Created meanwhile by a concurrent request: fine, unless the name turns out to be a user's.
        if ((await this.deps.storage.accounts.findByName(MIRROR_OWNER))?.kind !== 'org') throw e;
      });
    if (input.kind === 'oci' && (await this.deps.storage.scopes.find(input.name))) {
      throw conflict(`@${input.name} is a scope of this registry: an OCI mirror serves /v2/${input.name}/…, so it needs a name no scope has`, { name: input.name });
    }
    const record: MirrorRecord = {
      name: input.name,
      kind: input.kind as MirrorKind,
      url,
      username: input.username ?? null,
      hasPassword: input.password !== undefined,
      ttlSeconds: input.ttlSeconds ?? DEFAULT_MIRROR_TTL_SECONDS,
      visibility: (input.visibility as Visibility | undefined) ?? defaultMirrorVisibility(input),
      createdAt: isoNow(this.deps.clock),
    };
    if (await this.store.find(record.name)) throw conflict(`A mirror named ${record.name} exists; remove it first`, { name: record.name });
    // The password first: a mirror is never recorded with a login it cannot use.
    if (input.password !== undefined) await this.secrets.put(SECRET_OWNER, SECRET_NAMESPACE, secretKey(record.name), input.password);
    if (!(await this.store.insert(record))) throw conflict(`A mirror named ${record.name} exists; remove it first`, { name: record.name });
    await this.deps.storage.transaction((tx) =>
      this.deps.audit.record(tx.audit, ctx, 'mirror.add', record.name, {
        kind: record.kind,
        url: record.url,
        username: record.username,
        ttl_seconds: record.ttlSeconds,
        visibility: record.visibility,
      }),
    );
    return record;
  }

  /**
   * Changes a mirror's visibility or TTL. A new visibility applies at once to everything the mirror
   * brought in (OCI repositories and MCP servers are read under the mirror's visibility; the
   * packages an Agentry mirror fetched are changed now) and to everything it brings in from then on.
   */
  async update(ctx: RequestContext, name: string, input: MirrorChange): Promise<MirrorRecord> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const change = checkMirrorChange(input);
    const old = await this.store.find(name);
    if (!old || !(await this.store.update(name, change))) throw notFound(`No mirror named ${name}`);
    const updated: MirrorRecord = { ...old, ...change };
    await this.deps.storage.transaction((tx) =>
      this.deps.audit.record(tx.audit, ctx, 'mirror.update', name, {
        kind: old.kind,
        ...(change.visibility !== undefined ? { visibility: change.visibility, from_visibility: old.visibility } : {}),
        ...(change.ttlSeconds !== undefined ? { ttl_seconds: change.ttlSeconds, from_ttl_seconds: old.ttlSeconds } : {}),
      }),
    );
    if (updated.visibility !== old.visibility) for (const listener of this.visibilityListeners) await listener(updated);
    return updated;
  }

  /** Calls `listener` with the mirror whenever a mirror's visibility changes (after it is stored). */
  onVisibilityChange(listener: (m: MirrorRecord) => Promise<void>): void {
    this.visibilityListeners.push(listener);
  }

  /** Whether `ctx` may read what mirror `m` brings in: the one read rule, on the mirror's visibility ({@link readTarget}). */
  async mayRead(ctx: RequestContext, m: Pick<MirrorRecord, 'visibility'>): Promise<boolean> {
    return this.deps.policy.canRead(ctx, await this.readTarget(m));
  }

  /**
   * What the read rule (AccessPolicy.canRead) is asked about an object mirror `m` brought in
   * outside any package (an OCI repository, an MCP server): the mirror's visibility, owned by
   * {@link MIRROR_OWNER}; `scope` for tokens restricted to some scopes.
   */
  async readTarget(m: Pick<MirrorRecord, 'visibility'>, scope?: string): Promise<ReadTarget> {
    if (this.ownerId === undefined && m.visibility !== 'public') this.ownerId = (await this.deps.storage.accounts.findByName(MIRROR_OWNER))?.id;
    return { ownerAccountId: this.ownerId ?? NOBODY, visibility: m.visibility, ...(scope !== undefined ? { scope } : {}) };
  }

  /**
   * Creates the mirror, or replaces the one of that name and kind (its old password goes; a mirror of
   * another kind is a conflict). `undefined` for `input` removes it (nothing to remove is fine). The
   * TTL and visibility of a replaced mirror are kept unless given.
   */
  async replace(ctx: RequestContext, name: string, kind: MirrorKind, input: Omit<MirrorInput, 'name' | 'kind'> | undefined): Promise<MirrorRecord | undefined> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    if (input) checkMirrorInput({ ...input, kind, name });
    const old = await this.store.find(name);
    if (old && old.kind !== kind) throw conflict(`A mirror named ${name} exists for ${old.kind}; remove it first`, { name });
    if (old) await this.remove(ctx, name);
    if (!input) return undefined;
    return this.add(ctx, { ...input, kind, name, ttlSeconds: input.ttlSeconds ?? old?.ttlSeconds, visibility: input.visibility ?? old?.visibility });
  }

  async list(ctx: RequestContext): Promise<MirrorRecord[]> {
    this.deps.policy.requireAdmin(ctx);
    return this.store.list();
  }

  async get(ctx: RequestContext, name: string): Promise<MirrorRecord> {
    this.deps.policy.requireAdmin(ctx);
    const m = await this.store.find(name);
    if (!m) throw notFound(`No mirror named ${name}`);
    return m;
  }

  async remove(ctx: RequestContext, name: string): Promise<void> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const m = await this.store.find(name);
    if (!m || !(await this.store.delete(name))) throw notFound(`No mirror named ${name}`);
    if (m.hasPassword) await this.secrets.delete(SECRET_OWNER, SECRET_NAMESPACE, secretKey(name));
    await this.deps.storage.transaction((tx) => this.deps.audit.record(tx.audit, ctx, 'mirror.remove', name, { kind: m.kind }));
  }

  /** The mirror of this kind named `name`, if there is one (no access check: for the doors' routing). */
  async ofKind(name: string, kind: MirrorKind): Promise<MirrorRecord | undefined> {
    const m = await this.store.find(name);
    return m?.kind === kind ? m : undefined;
  }

  /**
   * Where to reach a mirror's upstream, with its login read from the secret store, for a lookup
   * that came through `via` (a request's `mirrorVia`; none for a sync job or a client's request):
   * the upstream is told the servers it passed through, this one last.
   */
  async endpointOf(m: MirrorRecord, via?: readonly string[]): Promise<UpstreamEndpoint> {
    const hops = forwardVia(this.serverId, via);
    if (!m.username || !m.hasPassword) return { url: m.url, via: hops };
    const password = await this.secrets.get(SECRET_OWNER, SECRET_NAMESPACE, secretKey(m.name));
    return password === undefined ? { url: m.url, via: hops } : { url: m.url, credentials: { username: m.username, password }, via: hops };
  }

  /** Whether a lookup that came through `via` may ask upstreams: not when it passed through this server already or made too many hops. */
  mayAskUpstreams(via: readonly string[] | undefined): boolean {
    return mayAskUpstreams(this.serverId, via);
  }
}
