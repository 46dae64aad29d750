import { join } from 'node:path';
import type { BlobStore, Storage } from '../core/storage.js';
import { FsBlobStore } from './blobs/fs-blob-store.js';
import { FsUploadStore } from './blobs/fs-upload-store.js';
import type { UploadStore } from '../core/oci/ports.js';
import { openPostgresStorage } from './postgres/open-postgres.js';
import { openSqliteStorage } from './sqlite/open-sqlite.js';

export interface StorageConfig {
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; absent selects the embedded SQLite file. */
  databaseUrl?: string;
  databaseSchema?: string;
}

/** Opens the configured metadata store (migrated) and the blob folder. */
export const openStorage = async (cfg: StorageConfig): Promise<{ storage: Storage; blobs: BlobStore; uploads: UploadStore }> => {
  const blobs = await new FsBlobStore(join(cfg.dataDir, 'blobs')).init();
  // OCI blob uploads in progress live in the data dir, beside the blobs they will become.
  const uploads = await new FsUploadStore(join(cfg.dataDir, 'uploads')).init();
  if (cfg.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(cfg.databaseUrl)) throw new Error('database URL must start with postgres:// or postgresql://');
    return { storage: await openPostgresStorage({ url: cfg.databaseUrl, schema: cfg.databaseSchema }), blobs, uploads };
  }
  return { storage: await openSqliteStorage(join(cfg.dataDir, 'agentry.db')), blobs, uploads };
};
