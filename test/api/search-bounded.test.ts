import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { onStore } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** Synthetic packages matching `walrus`: every tenth a skill (i % 10 = 0), every fortieth from the fifth private to alice. */
const BULK = 1200;
const isPrivate = (i: number) => i % 40 === 5;
const PRIVATE = Array.from({ length: BULK }, (_, i) => i + 1).filter(isPrivate).length;

interface Item {
  full_name: string;
  kind: string;
  description: string;
  download_count: number;
}
interface List {
  total: number;
  total_estimated?: boolean;
  agents?: Item[];
  packages?: Item[];
}

/**
 * Search and listings stay bounded (a page and a bounded count, whatever the matches), and what is
 * bounded keeps its meaning: the relevance order, the filters, the read rule (a private package
 * never appears to others, in a page or a total) and an estimated total that says so.
 */
describe.each(testStores)('bounded search (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-search-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const opts = { store, dataDir, adminToken, postgresSchema: schema };
  let server: TestServer;
  const as: Record<'anonymous' | 'alice' | 'bob', Api> = {} as never;

  beforeAll(async () => {
    server = await startTestServer(opts);
    const admin = new Api(server.url, server.adminToken);
    const token = async (username: string) => (await admin.req('POST', '/api/v1/users', { username })).body.token as string;
    as.alice = admin.with(await token('alice'));
    as.bob = admin.with(await token('bob'));
    const publish = async (api: Api, scope: string, name: string, description: string, readme?: string, access = 'public') => {
      const r = await api.publish(`/api/v1/agents/@${scope}/${name}`, await agentTarball({ name, version: '1.0.0', scope, description, readme }), { access });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    // `quokka` in the name (weighted most), in the description, in the readme only (weighted least).
    await publish(as.alice, 'alice', 'plain-readme', 'a plain agent', '# plain-readme\n\nIt once met a quokka.\n');
    await publish(as.alice, 'alice', 'in-description', 'a quokka helper');
    await publish(as.alice, 'alice', 'quokka', 'a helper');
    await publish(as.alice, 'alice', 'secret-quokka', 'a quokka helper kept private', undefined, 'private');
    await publish(as.bob, 'bob', 'only-one', 'the one agent of bob');
    await server.close();
    // Past the counting bound, written straight into the stopped server's store (copies of one of alice's).
    const cols = 'scope, readme, category, tags, license, repository, homepage, latest_version, latest_pinned, owner_account_id, created_at, updated_at';
    await onStore(store, dataDir, schema, [
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BULK})
       INSERT INTO packages (kind, name, key, description, download_count, visibility, ${cols})
       SELECT CASE WHEN i % 10 = 0 THEN 'skill' ELSE 'agent' END, 'bulk-' || i, 'alice/bulk-' || i, 'walrus number ' || i, (i * 7) % 13,
         CASE WHEN i % 40 = 5 THEN 'private' ELSE 'public' END, ${cols.replace(/(\w+)/g, 'src.$1')}
       FROM n, packages src WHERE src.key = 'alice/in-description'`,
    ]);
    server = await startTestServer(opts);
    as.anonymous = new Api(server.url);
    as.alice = new Api(server.url, as.alice.token);
    as.bob = new Api(server.url, as.bob.token);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  const get = async (api: Api, path: string): Promise<List & { items: Item[] }> => {
    const r = await api.req('GET', path);
    expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
    const body = r.body as List;
    return { ...body, items: body.agents ?? body.packages ?? [] };
  };
  const names = (items: Item[]) => items.map((i) => i.full_name);

  it('ranks by where the words are, ties by downloads, in the same order on every page', async () => {
    const found = await get(as.anonymous, '/api/v1/search?q=quokka');
    expect(names(found.items)).toEqual(['@alice/quokka', '@alice/in-description', '@alice/plain-readme']);
    expect(found.total).toBe(3);
    expect('total_estimated' in found).toBe(false);
    const paged = [1, 2, 3].map((page) => get(as.anonymous, `/api/v1/search?q=quokka&limit=1&page=${page}`));
    expect((await Promise.all(paged)).flatMap((p) => names(p.items))).toEqual(names(found.items));
    // Every word must match, each as a prefix of a whole word.
    expect(names((await get(as.anonymous, '/api/v1/search?q=quok%20plai')).items)).toEqual(['@alice/plain-readme']);
    // A broad query ranks its bounded candidates: equal relevance, so downloads, then the oldest first.
    const broad = await get(as.anonymous, '/api/v1/packages?q=walrus&limit=100');
    expect(broad.total_estimated).toBe(true);
    const downloads = broad.items.map((i) => i.download_count);
    expect(downloads).toEqual([...downloads].sort((a, b) => b - a));
    const deeper = await get(as.anonymous, '/api/v1/packages?q=walrus&limit=50&page=2');
    expect(names(deeper.items)).toEqual(names(broad.items).slice(50));
  });

  it('bounds the total of a text query in any other order, and marks it estimated above the bound', async () => {
    const visible = BULK - PRIVATE;
    const byName = await get(as.anonymous, '/api/v1/packages?q=walrus&sort=name&limit=100');
    expect(byName.total_estimated).toBe(true);
    expect(byName.total).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(byName.total - visible)).toBeLessThanOrEqual(visible * 0.1);
    expect(names(byName.items)).toEqual(names(byName.items).sort());
    expect(byName.items.every((i) => i.description.startsWith('walrus number '))).toBe(true);
    for (const sort of ['downloads', 'stars', 'newest']) {
      const r = await get(as.anonymous, `/api/v1/packages?q=walrus&sort=${sort}&limit=5`);
      expect(r.total_estimated, sort).toBe(true);
      expect(r.items).toHaveLength(5);
    }
    // Within the bound: exact, unmarked, and the filters hold (kind, then the text).
    const skills = await get(as.anonymous, '/api/v1/packages?q=walrus&kind=skill&sort=downloads&limit=100');
    expect(skills.total).toBe(BULK / 10);
    expect('total_estimated' in skills).toBe(false);
    expect(skills.items.every((i) => i.kind === 'skill')).toBe(true);
    const downloads = skills.items.map((i) => i.download_count);
    expect(downloads).toEqual([...downloads].sort((a, b) => b - a));
    const newest = await get(as.anonymous, '/api/v1/agents?q=quokka&sort=newest');
    expect(newest.total).toBe(3);
    expect('total_estimated' in newest).toBe(false);
    expect(names(newest.items).sort()).toEqual(['@alice/in-description', '@alice/plain-readme', '@alice/quokka']);
    const none = await get(as.anonymous, '/api/v1/packages?q=walrus%20quokka&sort=name');
    expect(none).toMatchObject({ total: 0, items: [] });
  });

  it('says when the owner listing of agentx estimates its total, and counts exactly below the bound', async () => {
    const alice = await get(as.anonymous, '/api/v1/users/alice/agents?limit=5');
    expect(alice.total_estimated).toBe(true);
    expect(alice.total).toBeGreaterThanOrEqual(1000);
    expect(alice.items.every((i) => i.kind === 'agent' && i.full_name.startsWith('@alice/'))).toBe(true);
    const bob = await get(as.anonymous, '/api/v1/users/bob/agents');
    expect(bob.total).toBe(1);
    expect('total_estimated' in bob).toBe(false);
    expect(names(bob.items)).toEqual(['@bob/only-one']);
  });

  it('never shows a private package to anyone but its owner, in any order, page or total', async () => {
    const privateNames = new Set([
      '@alice/secret-quokka',
      ...Array.from({ length: BULK }, (_, i) => i + 1)
        .filter(isPrivate)
        .map((i) => `@alice/bulk-${i}`),
    ]);
    expect(privateNames.size).toBe(PRIVATE + 1);
    for (const caller of ['anonymous', 'bob'] as const) {
      const api = as[caller];
      const quokka = await get(api, '/api/v1/search?q=quokka');
      expect(quokka.total).toBe(3);
      expect(names(quokka.items)).not.toContain('@alice/secret-quokka');
      // By relevance, the pages within the ranked bound (deeper pages rank a wider set); by name, every page.
      for (const [sort, pages, expected] of [
        ['relevance', 10, 1000],
        ['name', 13, BULK - PRIVATE],
      ] as const) {
        const seen: string[] = [];
        for (let page = 1; page <= pages; page++) seen.push(...names((await get(api, `/api/v1/packages?q=walrus&sort=${sort}&limit=100&page=${page}`)).items));
        expect(seen.length, `${caller} ${sort}`).toBe(expected);
        expect(new Set(seen).size).toBe(seen.length);
        expect(
          seen.filter((n) => privateNames.has(n)),
          `${caller} ${sort}`,
        ).toEqual([]);
      }
      const agents = await get(api, '/api/v1/agents?q=walrus&sort=downloads&limit=100&page=11');
      expect(agents.items).toHaveLength(BULK - BULK / 10 - PRIVATE - 1000);
      expect(agents.items.filter((i) => privateNames.has(i.full_name))).toEqual([]);
    }
    // Their owner sees them, in pages and totals.
    const own = await get(as.alice, '/api/v1/search?q=quokka');
    expect(own.total).toBe(4);
    expect(names(own.items)).toContain('@alice/secret-quokka');
    const ownByName = await get(as.alice, `/api/v1/packages?q=walrus%20number%20${[...privateNames][1]!.replace('@alice/bulk-', '')}&sort=name`);
    expect(names(ownByName.items)).toContain([...privateNames][1]);
  });
});
