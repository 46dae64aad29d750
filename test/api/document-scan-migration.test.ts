import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { onStore, storeQuery } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores } from '../helpers/server.js';

/**
 * Migration 0052-package-documents-scan (SQLite: indexes of the packages' and documents' ids for
 * the start-up scan for packages without a document) on a store as an earlier server left it, and the
 * scan through it: a package whose document went missing gets it back at the next start-up, the
 * packages before and after it keep theirs.
 */
describe.each(testStores)('document scan migration 0052 (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-docscan-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('adds the index to an older store, and a package whose document is missing gets it again after a restart', async () => {
    const opts = { store, dataDir, adminToken, postgresSchema: schema };
    let server = await startTestServer(opts);
    const names = ['first', 'middle', 'last'];
    const documents = async () =>
      (await storeQuery(server, 'SELECT p.key, d.body, d.etag FROM packages p LEFT JOIN package_documents d ON d.package_id = p.id ORDER BY p.id')).rows as Array<{
        key: string;
        body: string | null;
        etag: string | null;
      }>;
    try {
      const admin = new Api(server.url, server.adminToken);
      const token = (await admin.req('POST', '/api/v1/users', { username: 'dora' })).body.token as string;
      for (const name of names) expect((await admin.with(token).publish(`/api/v1/agents/@dora/${name}`, await agentTarball({ name, version: '1.0.0', scope: 'dora' }))).status).toBe(200);
    } finally {
      await server.close();
    }
    const before = await documents();
    expect(before.map((d) => d.key)).toEqual(names.map((n) => `dora/${n}`));
    expect(before.every((d) => d.body && d.etag)).toBe(true);

    // The store as a server before 0052 left it (SQLite: no index; PostgreSQL has nothing of it), one document gone.
    await onStore(store, dataDir, schema, [
      ...(store === 'sqlite' ? ["DELETE FROM agentry_migrations WHERE name = '0052-package-documents-scan'", 'DROP INDEX package_documents_scan_idx', 'DROP INDEX packages_id_scan_idx'] : []),
      "DELETE FROM package_documents WHERE package_id = (SELECT id FROM packages WHERE key = 'dora/middle')",
    ]);
    expect((await documents()).map((d) => d.body !== null)).toEqual([true, false, true]);

    server = await startTestServer(opts);
    try {
      await expect.poll(documents, { timeout: 20_000 }).toEqual(before);
      const indexes = await storeQuery(
        server,
        store === 'sqlite'
          ? "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%scan_idx' ORDER BY name"
          : "SELECT indexname AS name FROM pg_indexes WHERE tablename IN ('packages', 'package_documents') AND schemaname = current_schema() AND indexname LIKE '%scan_idx'",
      );
      expect(indexes.rows.map((r) => r.name)).toEqual(store === 'sqlite' ? ['package_documents_scan_idx', 'packages_id_scan_idx'] : []);
      expect((await new Api(server.url).req('GET', '/api/v1/agents/@dora/middle')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
