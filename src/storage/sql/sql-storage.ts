import type { PackageViewStamps } from '../../core/packages/view-stamps.js';
import type { LexemeUpkeep } from '../../core/search/lexeme-prune.js';
import { pruneLexemes } from '../postgres/lexeme-prune.js';
import { SqlLeasedJobs } from './leased-jobs.js';
import { LEXEME_PRUNE_JOB } from './migrations/0055-package-lexemes-prune.js';
import type { Kysely } from 'kysely';
import type { Storage, StorageRepos } from '../../core/storage.js';
import { SqlAccountRepo } from './account-repo.js';
import { SqlAuditRepo } from './audit-repo.js';
import { SqlBlobRefRepo } from './blob-ref-repo.js';
import type { ChangeFeed } from './change-feed.js';
import type { RowReader, RowsReader, SqlDialectName, TextSearch } from './dialect.js';
import { SqlManagedRepo } from './managed-repo.js';
import { pendingMigrations } from './migrate.js';
import { SqlPackageRepo } from './package-repo.js';
import { SqlOciRepo } from './oci-repo.js';
import type { Database } from './schema.js';
import { SqlScopeRepo } from './scope-repo.js';
import { SqlTokenRepo } from './token-repo.js';
import { SqlStarRepo } from './star-repo.js';
import { SqlIdempotencyRepo } from './idempotency-repo.js';
import { SqlSessionRepo } from './session-repo.js';
import { SqlSessionThreadRepo } from './session-thread-repo.js';
import { SqlDiscoveryRepo } from './discovery-repo.js';
import { SqlTelemetryRepo } from './telemetry-repo.js';
import { SqlOAuthRepo } from './oauth-repo.js';
import { SqlSecretValueRepo } from './secret-value-repo.js';
import { SqlAgentspaceRepo } from './agentspace-repo.js';
import { sql } from 'kysely';
import { SqlWorkloadStore } from './workload-store.js';
import { SqlGroupStore } from './group-store.js';
import { SqlEvalStore } from './eval-store.js';
import { BatchedTransactions } from './batched-transactions.js';
import { SqlWebhookOutbox, SqlWebhookStore } from './webhook-store.js';
import { SqlSkillInstallStore } from './skill-install-store.js';
import { SqlMirrorStore } from './mirror-store.js';
import { SqlMirrorSyncStore } from './mirror-sync-store.js';
import { SqlMcpMirrorCache } from './mcp-mirror-cache.js';
import { SqlPackageVectorOutbox, SqlPackageVectorStore } from './package-vector-store.js';

const reposOn = (db: Kysely<Database>, dialect: SqlDialectName, textSearch: TextSearch): StorageRepos => ({
  accounts: new SqlAccountRepo(db),
  scopes: new SqlScopeRepo(db),
  tokens: new SqlTokenRepo(db),
  packages: new SqlPackageRepo(db, dialect, textSearch),
  audit: new SqlAuditRepo(db),
  blobRefs: new SqlBlobRefRepo(db),
  oci: new SqlOciRepo(db, dialect),
  stars: new SqlStarRepo(db),
  discovery: new SqlDiscoveryRepo(db),
  telemetry: new SqlTelemetryRepo(db),
  oauth: new SqlOAuthRepo(db),
  secretValues: new SqlSecretValueRepo(db),
  agentspaces: new SqlAgentspaceRepo(db),
  managed: new SqlManagedRepo(db, dialect),
  idempotency: new SqlIdempotencyRepo(db),
  sessions: new SqlSessionRepo(db, dialect),
  sessionThreads: new SqlSessionThreadRepo(db),
  webhookOutbox: new SqlWebhookOutbox(db),
  searchOutbox: new SqlPackageVectorOutbox(db),
});

/** The one Kysely implementation of the storage ports; dialects differ only in connection and text search. */
export class SqlStorage implements Storage {
  readonly accounts;
  readonly scopes;
  readonly tokens;
  readonly packages;
  readonly audit;
  readonly blobRefs;
  readonly oci;
  readonly stars;
  readonly discovery;
  readonly telemetry;
  readonly oauth;
  readonly secretValues;
  readonly agentspaces;
  readonly managed;
  readonly idempotency;
  /** MCP workloads (core/workloads' own port, outside the `Storage` aggregate). */
  readonly workloads: SqlWorkloadStore;
  readonly sessions;
  readonly sessionThreads;
  readonly webhookOutbox;
  readonly searchOutbox;
  /** Package vectors of semantic search and their queue (core/search's own port, outside `Storage`). */
  readonly packageVectors: SqlPackageVectorStore;
  /** Groups and client registrations (core/groups): a feature port beside its feature, not part of `Storage`. */
  readonly groups: SqlGroupStore;
  /** Eval runs (core/evals' own port, outside `Storage`). */
  readonly evals: SqlEvalStore;
  /** Webhooks and their queued deliveries (core/webhooks' own port, outside `Storage`). */
  readonly webhooks: SqlWebhookStore;

