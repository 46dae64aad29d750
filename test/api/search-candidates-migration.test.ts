import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { onStore, storeQuery } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores } from '../helpers/server.js';

interface Item {
  full_name: string;
}
interface List {
  total: number;
  agents?: Item[];
  packages?: Item[];
}

/**
 * Migration 0054-package-search-candidates (SQLite: the index of packages by id that a relevance
 * search reads its candidates through) on a store as an earlier server left it, and searches through
 * it with the filters it holds (kind, the read rule: public, or the caller's own private packages)
 * and one it does not (a scope, read from the package's row): the same hits, order and totals.
 */
describe.each(testStores)('search candidates migration 0054 (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-candidates-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('adds the index to an older store, and relevance searches read their candidates through it', async () => {
    const opts = { store, dataDir, adminToken, postgresSchema: schema };
    let server = await startTestServer(opts);
    let alice: Api;
    let bob: Api;
    try {
      const admin = new Api(server.url, server.adminToken);
      const token = async (username: string) => (await admin.req('POST', '/api/v1/users', { username })).body.token as string;
      alice = admin.with(await token('alice'));
      bob = admin.with(await token('bob'));
      const publish = async (api: Api, scope: string, name: string, description: string, access = 'public') => {
        const r = await api.publish(`/api/v1/agents/@${scope}/${name}`, await agentTarball({ name, version: '1.0.0', scope, description }), { access });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      };
      await publish(alice, 'alice', 'walrus', 'a helper');
      await publish(alice, 'alice', 'in-description', 'a walrus helper');
      await publish(alice, 'alice', 'secret-walrus', 'a walrus helper kept private', 'private');
      await publish(bob, 'bob', 'bob-walrus', 'the walrus of bob');
      await publish(bob, 'bob', 'unrelated', 'nothing to see');
    } finally {
      await server.close();
    }

    // The store as a server before 0054 left it (SQLite: no index; PostgreSQL has nothing of it).
    if (store === 'sqlite') await onStore(store, dataDir, schema, ["DELETE FROM agentry_migrations WHERE name = '0054-package-search-candidates'", 'DROP INDEX packages_search_candidates_idx']);

    server = await startTestServer(opts);
    try {
      const indexes = await storeQuery(
        server,
        store === 'sqlite'
          ? "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'packages_search_candidates_idx'"
          : "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'packages' AND schemaname = current_schema() AND indexname = 'packages_search_candidates_idx'",
      );
      expect(indexes.rows.map((r) => r.name)).toEqual(store === 'sqlite' ? ['packages_search_candidates_idx'] : []);
      const search = async (api: Api, path: string) => {
        const r = await api.req('GET', path);
        expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
        const body = r.body as List;
        return { total: body.total, names: (body.agents ?? body.packages ?? []).map((i) => i.full_name) };
      };
      const anonymous = new Api(server.url);
      const [asAlice, asBob] = [anonymous.with(alice!.token), anonymous.with(bob!.token)];
      const everyone = { total: 3, names: ['@bob/bob-walrus', '@alice/walrus', '@alice/in-description'] };
      expect(await search(anonymous, '/api/v1/search?q=walrus')).toEqual(everyone);
      expect(await search(anonymous, '/api/v1/packages?q=walrus')).toEqual(everyone);
      expect(await search(asBob, '/api/v1/packages?q=walrus')).toEqual(everyone);
      // Their owner sees the private one too (ranked by each store's own relevance: BM25, ts_rank).
      const owned = store === 'sqlite' ? ['@bob/bob-walrus', '@alice/walrus', '@alice/secret-walrus'] : ['@alice/secret-walrus', '@bob/bob-walrus', '@alice/walrus'];
      expect(await search(asAlice, '/api/v1/packages?q=walrus')).toEqual({ total: 4, names: [...owned, '@alice/in-description'] });
      // A filter the index does not hold (the scope) reads the package's row as well.
      expect(await search(asAlice, '/api/v1/packages?q=walrus&scope=alice')).toEqual({ total: 3, names: owned.filter((n) => n.startsWith('@alice/')).concat('@alice/in-description') });
      expect(await search(anonymous, '/api/v1/packages?q=walrus&scope=bob&limit=1&page=1')).toEqual({ total: 1, names: ['@bob/bob-walrus'] });
    } finally {
      await server.close();
    }
  });
});
