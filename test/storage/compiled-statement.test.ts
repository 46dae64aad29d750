import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPackage } from '../../src/core/packages/package-repo.js';
import { runCompiled } from '../../src/storage/sql/compiled-statement.js';
import { RefuseNulPlugin } from '../../src/storage/sql/refuse-nul.js';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { openTestStorage, storageCases } from '../helpers/storage.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

const newPackage = (name: string, owner: number): NewPackage => ({
  kind: 'agent',
  scope: 'compiled',
  name,
  key: `compiled/${name}`,
  description: `about ${name}`,
  readme: null,
  category: null,
  tags: [name],
  license: 'MIT',
  repository: null,
  homepage: null,
  latestVersion: null,
  latestPinned: false,
  ownerAccountId: owner,
  visibility: 'public',
  createdAt: T0,
  updatedAt: T0,
});

/**
 * The publish transaction's statements are compiled once and run again with new parameters
 * (compiled-statement.ts): every later run must bind its own values, on both stores, and keep
 * the NUL guard the query builder's statements have.
 */
describe.each(storageCases)('statements compiled once on $store', ({ store, skip }) => {
  let storage: SqlStorage;
  let close: (() => Promise<void>) | undefined;
  let owner: number;

  beforeAll(async () => {
    if (skip) return;
    ({ storage, close } = await openTestStorage(store, 'compiled'));
    owner = (await storage.accounts.insert({ name: 'compiler', kind: 'user' }, T0)).id;
    await storage.scopes.insert('compiled', owner, T0);
  });
  afterAll(async () => {
    await close?.();
  });

  it.skipIf(skip)('binds each run its own values: inserts, reads, locks and updates of several packages and versions', async () => {
    const made = await storage.transaction(async (tx) => {
      const out = [];
      for (const name of ['one', 'two', 'three']) {
        const { pkg, created } = await tx.packages.insert(newPackage(name, owner));
        expect(created).toBe(true);
        for (const v of ['1.0.0', '1.1.0']) {
          await tx.packages.insertVersion({
            packageId: pkg.id,
            version: v,
            manifest: { name, version: v },
            findings: [],
            readme: `${name} ${v}`,
            digest: `sha256:${name}-${v}`,
            size: v.length,
            fileCount: 1,
            unpackedSize: 10,
            publishedBy: owner,
            publishedAt: T1,
          });
        }
        out.push(pkg);
      }
      // The same name again: the insert does nothing and the row is taken as it is.
      const again = await tx.packages.insert({ ...newPackage('two', owner), description: 'changed' });
      expect(again).toMatchObject({ created: false, pkg: { id: out[1].id, description: 'about two' } });
      expect(await tx.scopes.find('COMPILED')).toMatchObject({ name: 'compiled', ownerAccountId: owner });
      expect(await tx.scopes.find('missing')).toBeUndefined();
      return out;
    });
    for (const pkg of made) {
      await storage.transaction(async (tx) => {
        const locked = await tx.packages.lockByKey(pkg.key);
        expect(locked).toMatchObject({ id: pkg.id, name: pkg.name, description: `about ${pkg.name}` });
        expect((await tx.packages.listVersions(pkg.id, false)).map((v) => [v.version, v.readme, v.manifest])).toEqual([
          ['1.0.0', `${pkg.name} 1.0.0`, { name: pkg.name, version: '1.0.0' }],
          ['1.1.0', `${pkg.name} 1.1.0`, { name: pkg.name, version: '1.1.0' }],
        ]);
        expect(await tx.packages.findVersion(pkg.id, '1.1.0')).toMatchObject({ digest: `sha256:${pkg.name}-1.1.0`, publishedBy: owner });
        expect(await tx.packages.findVersion(pkg.id, '9.9.9')).toBeUndefined();
        // Two shapes of update: each sets only its own columns.
        await tx.packages.update(pkg.id, { latestVersion: '1.1.0', latestPinned: false, updatedAt: T1 });
        await tx.packages.update(pkg.id, { description: `new ${pkg.name}` });
        await tx.audit.append({ at: T1, actor: 'compiler', tokenId: null, action: 'package.publish', target: `${pkg.key}@1.1.0`, ip: null, details: { n: pkg.id } });
      });
    }
    for (const pkg of made) {
      expect(await storage.packages.findByKey(pkg.key)).toMatchObject({ latestVersion: '1.1.0', description: `new ${pkg.name}`, updatedAt: T1, tags: [pkg.name] });
    }
    const audit = await storage.audit.list({ action: 'package.publish', offset: 0, limit: 10 });
    expect(audit.rows.map((r) => [r.target, r.details]).reverse()).toEqual(made.map((p) => [`${p.key}@1.1.0`, { n: p.id }]));
    expect(await storage.mirrors.findScope('compiled')).toBeUndefined();
  });

  it.skipIf(skip)('refuses a NUL in a value on a compiled run as on the first, and writes nothing', async () => {
    const entry = { at: T1, actor: 'compiler', tokenId: null, action: 'nul.check', ip: null, details: {} };
    await storage.audit.append({ ...entry, target: 'fine' });
    await expect(storage.audit.append({ ...entry, target: 'bad\u0000target' })).rejects.toMatchObject({ code: 'bad_request', status: 400 });
    await expect(storage.transaction((tx) => tx.packages.insert(newPackage('nul\u0000name', owner)))).rejects.toMatchObject({ code: 'bad_request' });
    expect((await storage.audit.list({ action: 'nul.check', offset: 0, limit: 10 })).rows.map((r) => r.target)).toEqual(['fine']);
  });
});

describe('a statement compiled once', () => {
  const db = new Kysely<{ t: { a: string; b: number } }>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }), plugins: [new RefuseNulPlugin()] });
  beforeAll(async () => {
    await db.schema.createTable('t').addColumn('a', 'text').addColumn('b', 'integer').execute();
  });
  afterAll(async () => {
    await db.destroy();
  });

  it('is refused when its parameters are not in the order the query builder binds them', async () => {
    const values = { a: 'x', b: 1 };
    await expect(runCompiled(db, 'wrong order', [values.b, values.a], () => db.insertInto('t').values(values))).rejects.toThrow(/not in the order/);
    await runCompiled(db, 'right order', [values.a, values.b], () => db.insertInto('t').values(values));
    await runCompiled(db, 'right order', ['y', 2], () => db.insertInto('t').values({ a: 'y', b: 2 }));
    // A value left undefined drops its column: built as it comes, not run as the compiled text.
    await runCompiled(db, 'right order', [undefined, 3], () => db.insertInto('t').values({ b: 3 } as { a: string; b: number }));
    expect(await db.selectFrom('t').selectAll().orderBy('b').execute()).toEqual([
      { a: 'x', b: 1 },
      { a: 'y', b: 2 },
      { a: null, b: 3 },
    ]);
  });
});
