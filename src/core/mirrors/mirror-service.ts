import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { conflict, notFound } from '../errors.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { isoNow } from '../time.js';
import { forwardVia, mayAskUpstreams, newMirrorServerId } from './mirror-via.js';
import { DEFAULT_MIRROR_TTL_SECONDS, checkMirrorInput, type MirrorInput, type MirrorKind, type MirrorRecord, type MirrorStore, type UpstreamEndpoint } from './mirror.js';

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

  constructor(
    private readonly deps: CoreDeps,
    readonly store: MirrorStore,
    private readonly secrets: SecretStore,
  ) {}

  async add(ctx: RequestContext, input: MirrorInput): Promise<MirrorRecord> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    const url = checkMirrorInput(input);
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
      createdAt: isoNow(this.deps.clock),
    };
    if (await this.store.find(record.name)) throw conflict(`A mirror named ${record.name} exists; remove it first`, { name: record.name });
    // The password first: a mirror is never recorded with a login it cannot use.
    if (input.password !== undefined) await this.secrets.put(SECRET_OWNER, SECRET_NAMESPACE, secretKey(record.name), input.password);
    if (!(await this.store.insert(record))) throw conflict(`A mirror named ${record.name} exists; remove it first`, { name: record.name });
    await this.deps.storage.transaction((tx) =>
      this.deps.audit.record(tx.audit, ctx, 'mirror.add', record.name, { kind: record.kind, url: record.url, username: record.username, ttl_seconds: record.ttlSeconds }),
    );
    return record;
  }

  /**
   * Creates the mirror, or replaces the one of that name and kind (its old password goes; a mirror of
   * another kind is a conflict). `undefined` for `input` removes it (nothing to remove is fine). The
   * TTL of a replaced mirror is kept unless one is given.
   */
  async replace(ctx: RequestContext, name: string, kind: MirrorKind, input: Omit<MirrorInput, 'name' | 'kind'> | undefined): Promise<MirrorRecord | undefined> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    if (input) checkMirrorInput({ ...input, kind, name });
    const old = await this.store.find(name);
    if (old && old.kind !== kind) throw conflict(`A mirror named ${name} exists for ${old.kind}; remove it first`, { name });
    if (old) await this.remove(ctx, name);
    if (!input) return undefined;
    return this.add(ctx, { ...input, kind, name, ttlSeconds: input.ttlSeconds ?? old?.ttlSeconds });
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
