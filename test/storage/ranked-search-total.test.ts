import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';
import { packageRow } from '../helpers/package-rows.js';

/** More matches than a relevance search ranks (SEARCH_CANDIDATES in the package repo is 1000). */
const BROAD = 1100;
const RARE = 7;

/**
 * A relevance-ordered search ranks a bounded set of the newest matches, and a search in another order
 * counts such a set: above the bound the total is an estimate, and says so (`estimated`); below it
 * the total is exact and carries no such mark.
 */
describe.each(testStores)('ranked search totals (%s)', (store) => {
  let storage: Storage;
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-ranked-'));
  const schema = store === 'postgres' ? `t_ranked_${randomBytes(4).toString('hex')}` : undefined;

  beforeAll(async () => {
    ({ storage } = await openStorage({ dataDir, databaseUrl: schema ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema }));
    const at = new Date().toISOString();
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'ranker', kind: 'user' }, at);
      await tx.scopes.insert('ranker', owner.id, at);
      for (let i = 0; i < BROAD + RARE; i++) {
        await tx.packages.insert(
          packageRow({
            kind: 'agent',
            scope: 'ranker',
            name: `p${i}`,
            key: `ranker/p${i}`,
            description: i < BROAD ? `commonword helper number ${i}` : `rareword helper number ${i}`,
            ownerAccountId: owner.id,
            createdAt: at,
            updatedAt: at,
          }),
        );
      }
    });
  }, 60_000);
  afterAll(async () => {
    await storage?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('marks the total of a search broader than the ranked bound as estimated', async () => {
    const page = await storage.packages.query({ text: 'commonword', sort: 'relevance', offset: 0, limit: 20 });
    expect(page.rows).toHaveLength(20);
    expect(page.estimated).toBe(true);
    // Estimated from how densely the newest matches fill the ids they span: here every package
    // but the newest few matches, so the estimate lands near the true count.
    expect(page.total).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(page.total - BROAD)).toBeLessThan(BROAD * 0.1);
  });

  it('gives the exact total, unmarked, of a search within the bound', async () => {
    const page = await storage.packages.query({ text: 'rareword', sort: 'relevance', offset: 0, limit: 20 });
    expect(page.total).toBe(RARE);
    expect(page.estimated).toBeUndefined();
    const rare = await storage.packages.query({ text: 'rareword', sort: 'name', offset: 0, limit: 5 });
    expect(rare.total).toBe(RARE);
    expect(rare.estimated).toBeUndefined();
  });

  it('bounds the total of a text query in another order the same way', async () => {
    const helpers = await storage.packages.query({ text: 'helper', sort: 'name', offset: 0, limit: 5 });
    expect(helpers.rows.map((r) => r.name)).toEqual(['p0', 'p1', 'p10', 'p100', 'p1000']);
    expect(helpers.estimated).toBe(true);
    expect(helpers.total).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(helpers.total - (BROAD + RARE))).toBeLessThan((BROAD + RARE) * 0.1);
  });
});
