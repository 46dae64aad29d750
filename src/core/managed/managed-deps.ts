import type { Principal, RequestContext } from '../auth/principal.js';
import type { BlobAccess } from '../blobs/blob-access.js';
import type { CoreDeps } from '../core-deps.js';
import { notFound } from '../errors.js';
import type { PackageService } from '../packages/package-service.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { StorageRepos } from '../storage.js';
import type { ManagedKind, ManagedObjectRecord } from './managed-storage.js';

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
