/**
 * The storage aggregate of the core: every repo the core reads and writes through, and one
 * transaction over them. The ports themselves sit beside their features (`core/<feature>/…-repo.ts`,
 * `core/oci/ports.ts`, …); the embedded (SQLite) and scale-out (PostgreSQL) implementations live in
 * `src/storage/` and are chosen by the composition root. Records are plain data: no behaviour, no HTTP.
 */
import type { AccountRepo, ScopeRepo } from './accounts/account-repo.js';
import type { AgentspaceRepo } from './agentspaces/agentspace-repo.js';
import type { AuditRepo } from './audit/audit-repo.js';
import type { BlobRefRepo } from './blobs/blob-ref-repo.js';
import type { IdempotencyRepo } from './idempotency/idempotency-repo.js';
import type { ManagedRepo } from './managed/managed-storage.js';
import type { SessionRepo } from './sessions/session-store.js';
import type { SessionThreadRepo } from './sessions/threads/thread-store.js';
import type { OAuthRepo } from './oauth/oauth-repo.js';
import type { OciRepo } from './oci/ports.js';
import type { PackageRepo } from './packages/package-repo.js';
import type { SecretValueRepo } from './secrets/secret-value-repo.js';
import type { StarRepo } from './stars/star-repo.js';
import type { TelemetryRepo } from './telemetry/telemetry-repo.js';
import type { TokenRepo } from './tokens/token-repo.js';
import type { DiscoveryRepo } from './trending/discovery-repo.js';
import type { WebhookOutbox } from './webhooks/webhook-store.js';
import type { PackageVectorOutbox } from './search/package-vectors.js';

export interface StorageRepos {
  accounts: AccountRepo;
  scopes: ScopeRepo;
  tokens: TokenRepo;
  packages: PackageRepo;
  audit: AuditRepo;
  blobRefs: BlobRefRepo;
  oci: OciRepo;
  stars: StarRepo;
  discovery: DiscoveryRepo;
  telemetry: TelemetryRepo;
  oauth: OAuthRepo;
  secretValues: SecretValueRepo;
  agentspaces: AgentspaceRepo;
  managed: ManagedRepo;
  idempotency: IdempotencyRepo;
  sessions: SessionRepo;
  sessionThreads: SessionThreadRepo;
  /** Webhook deliveries queued by a write in its own transaction (core/webhooks). */
  webhookOutbox: WebhookOutbox;
  /** Packages whose semantic-search vector is to be computed, queued by the write that changed their text (core/search). */
  searchOutbox: PackageVectorOutbox;
}

export interface Storage extends StorageRepos {
  /** Which implementation this is, for health output and logs. */
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Calls `listener` with the key of every package another process changed (see
   * `announceChange`), and with `undefined` when changes may have been missed (a reconnect).
   */
  onPackageChange(listener: (key: string | undefined) => void): Promise<void>;
  /** Runs `fn` in one transaction: all its writes land, or none. */
  transaction<T>(fn: (tx: StorageRepos) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** The migrations this build knows that the database has not applied (empty when up to date). */
  pendingMigrations(): Promise<string[]>;
  close(): Promise<void>;
}
