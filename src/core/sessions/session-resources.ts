import type { Principal, RequestContext } from '../auth/principal.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import { reader, writer, type ManagedDeps } from '../managed/managed-deps.js';
import { decodePageToken, encodePageToken, type Paged } from '../managed/page-token.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import type { StorageRepos } from '../storage.js';
import type { SessionLog } from './session-log.js';
import { mountName, mountPathProblem, UPLOADS_ROOT } from './session-mounts.js';
import type { SessionRecord } from './session-store.js';

/**
 * A session's resources as first-class objects (`/v1/sessions/:id/resources`, the SDK's
 * `sessions.resources`): files, memory stores and GitHub repositories mounted in its workspace.
 * They are kept on the session (`data.resources`); a change bumps `data.resources_rev`, which the
 * worker compares to re-open the workspace with the new mounts on the next tool call. Changing the
 * set is refused while the session runs (a turn sees one set of mounts from start to end); a
 * repository's token may be rotated at any time. Tokens are kept in the secret store, never on the
 * session, and never answered.
 */

type Res = Record<string, unknown>;

/** Resources a session holds at most. */
export const MAX_SESSION_RESOURCES = 100;
/** Where repositories go by default: `/workspace/<repo name>` (the SDK's default). */
export const REPOS_ROOT = '/workspace';

const namespaceOf = (sessionId: string): string => `managed/sessions/${sessionId}`;

const normal = (path: string): string =>
  `/${path
    .split('/')
    .filter((x) => x !== '' && x !== '.')
    .join('/')}`;

const overlaps = (a: string, b: string): boolean => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/** A repository URL's name (`https://github.com/o/name.git` → `name`). */
const repoName = (url: URL): string =>
  mountName(
    url.pathname
      .split('/')
      .filter(Boolean)
      .pop()
      ?.replace(/\.git$/, '') || 'repository',
  );

/** The checkout of a repository resource: a branch or a full commit SHA, or none (the default branch). */
const checkoutOf = (raw: unknown, at: string): Res | null => {
  if (raw === undefined || raw === null) return null;
  if (isPlainObject(raw) && raw.type === 'branch' && typeof raw.name === 'string' && /^[A-Za-z0-9._/-]{1,200}$/.test(raw.name) && !raw.name.startsWith('-') && !raw.name.includes('..')) {
    return { type: 'branch', name: raw.name };
  }
  if (isPlainObject(raw) && raw.type === 'commit' && typeof raw.sha === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(raw.sha)) return { type: 'commit', sha: raw.sha };
  throw badRequest(`${at}.checkout must be {type: 'branch', name} or {type: 'commit', sha: <full SHA>}`);
};

/** A checked resource, and the token to keep for it (github_repository). */
export interface CheckedResource {
  resource: Res;
  token?: string;
}

/**
 * Checks one resource a session is given (at create or by `POST …/resources`) against those it
 * already has, and answers it as stored: an id, timestamps, the normalised mount path.
 */
export const checkResource = async (storage: Pick<StorageRepos, 'managed'>, accountId: number, r: unknown, at: string, existing: readonly Res[], now: string): Promise<CheckedResource> => {
  if (!isPlainObject(r)) throw badRequest(`${at} must be an object`);
  const base = { id: newManagedId('sesrsc'), type: r.type, created_at: now, updated_at: now };
  const mountClash = (path: string): void => {
    const other = existing.find((o) => typeof o.mount_path === 'string' && overlaps(o.mount_path, path));
    if (other) throw badRequest(`${at}.mount_path '${path}' overlaps the mount of resource ${String(other.id)}`);
  };
  if (r.type === 'github_repository') {
    let url: URL;
    try {
      url = new URL(typeof r.url === 'string' ? r.url : '');
    } catch {
      throw badRequest(`${at}.url must be the https URL of a repository`);
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      throw badRequest(`${at}.url must be an http(s) URL of a repository, with no credentials, query or fragment (give a token as authorization_token)`);
    }
    if (r.authorization_token !== undefined && r.authorization_token !== null && (typeof r.authorization_token !== 'string' || r.authorization_token.length > 4096)) {
      throw badRequest(`${at}.authorization_token must be a string`);
    }
    const raw = typeof r.mount_path === 'string' && r.mount_path !== '' ? r.mount_path : `${REPOS_ROOT}/${repoName(url)}`;
    const problem = mountPathProblem(raw);
    if (problem) throw badRequest(`${at}.mount_path '${raw.slice(0, 200)}' ${problem}`);
    const path = normal(raw);
    if (!path.startsWith(`${REPOS_ROOT}/`)) throw badRequest(`${at}.mount_path '${path}' must be inside ${REPOS_ROOT} (a repository is a working copy the agent may change)`);
    mountClash(path);
    const token = typeof r.authorization_token === 'string' && r.authorization_token !== '' ? r.authorization_token : undefined;
    return { resource: { ...base, url: url.toString(), mount_path: path, checkout: checkoutOf(r.checkout, at) }, token };
  }
  const kind = r.type === 'file' ? 'file' : r.type === 'memory_store' ? 'memory_store' : undefined;
  if (!kind) throw badRequest(`${at}.type must be 'file', 'memory_store' or 'github_repository'`);
  const refField = kind === 'file' ? 'file_id' : 'memory_store_id';
  const ref = r[refField];
  if (typeof ref !== 'string') throw badRequest(`${at}.${refField} is required`);
  const o = await storage.managed.find(ref);
  if (!o || o.kind !== kind || o.accountId !== accountId) throw badRequest(`${at}.${refField}: ${kind.replace('_', ' ')} ${ref.slice(0, 100)} not found`);
  if (kind === 'file') {
    const raw = typeof r.mount_path === 'string' && r.mount_path !== '' ? r.mount_path : `${UPLOADS_ROOT}/${ref}`;
    const problem = mountPathProblem(raw);
    if (problem) throw badRequest(`${at}.mount_path '${raw.slice(0, 200)}' ${problem}`);
    const path = normal(raw);
    mountClash(path);
    return { resource: { ...base, file_id: ref, mount_path: path } };
  }
  if (existing.some((e) => e.type === 'memory_store' && e.memory_store_id === ref)) throw badRequest(`${at}.memory_store_id: memory store ${ref} is already attached`);
  const access = r.access === 'read_only' ? 'read_only' : 'read_write';
  const instructions = typeof r.instructions === 'string' ? r.instructions.slice(0, 4096) : null;
  return {
    resource: { ...base, memory_store_id: ref, access, instructions, name: typeof o.name === 'string' ? o.name : null, description: typeof o.data.description === 'string' ? o.data.description : '' },
  };
};

