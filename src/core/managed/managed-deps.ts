import type { Principal, RequestContext } from '../auth/principal.js';
import type { BlobAccess } from '../blobs/blob-access.js';
import type { CoreDeps } from '../core-deps.js';
import { notFound } from '../errors.js';
import { isoNow } from '../time.js';
import type { PackageService } from '../packages/package-service.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { StorageRepos } from '../storage.js';
import type { ManagedKind, ManagedObjectQuery, ManagedObjectRecord } from './managed-storage.js';
import { cutPage, decodePageToken, type Paged, type PageRequest } from './page-token.js';

/** What every managed-agents service holds: the core's deps, and the services the plane builds on. */
export interface ManagedDeps extends CoreDeps {
  /** Where their bytes are read from: through what owns them (BlobAccess). Uploads (files, skill versions) are written to `blobs`. */
  blobAccess: BlobAccess;
  packages: PackageService;
  /** The encrypted secret store: vault values and model-card keys live there and nowhere else. */
  secrets: SecretService;
}

const LABEL: Record<ManagedKind, string> = {
  agent: 'Agent',
  environment: 'Environment',
  skill: 'Skill',
  skill_version: 'Skill version',
  vault: 'Vault',
  vault_credential: 'Credential',
  memory_store: 'Memory store',
  file: 'File',
  model_card: 'Model card',
  agentspace_run: 'Agentspace run',
  environment_work: 'Work item',
  integration: 'Integration',
  integration_publication: 'Publication',
  integration_thread: 'Integration thread',
  integration_event: 'Integration event',
  a2a_task: 'A2A task',
  a2a_context: 'A2A context',
};

export const kindLabel = (kind: ManagedKind): string => LABEL[kind];

/**
 * Managed objects belong to the account whose token created them: a caller sees and changes
 * only its own (another account's object is "not found", never "forbidden").
 */
export const ownedObject = async (repos: StorageRepos, kind: ManagedKind, id: string, p: Principal, lock = false): Promise<ManagedObjectRecord> => {
  const o = lock ? await repos.managed.lock(id) : await repos.managed.find(id);
  if (!o || o.kind !== kind || o.accountId !== p.account.id) throw notFound(`${LABEL[kind]} ${id} not found`);
  return o;
};

/**
 * A managed object the caller may read, for reads by id: managed objects are always private to
 * their account, so the one read rule (AccessPolicy.canRead with `private`) decides: the owning
 * account (and administrators). Anyone else gets "not found", never "forbidden". Changes stay
 * with the owner (`ownedObject`), and lists show the caller's own objects only.
 */
export const readableObject = async (deps: ManagedDeps, ctx: RequestContext, kind: ManagedKind, id: string): Promise<ManagedObjectRecord> => {
  reader(deps, ctx);
  const o = await deps.storage.managed.find(id);
  if (!o || o.kind !== kind || !(await deps.policy.canRead(ctx, { ownerAccountId: o.accountId, visibility: 'private' }))) throw notFound(`${LABEL[kind]} ${id} not found`);
  return o;
};

/** A caller that may read managed objects (any valid token). */
export const reader = (deps: ManagedDeps, ctx: RequestContext): Principal => deps.policy.requirePermission(ctx, 'read');

/** A caller that may change managed objects: a writable server and a token with publish permission. */
export const writer = (deps: ManagedDeps, ctx: RequestContext): Principal => {
  deps.policy.requireWritable();
  return deps.policy.requirePermission(ctx, 'publish');
};

/** The archive filter of lists: 002's `archived` (only archived / only live) and the SDK's `include_archived`. */
export const archiveFilter = (q: { archived?: boolean; includeArchived?: boolean }): 'exclude' | 'only' | 'include' => {
  if (q.archived === true) return 'only';
  if (q.archived === false) return 'exclude';
  return q.includeArchived ? 'include' : 'exclude';
};

/**
 * One page of the caller's own objects of a kind, newest first: the list every managed resource
 * answers. `filter` narrows the query (archived or not, a parent, live ones only); `toView` shapes
 * each object. A page token that is not ours is a 400 (after the caller's token is checked).
 */
export const listOwned = async <V>(
  deps: ManagedDeps,
  ctx: RequestContext,
  kind: ManagedKind,
  q: PageRequest,
  filter: Pick<ManagedObjectQuery, 'archived' | 'parentId' | 'liveAt'>,
  toView: (o: ManagedObjectRecord) => V,
): Promise<Paged<V>> => {
  const p = reader(deps, ctx);
  const rows = await deps.storage.managed.list({ kind, accountIds: [p.account.id], ...filter, beforeSeq: decodePageToken(q.page), limit: q.limit + 1 });
  const page = cutPage(rows, q.limit, (r) => r.seq);
  return { rows: page.rows.map(toView), nextPage: page.nextPage };
};

/**
 * Changes one of the caller's own objects of a kind, in one transaction with its row locked:
 * `change` gets the object and answers its new data (or throws to refuse the change); the object
 * is stored, the change audited as `managed.<kind>.update`, and answered through `toView`.
 */
export const updateOwned = async <V>(
  deps: ManagedDeps,
  ctx: RequestContext,
  kind: ManagedKind,
  id: string,
  change: (o: ManagedObjectRecord) => Record<string, unknown>,
  toView: (o: ManagedObjectRecord) => V,
): Promise<V> => {
  const p = writer(deps, ctx);
  return deps.storage.transaction(async (tx) => {
    const o = await ownedObject(tx, kind, id, p, true);
    const data = change(o);
    const now = isoNow(deps.clock);
    await tx.managed.update(o.id, { data, updatedAt: now });
    await deps.audit.record(tx.audit, ctx, `managed.${kind}.update`, o.id, {});
    return toView({ ...o, data, updatedAt: now });
  });
};