  /** Skill installs into MCP clients' skills folders (core/skills' own port). */
  readonly skillInstalls: SqlSkillInstallStore;
  /** Upstreams (pull-through mirrors) and their cached tags (core/mirrors' own port). */
  readonly mirrors: SqlMirrorStore;
  /** Sync jobs of mirrors, leased by the workers driving them (core/mirrors' own port). */
  readonly mirrorSyncs: SqlMirrorSyncStore;
  /** The listings of MCP upstreams (core/mirrors/mcp-mirror's port). */
  readonly mcpMirrorCache: SqlMcpMirrorCache;
  /** PostgreSQL: the prune of `package_lexemes`, leased through `periodic_jobs` (0055). */
  readonly lexemes: LexemeUpkeep | undefined;

  private readonly batches: BatchedTransactions<Database> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readonly kind: SqlDialectName,
    private readonly textSearch: TextSearch,
    private readonly changeFeed?: ChangeFeed,
    /** The PostgreSQL schema the migration table is in (as when migrating). */
    private readonly migrationSchema?: string,
    /** SQLite: the read-only connection's statements for the hot read path (outside transactions). */
    readRow?: RowReader,
    private readonly closeReader?: () => void | Promise<void>,
    /** PostgreSQL: named (prepared once per connection) statements for the hot read path. */
    private readonly readRows?: RowsReader,
  ) {
    this.batches = kind === 'sqlite' ? new BatchedTransactions(db) : undefined;
    const repos = reposOn(db, kind, textSearch);
    repos.packages = new SqlPackageRepo(db, kind, textSearch, readRow, readRows);
    repos.scopes = new SqlScopeRepo(db, readRow);
    repos.tokens = new SqlTokenRepo(db, readRow);
    repos.accounts = new SqlAccountRepo(db, readRow);
    this.accounts = repos.accounts;
    this.scopes = repos.scopes;
    this.tokens = repos.tokens;
    this.packages = repos.packages;
    this.audit = repos.audit;
    this.blobRefs = repos.blobRefs;
    this.oci = repos.oci;
    this.stars = repos.stars;
    this.discovery = repos.discovery;
    this.telemetry = repos.telemetry;
    this.oauth = repos.oauth;
    this.secretValues = repos.secretValues;
    this.agentspaces = repos.agentspaces;
    this.managed = repos.managed;
    this.idempotency = repos.idempotency;
    this.workloads = new SqlWorkloadStore(db);
    this.sessions = repos.sessions;
    this.sessionThreads = repos.sessionThreads;
    this.webhookOutbox = repos.webhookOutbox;
    this.searchOutbox = repos.searchOutbox;
    this.packageVectors = new SqlPackageVectorStore(db, kind);
    this.groups = new SqlGroupStore(db);
    this.evals = new SqlEvalStore(db);
    this.webhooks = new SqlWebhookStore(db, kind);
    this.skillInstalls = new SqlSkillInstallStore(db);
    this.mirrors = new SqlMirrorStore(db);
    this.mirrorSyncs = new SqlMirrorSyncStore(db);
    this.mcpMirrorCache = new SqlMcpMirrorCache(db, kind);
    this.lexemes =
      kind === 'postgres'
        ? {
            leases: new SqlLeasedJobs(db, { table: 'periodic_jobs', order: 'seq', active: ['active'], renewWhileActive: true }),
            jobId: LEXEME_PRUNE_JOB,
            prune: (signal) => pruneLexemes(db, signal),
          }
        : undefined;
  }

  /**
   * SQLite (one writing connection): transactions asked for at once share a commit, each in a
   * savepoint of its own (see BatchedTransactions). PostgreSQL: each its own, concurrently.
   */
  transaction<T>(fn: (tx: StorageRepos) => Promise<T>): Promise<T> {
    if (this.batches) return this.batches.run((trx) => fn(reposOn(trx, this.kind, this.textSearch)));
    return this.db.transaction().execute((trx) => fn(reposOn(trx, this.kind, this.textSearch)));
  }

  /** On PostgreSQL (shared by several processes), the stamps cached package views are checked against. */
  viewStamps(): PackageViewStamps | undefined {
    if (this.kind !== 'postgres') return undefined;
    const repo = new SqlPackageRepo(this.db, this.kind, this.textSearch, undefined, this.readRows);
    return { stamp: (key) => repo.changeStamp(key) };
  }

  async onPackageChange(listener: (key: string | undefined) => void): Promise<void> {
    await this.changeFeed?.listen(listener);
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.db as Kysely<unknown>, this.kind, this.migrationSchema);
  }

  async close(): Promise<void> {
    await this.changeFeed?.close();
    await this.webhooks.close();
    await this.closeReader?.();
    await this.db.destroy();
  }
}
