import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { packageRow } from '../helpers/package-rows.js';
import { openTestStorage, storageCases } from '../helpers/storage.js';

const at = new Date().toISOString();

/**
 * The scan for packages without a stored document takes a cursor (the last id a batch answered),
 * so a fill walks the packages once instead of reading again, for every batch, every package
 * before the ones still missing.
 */
describe.each(storageCases)('packages without a document, after a cursor ($store)', ({ store, skip }) => {
  let storage: SqlStorage;
  let close: () => Promise<void>;
  const ids = new Map<string, number>();
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

  beforeAll(async () => {
    if (skip) return;
    ({ storage, close } = await openTestStorage(store, 'doccursor'));
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'walker', kind: 'user' }, at);
      await tx.scopes.insert('walker', owner.id, at);
      for (const name of names)
        ids.set(
          name,
          (await tx.packages.insert(packageRow({ kind: 'agent', scope: 'walker', name, key: `walker/${name}`, description: null, ownerAccountId: owner.id, createdAt: at, updatedAt: at }))).pkg.id,
        );
      // b, d and e have their documents; a, c, f and g do not.
      for (const name of ['b', 'd', 'e']) await tx.packages.saveDocument(ids.get(name)!, `{"name":"${name}"}`, `"${name}"`);
    });
  }, 60_000);
  afterAll(async () => {
    if (!skip) await close();
  });

  const walk = async (limit: number, afterId?: number) => (await storage.packages.keysWithoutDocument(limit, afterId)).map((r) => [r.key, r.id]);
  const missing = (...ns: string[]) => ns.map((n) => [`walker/${n}`, ids.get(n)]);

  it.skipIf(skip)('answers ids and keys oldest first, from the first package or after the one named', async () => {
    expect(await walk(10)).toEqual(missing('a', 'c', 'f', 'g'));
    expect(await walk(2)).toEqual(missing('a', 'c'));
    expect(await walk(2, ids.get('c'))).toEqual(missing('f', 'g'));
    expect(await walk(2, ids.get('b'))).toEqual(missing('c', 'f'));
    expect(await walk(10, ids.get('a'))).toEqual(missing('c', 'f', 'g'));
    expect(await walk(10, ids.get('g'))).toEqual([]);
    expect(await walk(10, 0)).toEqual(missing('a', 'c', 'f', 'g'));
  });

  it.skipIf(skip)('walks every missing package exactly once, batch after batch', async () => {
    const seen: string[] = [];
    let after = 0;
    // At most one more batch than there are packages: a scan that ignored the cursor would go round forever.
    for (let i = 0; i <= names.length; i++) {
      const batch = await storage.packages.keysWithoutDocument(1, after);
      if (batch.length === 0) break;
      seen.push(...batch.map((r) => r.key));
      after = batch[batch.length - 1].id;
    }
    expect(seen).toEqual(['a', 'c', 'f', 'g'].map((n) => `walker/${n}`));
  });
});
