import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { openTestStorage, storageCases } from '../helpers/storage.js';

const T0 = '2026-01-01T00:00:00.000Z';

/**
 * Transactions asked for at once: on SQLite they share one commit (BatchedTransactions), each in a
 * savepoint of its own; on PostgreSQL each is its own. On both, one that fails leaves no trace and
 * fails alone, and the others are all committed when they resolve.
 */
describe.each(storageCases)('transactions asked for at once on $store', ({ store, skip }) => {
  let storage: SqlStorage;
  let close: (() => Promise<void>) | undefined;
  let accountId: number;

  beforeAll(async () => {
    if (skip) return;
    ({ storage, close } = await openTestStorage(store, 'batches'));
    accountId = (await storage.accounts.insert({ name: 'batcher', kind: 'user' }, T0)).id;
  });
  afterAll(async () => {
    await close?.();
  });

  it.skipIf(skip)('rolls back only the one that throws or breaks a constraint; the others are committed when they resolve', async () => {
    await storage.scopes.insert('taken', accountId, T0);
    /** What each saw of the first one's write, outside its transaction and inside. */
    const seen: { outside?: boolean; inside?: boolean } = {};
    const runs = [
      storage.transaction(async (tx) => {
        await tx.scopes.insert('first', accountId, T0);
        return 'first';
      }),
      storage.transaction(async (tx) => {
        seen.outside = (await storage.scopes.find('first')) !== undefined;
        seen.inside = (await tx.scopes.find('first')) !== undefined;
        await tx.scopes.insert('second', accountId, T0);
        return 'second';
      }),
      storage.transaction(async (tx) => {
        await tx.scopes.insert('thrown', accountId, T0);
        throw new Error('refused after writing');
      }),
      storage.transaction(async (tx) => {
        await tx.scopes.insert('unique', accountId, T0);
        await tx.scopes.insert('taken', accountId, T0); // a UNIQUE violation: the statement fails
        return 'never';
      }),
      storage.transaction(async (tx) => {
        await tx.scopes.insert('last', accountId, T0);
        return 'last';
      }),
    ];
    const results = await Promise.allSettled(runs);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toHaveProperty('message', 'refused after writing');
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/unique|duplicate/i);
    for (const name of ['first', 'second', 'last', 'taken']) expect(await storage.scopes.find(name), name).toBeDefined();
    for (const name of ['thrown', 'unique']) expect(await storage.scopes.find(name), name).toBeUndefined();
    if (store === 'sqlite') {
      // One batch: the second ran in the first's transaction (it saw its write), which nothing
      // outside could see before the batch committed.
      expect(seen).toEqual({ outside: false, inside: true });
    }
  });

  it.skipIf(skip)('lets a transaction asked for later in the same turn of the event loop share the commit (SQLite)', async () => {
    // Two callbacks of one turn (as two requests' I/O completing together): the first asks for a
    // transaction, the second for another, which on SQLite joins the first's batch.
    const seen: { outside?: boolean; inside?: boolean } = {};
    const asked = await new Promise<Promise<string>[]>((done) => {
      const runs: Promise<string>[] = [];
      setImmediate(() =>
        runs.push(
          storage.transaction(async (tx) => {
            await tx.scopes.insert('turn-first', accountId, T0);
            return 'first';
          }),
        ),
      );
      setImmediate(() => {
        runs.push(
          storage.transaction(async (tx) => {
            seen.outside = (await storage.scopes.find('turn-first')) !== undefined;
            seen.inside = (await tx.scopes.find('turn-first')) !== undefined;
            await tx.scopes.insert('turn-second', accountId, T0);
            return 'second';
          }),
        );
        done(runs);
      });
    });
    expect(await Promise.all(asked)).toEqual(['first', 'second']);
    for (const name of ['turn-first', 'turn-second']) expect(await storage.scopes.find(name), name).toBeDefined();
    // SQLite: one batch (the second saw the first's write inside, not outside). PostgreSQL: each its own.
    if (store === 'sqlite') expect(seen).toEqual({ outside: false, inside: true });
  });

  it.skipIf(skip)('keeps taking transactions after a failed one, and resolves each only after its commit', async () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      storage
        .transaction(async (tx) => {
          await tx.scopes.insert(`many-${i}`, accountId, T0);
          if (i % 7 === 3) throw new Error(`refused ${i}`);
          return i;
        })
        // Looked up the moment it resolves, outside its transaction: it must be committed by then.
        .then(async (v) => ({ v, committed: (await storage.scopes.find(`many-${i}`)) !== undefined })),
    );
    const settled = await Promise.allSettled(many);
    for (const [i, r] of settled.entries()) {
      if (i % 7 === 3) {
        expect(r.status, `transaction ${i}`).toBe('rejected');
        expect(await storage.scopes.find(`many-${i}`), `many-${i}`).toBeUndefined();
      } else {
        expect(r, `transaction ${i}`).toEqual({ status: 'fulfilled', value: { v: i, committed: true } });
      }
    }
  });
});
