import { join } from 'node:path';
import type { BlobStore, Storage } from '../core/storage.js';
import { FsBlobStore } from './blobs/fs-blob-store.js';
import { openPostgresStorage } from './postgres/open-postgres.js';
import { openSqliteStorage } from './sqlite/open-sqlite.js';

export interface StorageConfig {
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; absent selects the embedded SQLite file. */
  databaseUrl?: string;
  databaseSchema?: string;
}

/** Opens the configured metadata store (migrated) and the blob folder. */
export const openStorage = async (cfg: StorageConfig): Promise<{ storage: Storage; blobs: BlobStore }> => {
  const blobs = await new FsBlobStore(join(cfg.dataDir, 'blobs')).init();
  if (cfg.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(cfg.databaseUrl)) throw new Error('database URL must start with postgres:// or postgresql://');
    return { storage: await openPostgresStorage({ url: cfg.databaseUrl, schema: cfg.databaseSchema }), blobs };
  }
  return { storage: await openSqliteStorage(join(cfg.dataDir, 'agentry.db')), blobs };
};
