import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { onStore } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const SYNTHETIC = 1200; // every tenth a skill: 120 skills, 1,080 agents (+2 published)

/** The listing without a text query (migration 0034): read by the index of its order, its total exact up to 1,000 matches and estimated above. */
describe.each(testStores)('package listing without a query (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-listing-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const opts = { store, dataDir, adminToken, postgresSchema: schema };
  let server: TestServer;
  let api: Api;
  beforeAll(async () => {
    server = await startTestServer(opts);
    const admin = new Api(server.url, server.adminToken);
    const alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
    for (const name of ['first', 'second']) {
      const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name, version: '1.0.0', scope: 'alice', description: name }) });
      expect((await alice.publish(`/api/v1/agents/@alice/${name}`, tgz)).status).toBe(200);
    }
    await server.close();
    // A corpus past the counting bound, written straight into the stopped server's store.
    const cols = 'scope, description, readme, category, tags, license, repository, homepage, latest_version, latest_pinned, owner_account_id, visibility, created_at, updated_at';
    await onStore(store, dataDir, schema, [
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${SYNTHETIC})
       INSERT INTO packages (kind, name, key, download_count, star_count, ${cols})
       SELECT CASE WHEN i % 10 = 0 THEN 'skill' ELSE src.kind END, src.name || '-' || i, src.key || '-' || i, (i * 7) % 13, i % 3, ${cols.replace(/(\w+)/g, 'src.$1')}
       FROM n, packages src WHERE src.name = 'first'`,
    ]);
    server = await startTestServer(opts);
    api = new Api(server.url);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  const list = async (query: string) => {
    const r = await api.req('GET', `/api/v1/packages?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { packages: { full_name: string; kind: string; download_count: number; star_count: number }[]; total: number; total_estimated?: boolean };
  };

  it('estimates the total above 1,000 matches and says so; counts exactly below, without the flag', async () => {
    const all = await list('limit=20');
    expect(all.total_estimated).toBe(true);
    expect(all.total).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(all.total - (SYNTHETIC + 2))).toBeLessThanOrEqual(50);
    const agents = await list('kind=agent&limit=5');
    expect(agents.total_estimated).toBe(true);
    expect(agents.packages.every((p) => p.kind === 'agent')).toBe(true);
    const skills = await list('kind=skill&limit=100');
    expect(skills.total).toBe(SYNTHETIC / 10);
    expect('total_estimated' in skills).toBe(false);
    expect(skills.packages.every((p) => p.kind === 'skill')).toBe(true);
    const skillRoute = await api.req('GET', '/api/v1/skills?sort=name&page=2&limit=100');
    expect(skillRoute.body.total).toBe(SYNTHETIC / 10);
    expect(skillRoute.body.packages).toHaveLength(SYNTHETIC / 10 - 100);
    expect('total_estimated' in skillRoute.body).toBe(false);
    // Past the end: no rows, the same total.
    const past = await list('kind=skill&limit=100&page=3');
    expect(past.packages).toEqual([]);
    expect(past.total).toBe(SYNTHETIC / 10);
    expect((await api.req('GET', '/api/v1/packages?sort=bogus')).status).toBe(400);
    expect((await api.req('GET', '/api/v1/packages?limit=101')).status).toBe(400);
  });

  it.each(['downloads', 'stars', 'newest', 'name', 'relevance'])('pages through sort=%s in one stable order, by any page size', async (sort) => {
    for (const kind of ['', '&kind=agent', '&kind=skill']) {
      const small = (await Promise.all([1, 2, 3, 4].map((p) => list(`sort=${sort}${kind}&limit=30&page=${p}`)))).flatMap((b) => b.packages);
      const big = (await Promise.all([1, 2].map((p) => list(`sort=${sort}${kind}&limit=100&page=${p}`)))).flatMap((b) => b.packages);
      expect(big.length).toBeGreaterThanOrEqual(120);
      expect(new Set(big.map((p) => p.full_name)).size).toBe(big.length);
      expect(small.map((p) => p.full_name)).toEqual(big.slice(0, 120).map((p) => p.full_name));
      const keyOf = { downloads: (p: (typeof big)[0]) => [p.download_count], relevance: (p: (typeof big)[0]) => [p.download_count], stars: (p: (typeof big)[0]) => [p.star_count, p.download_count] }[
        sort
      ];
      if (keyOf) {
        for (let i = 1; i < big.length; i++) {
          const [a, b] = [keyOf(big[i - 1]!), keyOf(big[i]!)];
          expect(a[0]! > b[0]! || (a[0] === b[0] && (a[1] ?? 0) >= (b[1] ?? 0)), `${sort} order at ${i}`).toBe(true);
        }
      }
    }
  });
});
