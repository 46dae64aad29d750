import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { storeQuery } from '../helpers/on-store.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * The listing filtered by scope (migration 0051: on SQLite a range of package keys, not an index on
 * scope): exactly the scope's packages, never those of a scope its name starts or that sorts beside it.
 */
describe.each(testStores)('package listing by scope (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  const SCOPES = ['ab', 'abc', 'ab-c', 'a', 'ab0'];
  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    for (const scope of SCOPES) {
      const user = admin.with((await admin.req('POST', '/api/v1/users', { username: scope })).body.token as string);
      for (const name of ['quokka-one', 'quokka-two']) {
        const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name, version: '1.0.0', scope, description: `${name} of ${scope}` }) });
        expect((await user.publish(`/api/v1/agents/@${scope}/${name}`, tgz)).status).toBe(200);
      }
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  const names = (body: unknown, field = 'packages') => ((body as Record<string, Array<{ scope: string; name: string }>>)[field]!.map((p) => `${p.scope}/${p.name}`) as string[]).sort();

  it('lists exactly the scope’s packages, in every order, with and without a text query, whatever the case or @ it is given with', async () => {
    for (const scope of SCOPES) {
      const want = [`@${scope}/quokka-one`, `@${scope}/quokka-two`];
      for (const sort of ['downloads', 'stars', 'newest', 'name']) {
        const r = await admin.req('GET', `/api/v1/packages?scope=${scope}&sort=${sort}&limit=100`);
        expect(r.status).toBe(200);
        expect(names(r.body), `${scope} ${sort}`).toEqual(want);
        expect((r.body as { total: number }).total).toBe(2);
      }
      const searched = await admin.req('GET', `/api/v1/packages?q=quokka&scope=${scope}&limit=100`);
      expect(names(searched.body), `${scope} q`).toEqual(want);
      const upper = await admin.req('GET', `/api/v1/agents?scope=@${scope.toUpperCase()}&limit=100`);
      expect(names(upper.body, 'agents'), `${scope} upper`).toEqual(want);
    }
    expect(names((await admin.req('GET', '/api/v1/packages?scope=nobody&limit=100')).body)).toEqual([]);
  });

  it.runIf(store === 'sqlite')('has no index on scope (0051), and lists a scope by a range of the key’s index', async () => {
    const idx = await storeQuery(server, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'packages'");
    const indexes = idx.rows.map((r) => r.name);
    expect(indexes).not.toContain('packages_scope_idx');
    const plan = await storeQuery(server, 'EXPLAIN QUERY PLAN SELECT id FROM packages p WHERE p.scope = ? AND p.key >= ? AND p.key < ?', ['ab', 'ab/', 'ab0']);
    expect(plan.rows.map((r) => r.detail).join('\n')).toMatch(/USING (COVERING )?INDEX (sqlite_autoindex_packages_1|packages_document_lookup_idx) \(key>\? AND key<\?\)/);
  });

  it('keeps only rows with a model in the index of vectors by model (0051): a first publish’s queued row is not in it', async () => {
    const sql =
      store === 'sqlite'
        ? "SELECT sql AS def FROM sqlite_schema WHERE name = 'package_embeddings_seq_idx'"
        : "SELECT indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'package_embeddings_seq_idx'";
    const def = String((await storeQuery(server, sql)).rows[0]?.def);
    expect(def).toMatch(/model IS NOT NULL/);
    const queued = await storeQuery(server, "SELECT count(*) AS n FROM package_embeddings WHERE status = 'pending' AND model IS NULL");
    expect(Number(queued.rows[0]?.n)).toBe(SCOPES.length * 2);
  });
});
