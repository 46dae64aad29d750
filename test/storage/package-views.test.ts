import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';

/**
 * Package views read from the store share the owner record an earlier view holds while the
 * owner's row is unchanged (thousands of cached views have a handful of owners), and never a
 * record that no longer matches the row.
 */
describe.each(testStores)('package views (%s)', (store) => {
  let storage: Storage;
  let ownerId: number;
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-views-'));
  const schema = store === 'postgres' ? `t_views_${randomBytes(4).toString('hex')}` : undefined;
  const at = new Date().toISOString();

  beforeAll(async () => {
    ({ storage } = await openStorage({ dataDir, databaseUrl: schema ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema }));
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'sharer', kind: 'user' }, at);
      ownerId = owner.id;
      await tx.scopes.insert('sharer', owner.id, at);
      for (const name of ['one', 'two', 'three']) {
        await tx.packages.insert({
          kind: 'agent',
          scope: 'sharer',
          name,
          key: `sharer/${name}`,
          description: `package ${name}`,
          readme: `# ${name}`,
          category: null,
          tags: [],
          license: null,
          repository: null,
          homepage: null,
          latestVersion: null,
          latestPinned: false,
          ownerAccountId: owner.id,
          visibility: 'public',
          createdAt: at,
          updatedAt: at,
        });
      }
    });
  }, 60_000);
  afterAll(async () => {
    await storage?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('shares an unchanged owner between views and reads a changed one afresh', async () => {
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

  it('shares nothing between owners: each view holds its own owner', async () => {
    const other = await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'other', kind: 'org' }, at);
      await tx.scopes.insert('other', owner.id, at);
      await tx.packages.insert({
        kind: 'skill',
        scope: 'other',
        name: 'four',
        key: 'other/four',
        description: null,
        readme: null,
        category: null,
        tags: [],
        license: null,
        repository: null,
        homepage: null,
        latestVersion: null,
        latestPinned: false,
        ownerAccountId: owner.id,
        visibility: 'public',
        createdAt: at,
        updatedAt: at,
      });
      return owner;
    });
    const four = await storage.packages.findView('other/four');
    const one = await storage.packages.findView('sharer/one');
    expect(four?.owner).toMatchObject({ id: other.id, name: 'other', kind: 'org' });
    expect(one?.owner).toMatchObject({ id: ownerId, name: 'sharer' });
  });
});
