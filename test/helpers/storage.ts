import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStorage } from '../../src/storage/postgres/open-postgres.js';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { openSqliteStorage } from '../../src/storage/sqlite/open-sqlite.js';
import { dropTestSchema } from './postgres.js';

/** The stores a storage-level test runs on: SQLite always, PostgreSQL when AGENTRY_TEST_DATABASE_URL is set (else skipped). */
export const storageCases = [
  { store: 'sqlite' as const, skip: false },
  { store: 'postgres' as const, skip: !process.env.AGENTRY_TEST_DATABASE_URL },
];

/** Opens a fresh, migrated store (a temp SQLite file, or a PostgreSQL schema of its own); `close` removes it. */
export const openTestStorage = async (store: 'sqlite' | 'postgres', label: string): Promise<{ storage: SqlStorage; close(): Promise<void> }> => {
  if (store === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), `agentry-${label}-`));
    const removeDir = () => rm(dir, { recursive: true, force: true });
    // A store that fails to open or migrate leaves no folder behind.
    const storage = await openSqliteStorage(join(dir, 'db.sqlite')).catch(async (e: unknown) => {
      await removeDir();
      throw e;
    });
    return {
      storage,
      close: async () => {
        try {
          await storage.close();
        } finally {
          await removeDir();
        }
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const storage = await openPostgresStorage({ url: process.env.AGENTRY_TEST_DATABASE_URL!, schema });
  return { storage, close: async () => (await storage.close(), await dropTestSchema(schema)) };
};
