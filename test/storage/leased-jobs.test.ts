import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalSpec } from '../../src/core/evals/eval-spec.js';
import type { EvalStatus } from '../../src/core/evals/eval-store.js';
import type { SessionStatus } from '../../src/core/sessions/session-store.js';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { openTestStorage, storageCases } from '../helpers/storage.js';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (s: number): string => new Date(Date.parse(T0) + s * 1000).toISOString();

/** The leases of sessions and eval runs (one helper, `SqlLeasedJobs`, over two tables) on each store. */
describe.each(storageCases)('leased jobs on $store', ({ store, skip }) => {
  let storage: SqlStorage;
  let close: (() => Promise<void>) | undefined;
  let accountId: number;

  beforeAll(async () => {
    if (skip) return;
    ({ storage, close } = await openTestStorage(store, 'leases'));
    accountId = (await storage.accounts.insert({ name: 'leaser', kind: 'user' }, T0)).id;
  });
  afterAll(async () => {
    await close?.();
  });

  const session = (id: string, status: SessionStatus, updatedAt: string) =>
    storage.sessions.insert({
      id,
      accountId,
      agentId: 'agent_1',
      agentVersion: 1,
      environmentId: 'env_1',
      status,
      title: null,
      data: {},
      archivedAt: null,
      createdAt: T0,
      updatedAt,
    });
  const run = (id: string, status: EvalStatus) =>
    storage.evals.insert({
      id,
      accountId,
      tokenId: 1,
      agentId: 'agent_1',
      status,
      spec: {} as EvalSpec,
      results: [],
      error: null,
      createdAt: T0,
      updatedAt: T0,
      startedAt: null,
      endedAt: null,
    });

  it.skipIf(skip)('sessions: active ones oldest-updated first; one claim wins; a lapsed lease is claimable again; renew needs only the lease', async () => {
    await session('s_new', 'running', at(20));
    await session('s_old', 'rescheduling', at(10));
    await session('s_idle', 'idle', at(0));
    expect(await storage.sessions.claimable(at(30), 10)).toEqual(['s_old', 's_new']);
    expect(await storage.sessions.claimable(at(30), 1)).toEqual(['s_old']);

    const wins = await Promise.all(['w1', 'w2'].map((w) => storage.sessions.claim('s_old', w, at(30), at(40))));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const holder = wins[0] ? 'w1' : 'w2';
    expect(await storage.sessions.claimable(at(35), 10)).toEqual(['s_new']);
    expect(await storage.sessions.claim('s_idle', 'w1', at(30), at(40))).toBe(false);

    expect(await storage.sessions.renew('s_old', 'intruder', at(50))).toBe(false);
    expect(await storage.sessions.renew('s_old', holder, at(50))).toBe(true);
    expect(await storage.sessions.claimable(at(45), 10)).toEqual(['s_new']);
    expect(await storage.sessions.claimable(at(51), 10)).toEqual(['s_old', 's_new']);

    await storage.sessions.update('s_old', { status: 'idle' });
    expect(await storage.sessions.renew('s_old', holder, at(60))).toBe(true);
    await storage.sessions.release('s_old', 'intruder');
    expect((await storage.sessions.find('s_old'))?.leaseOwner).toBe(holder);
    await storage.sessions.release('s_old', holder);
    expect(await storage.sessions.find('s_old')).toMatchObject({ leaseOwner: null, leaseUntil: null });
  });

  it.skipIf(skip)('eval runs: active ones in insertion order; renew needs the lease and an active run', async () => {
    await run('e_1', 'running');
    await run('e_done', 'completed');
    await run('e_2', 'pending');
    expect(await storage.evals.claimable(at(0), 10)).toEqual(['e_1', 'e_2']);

    expect(await storage.evals.claim('e_2', 'w1', at(0), at(10))).toBe(true);
    expect(await storage.evals.claim('e_2', 'w2', at(5), at(15))).toBe(false);
    expect(await storage.evals.claim('e_2', 'w2', at(11), at(20))).toBe(true);
    expect(await storage.evals.renew('e_2', 'w1', at(30))).toBe(false);
    expect(await storage.evals.renew('e_2', 'w2', at(30))).toBe(true);
    expect(await storage.evals.claim('e_done', 'w1', at(0), at(10))).toBe(false);

    expect(await storage.evals.save('e_2', 'w2', { status: 'completed', updatedAt: at(12) })).toBe(true);
    expect(await storage.evals.renew('e_2', 'w2', at(40))).toBe(false);
    await storage.evals.release('e_2', 'w2');
    expect(await storage.evals.find('e_2')).toMatchObject({ leaseOwner: null, leaseUntil: null });
  });
});
