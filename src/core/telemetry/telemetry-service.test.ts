import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestSchema } from '../../../test/helpers/postgres.js';
import { agentTarball } from '../../../test/helpers/packages.js';
import { openStorage } from '../../storage/open-storage.js';
import { anonymous, type RequestContext } from '../auth/principal.js';
import { Registry } from '../registry.js';
import { EnvSecretStore } from '../secrets/env-secret-store.js';
import type { Storage } from '../storage.js';
import type { Clock } from '../time.js';
import { bucketEstimate, durationBucket, histogramQuantile } from './duration-buckets.js';

const DAY = 86_400_000;
const stores = process.env.AGENTRY_TEST_DATABASE_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

class FakeClock implements Clock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

describe('duration buckets', () => {
  it('estimate every duration within 7.5% (and whole milliseconds), up to a day', () => {
    for (let ms = 1; ms <= DAY; ms = Math.ceil(ms * 1.13)) {
      const error = Math.abs(bucketEstimate(durationBucket(ms)) - ms);
      expect(error <= 5 || error / ms < 0.075, `${ms} ms estimated as ${bucketEstimate(durationBucket(ms))}`).toBe(true);
    }
    expect(durationBucket(0)).toBe(0);
    expect(histogramQuantile(new Map(), 0.5)).toBeNull();
    const h = new Map([
      [durationBucket(100), 90],
      [durationBucket(10_000), 10],
    ]);
    expect(histogramQuantile(h, 0.5)).toBe(bucketEstimate(durationBucket(100)));
    expect(histogramQuantile(h, 0.9)).toBe(bucketEstimate(durationBucket(100)));
    expect(histogramQuantile(h, 0.95)).toBe(bucketEstimate(durationBucket(10_000)));
  });
});

describe.each(stores)('telemetry and trending over days, with a fake clock (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-telemetry-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const clock = new FakeClock(Date.parse('2030-03-01T12:00:00.000Z'));
  let storage: Storage;
  let opened: Awaited<ReturnType<typeof openStorage>> | undefined;
  let registry: Registry;
  let owner: RequestContext;

  beforeAll(async () => {
    opened = await openStorage({ dataDir, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema });
    storage = opened.storage;
    registry = new Registry({ storage, blobs: opened.blobs, limits: { maxUnpackedBytes: 1 << 20, maxFiles: 100, maxTextFileBytes: 1 << 16 }, clock, secretStore: new EnvSecretStore({}) });
    const boot = await registry.accounts.bootstrapAdmin(undefined);
    const admin = { principal: await registry.tokens.authenticate(boot.secret!), ip: null };
    const created = await registry.accounts.createUser(admin, { username: 'tara' });
    owner = { principal: await registry.tokens.authenticate(created.token.secret), ip: null };
    await registry.packages.publish(owner, { scope: 'tara', name: 'clocked', tarball: await agentTarball({ name: 'clocked', version: '1.0.0', scope: 'tara' }) });
  });
  afterAll(async () => {
    await storage?.close();
    await opened?.blobs.close?.();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('reads the last N days of counters and forgets counters older than 90 days', async () => {
    const run = (success: boolean) => registry.telemetry.record(anonymous(), { agentName: '@tara/clocked', agentVersion: '1.0.0', success, durationMs: 200 });
    await run(false); // 2030-03-01
    clock.advance(5 * DAY);
    await run(true); // 2030-03-06
    await run(true);
    expect((await registry.telemetry.stats(owner, 'tara', 'clocked', 1)).total).toMatchObject({ runs: 2, successRate: 1 });
    expect((await registry.telemetry.stats(owner, 'tara', 'clocked', 5)).total).toMatchObject({ runs: 2 });
    const six = await registry.telemetry.stats(owner, 'tara', 'clocked', 6);
    expect(six.sinceDay).toBe('2030-03-01');
    expect(six.total).toMatchObject({ runs: 3, successes: 2, failures: 1, successRate: 0.6667 });
    clock.advance(86 * DAY); // 2030-05-31: 91 days after the first run, 86 after the others
    await run(true);
    const all = await registry.telemetry.stats(owner, 'tara', 'clocked', 90);
    expect(all.total).toMatchObject({ runs: 3, failures: 0 });
  });

  it('moves the trending window with the clock', async () => {
    await registry.packages.download(anonymous(), 'tara', 'clocked', '1.0.0', 'agent');
    const today = await registry.discovery.trending(anonymous(), { period: 'day', offset: 0, limit: 10 });
    expect(today.rows.map((r) => r.downloads)).toEqual([1]);
    clock.advance(DAY);
    expect((await registry.discovery.trending(anonymous(), { period: 'day', offset: 0, limit: 10 })).total).toBe(0);
    clock.advance(5 * DAY);
    expect((await registry.discovery.trending(anonymous(), { period: 'week', offset: 0, limit: 10 })).rows.map((r) => r.downloads)).toEqual([1]);
    clock.advance(DAY);
    expect((await registry.discovery.trending(anonymous(), { period: 'week', offset: 0, limit: 10 })).total).toBe(0);
    expect((await registry.discovery.trending(anonymous(), { period: 'month', offset: 0, limit: 10 })).total).toBe(1);
  });
});