/** Checks a list of resources (session create); answers them in order with the tokens to keep. */
export const checkResources = async (storage: Pick<StorageRepos, 'managed'>, accountId: number, list: readonly unknown[], now: string): Promise<CheckedResource[]> => {
  if (list.length > MAX_SESSION_RESOURCES) throw badRequest(`a session has at most ${MAX_SESSION_RESOURCES} resources`);
  const out: CheckedResource[] = [];
  for (const [i, r] of list.entries())
    out.push(
      await checkResource(
        storage,
        accountId,
        r,
        `resources[${i}]`,
        out.map((c) => c.resource),
        now,
      ),
    );
  return out;
};

/** Keeps the tokens of a session's repository resources in the secret store (owner: the account's name). */
export const keepResourceTokens = async (deps: Pick<ManagedDeps, 'secrets'>, ownerName: string, sessionId: string, checked: readonly CheckedResource[]): Promise<void> => {
  for (const c of checked) if (c.token !== undefined) await deps.secrets.put(ownerName, namespaceOf(sessionId), String(c.resource.id), c.token);
};

/** The token kept for a repository resource, if any (read by the worker that clones it). */
export const resourceToken = (deps: Pick<ManagedDeps, 'secrets'>, ownerName: string, sessionId: string, resourceId: string): Promise<string | undefined> =>
  deps.secrets.get(ownerName, namespaceOf(sessionId), resourceId);

/** Forgets every token of a session (it was deleted). */
export const forgetResourceTokens = async (deps: Pick<ManagedDeps, 'secrets'>, ownerName: string, sessionId: string): Promise<void> => {
  for (const key of await deps.secrets.list(ownerName, namespaceOf(sessionId))) await deps.secrets.delete(ownerName, namespaceOf(sessionId), key);
};

export interface ResourceListInput {
  limit: number;
  page?: string;
}

