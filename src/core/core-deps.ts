import type { AuditLog } from './audit/audit-log.js';
import type { AccessPolicy } from './auth/access-policy.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { DomainEvents } from './events/domain-events.js';
import type { Storage } from './storage.js';
import type { Clock } from './time.js';

/**
 * What every core service is built from: one object, made once by the `Registry` and handed to each
 * service as its first argument (`new TokenService(deps)`, `new PackageService(deps, limits)`); what a
 * service needs beyond it (another service, its options) follows. The managed-agents plane widens it
 * (`ManagedDeps`).
 */
export interface CoreDeps {
  storage: Storage;
  /** Where package tarballs, OCI blobs and uploads are written (reads go through `BlobAccess`). */
  blobs: BlobStore;
  /** The one access rule: who may read and change what. */
  policy: AccessPolicy;
  audit: AuditLog;
  clock: Clock;
  /** Where committed changes are announced (webhooks listen); absent: nobody listens. */
  events?: DomainEvents;
}
