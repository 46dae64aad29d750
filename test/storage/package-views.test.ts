import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPackage } from '../../src/core/packages/package-repo.js';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { openTestStorage, storageCases } from '../helpers/storage.js';

const at = new Date().toISOString();

/** A package row of `scope` with only what these tests look at. */
const row = (scope: string, name: string, ownerAccountId: number, readme: string | null): NewPackage => ({
  kind: 'agent',
  scope,
  name,
  key: `${scope}/${name}`,
  description: null,
  readme,
  category: null,
  tags: [],
  license: null,
  repository: null,
  homepage: null,
  latestVersion: null,
  latestPinned: false,
  ownerAccountId,
  visibility: 'public',
  createdAt: at,
  updatedAt: at,
});

/**
 * Package views read from the store share the owner record an earlier view holds while the
 * owner's row is unchanged (thousands of cached views have a handful of owners), and never a
 * record that no longer matches the row.
 */
describe.each(storageCases)('package views ($store)', ({ store, skip }) => {
  let storage: SqlStorage;
  let close: () => Promise<void>;
  let ownerId: number;

  beforeAll(async () => {
    if (skip) return;
    ({ storage, close } = await openTestStorage(store, 'views'));
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'sharer', kind: 'user' }, at);
      ownerId = owner.id;
      await tx.scopes.insert('sharer', owner.id, at);
      for (const name of ['one', 'two', 'three']) await tx.packages.insert(row('sharer', name, owner.id, `# ${name}`));
    });
  }, 60_000);
  afterAll(async () => {
    if (!skip) await close();
  });

  it.skipIf(skip)('shares an unchanged owner between views and reads a changed one afresh', async () => {
    const one = await storage.packages.findView('sharer/one');
    const two = await storage.packages.findView('sharer/two');
    expect(one?.owner).toMatchObject({ id: ownerId, name: 'sharer', displayName: null });
    expect(two?.owner).toBe(one?.owner);
    expect(two?.pkg.readme).toBe('# two');

    await storage.accounts.updateProfile(ownerId, { displayName: 'The Sharer' }, new Date(Date.now() + 1000).toISOString());
    const three = await storage.packages.findView('sharer/three');
    expect(three?.owner).toMatchObject({ id: ownerId, displayName: 'The Sharer' });
    expect(three?.owner).not.toBe(one?.owner);
    // The record an earlier view holds is never changed under it.
    expect(one?.owner?.displayName).toBeNull();
    // Views read after the change share the new record.
    expect((await storage.packages.findView('sharer/one'))?.owner).toBe(three?.owner);
  });

  it.skipIf(skip)('gives each view its own owner when the owners differ', async () => {
    const other = await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'other', kind: 'org' }, at);
      await tx.scopes.insert('other', owner.id, at);
      await tx.packages.insert(row('other', 'four', owner.id, null));
      return owner;
    });
    const four = await storage.packages.findView('other/four');
    const one = await storage.packages.findView('sharer/one');
    expect(four?.owner).toMatchObject({ id: other.id, name: 'other', kind: 'org' });
    expect(one?.owner).toMatchObject({ id: ownerId, name: 'sharer' });
  });
});