export class SessionResourceService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly log: SessionLog,
  ) {}

  async list(ctx: RequestContext, sessionId: string, q: ResourceListInput): Promise<Paged<Res>> {
    const all = resourcesOf(await this.readable(ctx, sessionId));
    const start = decodePageToken(q.page) ?? 0;
    const rows = all.slice(start, start + q.limit);
    return { rows, nextPage: start + q.limit < all.length ? encodePageToken(start + q.limit) : null };
  }

  async get(ctx: RequestContext, sessionId: string, id: string): Promise<Res> {
    return this.find(await this.readable(ctx, sessionId), id);
  }

  /** Adds a resource; it is mounted from the session's next tool call on. 409 while the session runs. */
  async add(ctx: RequestContext, sessionId: string, input: unknown): Promise<Res> {
    const p = this.writable(ctx);
    let added: CheckedResource | undefined;
    await this.log.append(sessionId, async (s, tx) => {
      this.owned(s, p, sessionId);
      this.refuseWhileRunning(s, 'given a resource');
      const current = resourcesOf(s);
      if (current.length >= MAX_SESSION_RESOURCES) throw badRequest(`Session ${sessionId} already has ${MAX_SESSION_RESOURCES} resources`);
      const now = this.log.now();
      added = await checkResource(tx, p.account.id, input, 'body', current, now);
      // A repository path that was removed before is no longer to be removed once it is mounted again.
      const removed = removedPaths(s).filter((r) => !overlaps(r, String(added!.resource.mount_path ?? '')));
      return { events: [], patch: { data: { ...s.data, resources: [...current, added.resource], resources_rev: revOf(s) + 1, removed_mounts: removed } } };
    });
    await keepResourceTokens(this.deps, p.account.name, sessionId, [added!]);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.resource.add', sessionId, { resource: added!.resource.id, type: added!.resource.type });
    return added!.resource;
  }

  /** Rotates a repository's token (the only change the SDK has); allowed at any time, used from the next clone or fetch on. */
  async update(ctx: RequestContext, sessionId: string, id: string, input: { authorization_token?: unknown }): Promise<Res> {
    const p = this.writable(ctx);
    if (typeof input.authorization_token !== 'string' || input.authorization_token === '' || input.authorization_token.length > 4096) {
      throw badRequest('authorization_token is required: the new token of a github_repository resource');
    }
    const { session } = await this.log.append(sessionId, (s) => {
      this.owned(s, p, sessionId);
      const r = this.find(s, id);
      if (r.type !== 'github_repository') throw badRequest(`Resource ${id} is a ${String(r.type)}: only github_repository resources have a token to rotate`);
      const next = resourcesOf(s).map((x) => (x.id === id ? { ...x, updated_at: this.log.now() } : x));
      return { events: [], patch: { data: { ...s.data, resources: next } } };
    });
    await this.deps.secrets.put(p.account.name, namespaceOf(sessionId), id, input.authorization_token);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.resource.update', sessionId, { resource: id });
    return this.find(session, id);
  }

  /** Removes a resource; it is unmounted from the next tool call on (a repository's folder is removed). 409 while the session runs. */
  async delete(ctx: RequestContext, sessionId: string, id: string): Promise<void> {
    const p = this.writable(ctx);
    await this.log.append(sessionId, (s) => {
      this.owned(s, p, sessionId);
      const r = this.find(s, id);
      this.refuseWhileRunning(s, 'changed');
      const removed = r.type === 'github_repository' ? [...removedPaths(s), String(r.mount_path)] : removedPaths(s);
      return { events: [], patch: { data: { ...s.data, resources: resourcesOf(s).filter((x) => x.id !== id), resources_rev: revOf(s) + 1, removed_mounts: removed } } };
    });
    await this.deps.secrets.delete(p.account.name, namespaceOf(sessionId), id);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.resource.delete', sessionId, { resource: id });
  }

  private find(s: SessionRecord, id: string): Res {
    const r = resourcesOf(s).find((x) => x.id === id);
    if (!r) throw notFound(`Resource ${id} not found in session ${s.id}`);
    return r;
  }

  private writable(ctx: RequestContext): Principal {
    if (ctx.environmentKey !== undefined) throw forbidden("An environment key only reaches its environment's work queue and the sessions running in it");
    return writer(this.deps, ctx);
  }

  private owned(s: SessionRecord, p: Principal, id: string): void {
    if (s.accountId !== p.account.id) throw notFound(`Session ${id} not found`);
    if (s.archivedAt) throw badRequest(`Session ${id} is archived and cannot be changed`);
  }

  private refuseWhileRunning(s: SessionRecord, what: string): void {
    if (s.status === 'running' || s.status === 'rescheduling') {
      throw conflict(
        `Session ${s.id} is ${s.status}: its resources cannot be ${what} during a turn. Interrupt it (POST /v1/sessions/${s.id}/cancel) or wait until it is idle; the change applies from the next turn`,
      );
    }
    if (s.status === 'terminated') throw conflict(`Session ${s.id} is terminated: its resources cannot be ${what}`);
  }

  private readable(ctx: RequestContext, id: string): Promise<SessionRecord> {
    return readableSession(this.deps, ctx, id);
  }
}

/** A session the caller may read (its account's; an environment key reaches its environment's sessions only), else a 404. */
export const readableSession = async (deps: ManagedDeps, ctx: RequestContext, id: string): Promise<SessionRecord> => {
  reader(deps, ctx);
  const s = await deps.storage.sessions.find(id);
  if (!s || !(await deps.policy.canRead(ctx, { ownerAccountId: s.accountId, visibility: 'private' }))) throw notFound(`Session ${id} not found`);
  if (ctx.environmentKey !== undefined && s.environmentId !== ctx.environmentKey) throw notFound(`Session ${id} not found`);
  return s;
};

export const resourcesOf = (s: SessionRecord): Res[] => (Array.isArray(s.data.resources) ? (s.data.resources as Res[]) : []);
const removedPaths = (s: SessionRecord): string[] => (Array.isArray(s.data.removed_mounts) ? (s.data.removed_mounts as string[]) : []);
const revOf = (s: SessionRecord): number => Number(s.data.resources_rev ?? 0);
