import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { SqlDialectName } from './dialect.js';
import { coreMigration } from './migrations/0001-core.js';
import { ociMigration } from './migrations/0006-oci.js';
import { mcpMigration } from './migrations/0004-mcp.js';
import { agentxMigration } from './migrations/0002-agentx.js';
import { agentspacesMigration } from './migrations/0007-agentspaces.js';
import { managedMigration } from './migrations/0008-managed.js';
import { runtimeTokenReachMigration } from './migrations/0010-runtime-token-reach.js';
import { managedSkillVersionsMigration } from './migrations/0011-managed-skill-versions.js';
import { visibilityMigration } from './migrations/0009-visibility.js';
import { orgRolesMigration } from './migrations/0009-org-roles.js';
import { ociRepositoriesMigration } from './migrations/0013-oci-repositories.js';
import { idempotencyKeysMigration } from './migrations/0015-idempotency-keys.js';
import { sessionsMigration } from './migrations/0016-sessions.js';
import { workloadsMigration } from './migrations/0017-workloads.js';
import { groupsClientsMigration } from './migrations/0018-groups-clients.js';
import { evalsMigration } from './migrations/0020-evals.js';
import { integrationsMigration } from './migrations/0021-integrations.js';
import { skillInstallsMigration } from './migrations/0023-skill-installs.js';
import { searchIndexPendingListMigration } from './migrations/0024-search-index-pending-list.js';
import { sessionThreadsMigration } from './migrations/0025-session-threads.js';
import { runKeysMigration } from './migrations/0029-run-keys.js';
import { mirrorsMigration } from './migrations/0030-mirrors.js';
import { scopeSigningMigration } from './migrations/0031-scope-signing.js';
import { webhooksMigration } from './migrations/0032-webhooks.js';
import { versionFindingsMigration } from './migrations/0033-version-findings.js';
import { listOrderCardKeysMigration } from './migrations/0034-list-order-card-keys.js';
import { agentryMirrorsMigration } from './migrations/0039-agentry-mirrors.js';
import { mirrorSyncsMigration } from './migrations/0040-mirror-syncs.js';
import { mirrorListingsMigration } from './migrations/0041-mirror-listings.js';
import { mcpMirrorCacheMigration } from './migrations/0038-mcp-mirror-cache.js';
import { packageEmbeddingsMigration } from './migrations/0042-package-embeddings.js';
import { a2aTasksMigration } from './migrations/0044-a2a-tasks.js';
import { packageDocumentsMigration } from './migrations/0045-package-documents.js';
import { dropPackagesUpdatedIndexMigration } from './migrations/0046-drop-packages-updated-index.js';
import { packageLexemesMigration } from './migrations/0048-package-lexemes.js';
import { mirrorVisibilityMigration } from './migrations/0049-mirror-visibility.js';
import { packageDocumentLookupMigration } from './migrations/0050-package-document-lookup.js';
import { publishIndexesMigration } from './migrations/0051-publish-indexes.js';
import { packageDocumentsScanMigration } from './migrations/0052-package-documents-scan.js';
import { dropSqliteVisibilityIndexMigration } from './migrations/0053-drop-sqlite-visibility-index.js';
import { packageSearchCandidatesMigration } from './migrations/0054-package-search-candidates.js';
import { packageLexemesPruneMigration } from './migrations/0055-package-lexemes-prune.js';

/** Every migration, in order. Append only: a released migration is never edited. */
const migrationsFor = (dialect: SqlDialectName): Record<string, Migration> => ({
  '0001-core': coreMigration(dialect),
  '0006-oci': ociMigration(),
  '0004-mcp': mcpMigration(dialect),
  '0002-agentx': agentxMigration(dialect),
  '0007-agentspaces': agentspacesMigration(dialect),
  '0008-managed': managedMigration(dialect),
  '0010-runtime-token-reach': runtimeTokenReachMigration(dialect),
  // After 0009-visibility: it sets the visibility of the packages earlier servers made for managed skills.
  '0011-managed-skill-versions': managedSkillVersionsMigration(dialect),
  '0009-visibility': visibilityMigration(dialect),
  '0009-org-roles': orgRolesMigration(),
  '0013-oci-repositories': ociRepositoriesMigration(),
  '0015-idempotency-keys': idempotencyKeysMigration(),
  '0016-sessions': sessionsMigration(dialect),
  '0017-workloads': workloadsMigration(),
  '0018-groups-clients': groupsClientsMigration(),
  '0020-evals': evalsMigration(dialect),
  '0021-integrations': integrationsMigration(),
  '0023-skill-installs': skillInstallsMigration(),
  ...(dialect === 'postgres' ? { '0024-search-index-pending-list': searchIndexPendingListMigration() } : {}),
  '0025-session-threads': sessionThreadsMigration(dialect),
  '0029-run-keys': runKeysMigration(dialect),
  '0030-mirrors': mirrorsMigration(),
  '0031-scope-signing': scopeSigningMigration(),
  '0032-webhooks': webhooksMigration(dialect),
  '0033-version-findings': versionFindingsMigration(),
  '0034-list-order-card-keys': listOrderCardKeysMigration(),
  '0039-agentry-mirrors': agentryMirrorsMigration(),
  '0040-mirror-syncs': mirrorSyncsMigration(dialect),
  '0041-mirror-listings': mirrorListingsMigration(),
  '0038-mcp-mirror-cache': mcpMirrorCacheMigration(),
  '0042-package-embeddings': packageEmbeddingsMigration(dialect),
  '0044-a2a-tasks': a2aTasksMigration(),
  '0045-package-documents': packageDocumentsMigration(),
  '0046-drop-packages-updated-index': dropPackagesUpdatedIndexMigration(),
  ...(dialect === 'postgres' ? { '0048-package-lexemes': packageLexemesMigration() } : {}),
  '0049-mirror-visibility': mirrorVisibilityMigration(),
  ...(dialect === 'sqlite' ? { '0050-package-document-lookup': packageDocumentLookupMigration() } : {}),
  '0051-publish-indexes': publishIndexesMigration(dialect),
  ...(dialect === 'sqlite' ? { '0052-package-documents-scan': packageDocumentsScanMigration() } : {}),
  ...(dialect === 'sqlite' ? { '0053-drop-sqlite-visibility-index': dropSqliteVisibilityIndexMigration() } : {}),
  ...(dialect === 'sqlite' ? { '0054-package-search-candidates': packageSearchCandidatesMigration() } : {}),
  ...(dialect === 'postgres' ? { '0055-package-lexemes-prune': packageLexemesPruneMigration() } : {}),
});

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: SqlDialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrationsFor(this.dialect);
  }
}

const migratorFor = (db: Kysely<unknown>, dialect: SqlDialectName, schema?: string): Migrator =>
  new Migrator({
    db,
    provider: new InCodeMigrations(dialect),
    migrationTableName: 'agentry_migrations',
    migrationLockTableName: 'agentry_migrations_lock',
    // Each feature appends its own named migration; a store may meet them in any order.
    allowUnorderedMigrations: true,
    // Name the schema: Kysely looks for its tables across every schema it can see otherwise.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });

/** Brings the schema up to date; runs at every start. Throws with the failing migration's name. */
export const migrateToLatest = async (db: Kysely<unknown>, dialect: SqlDialectName, schema?: string): Promise<string[]> => {
  const migrator = migratorFor(db, dialect, schema);
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
};

/** The names of the migrations this build has that the database has not run. */
export const pendingMigrations = async (db: Kysely<unknown>, dialect: SqlDialectName, schema?: string): Promise<string[]> =>
  (await migratorFor(db, dialect, schema).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
