import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * The Idempotency-Key records on each store: a publish's key is stored with it, an expired key is
 * neither found nor in the way of its reuse, and the sweep removes expired ones only.
 */
describe.each(testStores)('idempotency-key records (%s)', (store) => {
  let server: TestServer;
  let storage: Storage;
  let alice: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    const admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    ({ storage } = await openStorage({
      dataDir: server.dataDir,
      databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined,
      databaseSchema: server.schema,
    }));
  });
  afterAll(async () => {
    await storage?.close();
    await server?.close();
  });

  it('keeps a publish under its key for 24 hours, then forgets it', async () => {
    const key = randomUUID();
    const form = new FormData();
    form.set('tarball', new Blob([await agentTarball({ name: 'kept', version: '1.0.0', scope: 'alice' })]), 'p.tgz');
    expect((await alice.req('PUT', '/api/v1/agents/@alice/kept', form, { 'idempotency-key': key })).status).toBe(200);
    const whoami = await alice.req('GET', '/api/v1/whoami');
    const account = (await storage.accounts.findByName(whoami.body.username))!;
    const now = new Date().toISOString();
    const rec = (await storage.idempotency.find(account.id, key, now))!;
    expect(rec).toMatchObject({ key, version: '1.0.0', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const ttl = Date.parse(rec.expiresAt) - Date.parse(rec.createdAt);
    expect(ttl).toBe(24 * 3600 * 1000);

    // Past its expiry it is not found, and the key may be used again (the stale record is replaced).
    const later = new Date(Date.parse(rec.expiresAt) + 1000).toISOString();
    expect(await storage.idempotency.find(account.id, key, later)).toBeUndefined();
    expect(await storage.idempotency.insert({ ...rec, fingerprint: 'f'.repeat(64), createdAt: later, expiresAt: new Date(Date.parse(later) + 1000).toISOString() })).toBe(true);
    // A live record is never overwritten.
    expect(await storage.idempotency.insert({ ...rec, createdAt: later, expiresAt: later })).toBe(false);

    const other = randomUUID();
    expect(await storage.idempotency.insert({ ...rec, key: other, createdAt: now, expiresAt: new Date(Date.now() + 3600_000).toISOString() })).toBe(true);
    // The sweep drops what expired by then, and only that.
    expect(await storage.idempotency.deleteExpired(new Date(Date.parse(later) + 5000).toISOString())).toBe(2);
    expect(await storage.idempotency.find(account.id, key, now)).toBeUndefined();
  });
});
