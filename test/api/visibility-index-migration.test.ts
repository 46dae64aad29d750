import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { onStore, storeQuery } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Migration 0053-drop-sqlite-visibility-index (SQLite: no index of packages by visibility; PostgreSQL
 * keeps its own) on a store as an earlier server left it: every package, with its visibility and
 * owner, is there after the upgrade, and each caller reads the same listings, counts and catalog as
 * before, public, internal and private alike.
 */
describe.each(testStores)('visibility index migration 0053 (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-visidx-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  const visibilityIndexes = async (server: TestServer): Promise<unknown[]> =>
    (
      await storeQuery(
        server,
        store === 'sqlite'
          ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'packages' AND name = 'packages_visibility_idx'"
          : "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'packages' AND schemaname = current_schema() AND indexname = 'packages_visibility_idx'",
      )
    ).rows.map((r) => r.name);

  it('drops the index from an older store (SQLite), which keeps every package and answers every reader as before', async () => {
    const opts = { store, dataDir, adminToken, postgresSchema: schema };
    let server = await startTestServer(opts);
    const tokens: Record<string, string> = {};
    const rows = async () => (await storeQuery(server, 'SELECT key, kind, visibility, owner_account_id, latest_version FROM packages ORDER BY id')).rows;
    /** What each caller reads: the listing in two orders (with its total), a search, and the OCI catalog. */
    const answers = async () => {
      const seen: Record<string, unknown> = {};
      for (const who of ['anonymous', 'dora', 'eve', 'admin']) {
        const api = new Api(server.url, who === 'anonymous' ? undefined : who === 'admin' ? server.adminToken : tokens[who]);
        for (const path of ['/api/v1/packages?limit=100', '/api/v1/packages?sort=name&limit=100', '/api/v1/agents?limit=100', '/api/v1/packages?q=quokka&limit=100']) {
          const r = await api.req('GET', path);
          expect(r.status, `${who} ${path}`).toBe(200);
          const body = r.body as { packages?: Array<{ scope: string; name: string }>; agents?: Array<{ scope: string; name: string }>; total: number };
          seen[`${who} ${path}`] = { names: (body.packages ?? body.agents)!.map((p) => `${p.scope}/${p.name}`), total: body.total };
        }
        const catalog = await api.req('GET', '/v2/_catalog');
        seen[`${who} catalog`] = catalog.status === 200 ? catalog.body : catalog.status;
      }
      return seen;
    };
    let before: Record<string, unknown>;
    let stored: unknown;
    try {
      const admin = new Api(server.url, server.adminToken);
      for (const user of ['dora', 'eve']) tokens[user] = (await admin.req('POST', '/api/v1/users', { username: user })).body.token as string;
      const dora = admin.with(tokens.dora!);
      const visibilities = { open: 'public', inside: 'internal', secret: 'private' } as const;
      for (const [name, visibility] of Object.entries(visibilities)) {
        const tgz = await agentTarball({ name: `quokka-${name}`, version: '1.0.0', scope: 'dora', description: `a quokka kept ${visibility}` });
        expect((await dora.publish(`/api/v1/agents/@dora/quokka-${name}`, tgz)).status).toBe(200);
        if (visibility !== 'public') expect((await dora.req('PUT', `/api/v1/access/@dora/quokka-${name}`, { visibility })).status).toBe(200);
      }
      before = await answers();
      stored = await rows();
      // Anonymous callers see the public package only, eve (signed in) the internal one too, dora all three.
      expect(before['anonymous /api/v1/packages?limit=100']).toEqual({ names: ['@dora/quokka-open'], total: 1 });
      expect((before['eve /api/v1/packages?sort=name&limit=100'] as { names: string[] }).names).toEqual(['@dora/quokka-inside', '@dora/quokka-open']);
      expect((before['dora /api/v1/packages?sort=name&limit=100'] as { names: string[] }).names).toEqual(['@dora/quokka-inside', '@dora/quokka-open', '@dora/quokka-secret']);
      expect(await visibilityIndexes(server)).toEqual(store === 'sqlite' ? [] : ['packages_visibility_idx']);
    } finally {
      await server.close();
    }

    // The store as a server before 0053 left it (SQLite: with the index; PostgreSQL has nothing of it).
    if (store === 'sqlite') {
      await onStore(store, dataDir, schema, [
        "DELETE FROM agentry_migrations WHERE name = '0053-drop-sqlite-visibility-index'",
        'CREATE INDEX packages_visibility_idx ON packages (visibility, owner_account_id)',
      ]);
    }

    server = await startTestServer(opts);
    try {
      expect(await visibilityIndexes(server)).toEqual(store === 'sqlite' ? [] : ['packages_visibility_idx']);
      expect(await rows()).toEqual(stored);
      expect(await answers()).toEqual(before);
      if (store === 'sqlite') {
        const plan = await storeQuery(server, "EXPLAIN QUERY PLAN SELECT count(*) FROM packages p WHERE p.latest_version IS NOT NULL AND p.visibility = 'public'");
        expect(plan.rows.map((r) => r.detail).join('\n')).not.toMatch(/visibility/);
      }
    } finally {
      await server.close();
    }
  });
});
