import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Concurrent publishes (issue 17, point 4). On SQLite the transactions of publishes that arrive
 * together share one commit, each in its own savepoint; on PostgreSQL each commits alone. Either
 * way every publish is answered for itself: one refused inside the shared transaction (a version
 * another publish of the batch took first) or before it (a bad manifest) fails alone, and the
 * others are published, whole.
 */
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each(testStores)('concurrent publishes (%s)', (store) => {
  let server: TestServer;
  let alice: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    const admin = new Api(server.url, server.adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    expect(created.status).toBe(201);
    alice = new Api(server.url, created.body.token);
  });
  afterAll(() => server.close());

  it('publishes one of several racing for the same name and version (the rest 409), and every other publish beside them', async () => {
    const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => agentTarball({ name: 'same', version: '1.0.0', scope: 'alice', description: `racer ${i}` })));
    const others = await Promise.all(Array.from({ length: 8 }, (_, i) => agentTarball({ name: `other-${i}`, version: '1.0.0', scope: 'alice' })));
    const bad = await makeTarball({ 'agent.yaml': 'name: broken\nversion: not-a-version\n' });
    const sends = [
      ...racing.map((tgz) => ({ path: '/api/v1/agents/@alice/same', tgz })),
      ...others.map((tgz, i) => ({ path: `/api/v1/agents/@alice/other-${i}`, tgz })),
      { path: '/api/v1/agents/@alice/broken', tgz: bad },
    ];
    // Interleaved, all at once.
    const order = sends.map((_, i) => (i * 7) % sends.length);
    expect(new Set(order).size).toBe(sends.length);
    const answers = new Array<{ status: number; body: any }>(sends.length);
    await Promise.all(order.map(async (i) => (answers[i] = await alice.publish(sends[i].path, sends[i].tgz))));

    const raced = answers.slice(0, racing.length);
    expect(raced.map((a) => a.status).sort(), JSON.stringify(raced.map((a) => a.body))).toEqual([200, 409, 409, 409, 409, 409]);
    const winner = raced.findIndex((a) => a.status === 200);
    for (const a of raced.filter((x) => x.status === 409)) expect(a.body.error).toMatch(/Version 1\.0\.0 already exists/);
    for (const [i, a] of answers.slice(racing.length, racing.length + others.length).entries()) expect(a.status, `other-${i}: ${JSON.stringify(a.body)}`).toBe(200);
    const refused = answers.at(-1)!;
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);

    // The winner's bytes are what is served; nothing of the losers or of the refused one is left.
    const versions = await alice.req('GET', '/api/v1/agents/@alice/same/versions');
    expect(versions.body.versions.map((v: { version: string; sha256: string }) => [v.version, v.sha256])).toEqual([['1.0.0', sha256(racing[winner])]]);
    const same = await alice.req('GET', '/api/v1/agents/@alice/same');
    expect(same.body.description).toBe(`racer ${winner}`);
    expect(same.body.latest_version).toBe('1.0.0');
    expect((await alice.req('GET', '/api/v1/agents/@alice/broken')).status).toBe(404);
    for (const [i, tgz] of others.entries()) {
      const dl = await alice.req('GET', `/api/v1/agents/@alice/other-${i}/download/1.0.0`);
      expect(dl.status).toBe(200);
      const blob = await fetch(dl.body.tarball_url, { headers: { authorization: `Bearer ${alice.token}` } });
      expect(sha256(Buffer.from(await blob.arrayBuffer())), `other-${i}`).toBe(sha256(tgz));
    }
    // Each publish wrote its own audit entry; the refused ones none.
    const audit = await new Api(server.url, server.adminToken).req('GET', '/api/v1/audit?action=package.publish&limit=100');
    expect(audit.status).toBe(200);
    const targets = audit.body.entries.map((e: { target: string }) => e.target);
    expect(targets.filter((t: string) => t === '@alice/same@1.0.0')).toHaveLength(1);
    for (let i = 0; i < others.length; i++) expect(targets).toContain(`@alice/other-${i}@1.0.0`);
  });

  it('publishes many versions of one package at once, each whole, with latest the highest', async () => {
    const versions = Array.from({ length: 10 }, (_, i) => `2.${i}.0`);
    const answers = await Promise.all(versions.map(async (version) => alice.publish('/api/v1/agents/@alice/multi', await agentTarball({ name: 'multi', version, scope: 'alice' }))));
    for (const [i, a] of answers.entries()) expect(a.status, `${versions[i]}: ${JSON.stringify(a.body)}`).toBe(200);
    const listed = await alice.req('GET', '/api/v1/agents/@alice/multi/versions');
    expect(listed.body.versions.map((v: { version: string }) => v.version).sort()).toEqual([...versions].sort());
    expect((await alice.req('GET', '/api/v1/agents/@alice/multi')).body.latest_version).toBe('2.9.0');
  });
});
