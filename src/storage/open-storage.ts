import { join } from 'node:path';
import type { PackageViewStamps } from '../core/packages/view-stamps.js';
import type { BlobUrlSigner } from '../core/blobs/blob-redirects.js';
import type { BlobStore } from '../core/blobs/blob-store.js';
import type { Storage } from '../core/storage.js';
import { FsBlobStore } from './blobs/fs-blob-store.js';
import { FsUploadStore } from './blobs/fs-upload-store.js';
import { parseBlobStoreUrl } from './blobs/blob-store-url.js';
import type { UploadStore } from '../core/oci/ports.js';
import type { GroupStore } from '../core/groups/group-store.js';
import type { WorkloadStore } from '../core/workloads/workload-store.js';
import type { EvalStore } from '../core/evals/eval-store.js';
import type { WebhookStore } from '../core/webhooks/webhook-store.js';
import type { SkillInstallStore } from '../core/skills/skill-install-store.js';
import type { MirrorStore } from '../core/mirrors/mirror.js';
import type { MirrorSyncStore } from '../core/mirrors/mirror-sync.js';
import type { McpMirrorCache } from '../core/mirrors/mcp-mirror.js';
import type { PackageVectorStore } from '../core/search/package-vectors.js';
import type { LexemeUpkeep } from '../core/search/lexeme-prune.js';
import { openPostgresStorage } from './postgres/open-postgres.js';
import { openSqliteStorage } from './sqlite/open-sqlite.js';

export interface StorageConfig {
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; absent selects the embedded SQLite file. */
  databaseUrl?: string;
  databaseSchema?: string;
  /** `s3://bucket/prefix?…` or `file:///path`; absent: the `blobs` folder of the data dir. */
  blobStore?: string;
  /** Where an S3 store's credentials are read from (AWS_ACCESS_KEY_ID…); absent: process.env via the SDK's chain. */
  env?: NodeJS.ProcessEnv;
}

/** A blob store, where OCI uploads grow beside it, and what signs download URLs (S3 only). */
export interface OpenedBlobStore {
  blobs: BlobStore & { close?(): void | Promise<void> };
  uploads: UploadStore;
  signer?: BlobUrlSigner;
}

/**
 * Opens the blob store a URL names (see parseBlobStoreUrl) and the store OCI uploads in progress
 * grow in: on the filesystem, `<dataDir>/uploads`; on S3, `<prefix>/uploads/` in the same bucket, so
 * that any process sharing the bucket and the database can take an upload's next chunk.
 */
export const openBlobStore = async (cfg: Pick<StorageConfig, 'dataDir' | 'blobStore' | 'env'>): Promise<OpenedBlobStore> => {
  const loc = parseBlobStoreUrl(cfg.blobStore, join(cfg.dataDir, 'blobs'));
  if (loc.kind === 'fs') {
    const blobs = await new FsBlobStore(loc.root).init();
    // A committed upload is renamed into the blob folder when both are on one filesystem (no second copy).
    return { blobs, uploads: await new FsUploadStore(join(cfg.dataDir, 'uploads'), blobs).init() };
  }
  const env = cfg.env ?? process.env;
  // Static keys when the server's environment has them; otherwise the SDK's provider chain
  // (profiles, SSO, web identity, container and instance roles).
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  const region = loc.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || (loc.endpoint ? 'us-east-1' : undefined));
  // Loaded only when asked for: the AWS SDK weighs ~10 MB of heap in a process that never uses it.
  const { S3BlobStore } = await import('./blobs/s3-blob-store.js');
  const blobs = await new S3BlobStore({ ...loc, ...(region ? { region } : {}), ...(credentials ? { credentials } : {}) }).init();
  return { blobs, uploads: blobs.uploadStore(), signer: blobs };
};

/** The stores of features kept beside the aggregate (their ports live beside the features). */
interface FeatureStores {
  groups: GroupStore;
  workloads: WorkloadStore;
  evals: EvalStore;
  webhooks: WebhookStore;
  skillInstalls: SkillInstallStore;
  mirrors: MirrorStore;
  mirrorSyncs: MirrorSyncStore;
  mcpMirrorCache: McpMirrorCache;
  packageVectors: PackageVectorStore;
}

/** The feature stores as either SQL storage holds them. */
const featureStores = (s: FeatureStores): FeatureStores => ({
  groups: s.groups,
  workloads: s.workloads,
  evals: s.evals,
  webhooks: s.webhooks,
  skillInstalls: s.skillInstalls,
  mirrors: s.mirrors,
  mirrorSyncs: s.mirrorSyncs,
  mcpMirrorCache: s.mcpMirrorCache,
  packageVectors: s.packageVectors,
});

/** Opens the configured metadata store (migrated) and the blob store. */
export const openStorage = async (cfg: StorageConfig): Promise<{ storage: Storage; viewStamps?: PackageViewStamps; lexemes?: LexemeUpkeep } & FeatureStores & OpenedBlobStore> => {
  if (cfg.databaseUrl && !/^postgres(ql)?:\/\//.test(cfg.databaseUrl)) throw new Error('database URL must start with postgres:// or postgresql://');
  const opened = await openBlobStore(cfg);
  try {
    if (cfg.databaseUrl) {
      const storage = await openPostgresStorage({ url: cfg.databaseUrl, schema: cfg.databaseSchema });
      // Shared by several processes: cached package views are checked against the database.
      return { storage, viewStamps: storage.viewStamps(), lexemes: storage.lexemes, ...featureStores(storage), ...opened };
    }
    const storage = await openSqliteStorage(join(cfg.dataDir, 'agentry.db'));
    return { storage, ...featureStores(storage), ...opened };
  } catch (e) {
    await opened.blobs.close?.();
    throw e;
  }
};
