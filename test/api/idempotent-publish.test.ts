import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { userWithNamespace } from './mcp/helpers.js';

/**
 * Point 8 of issue 12: every publish route takes an `Idempotency-Key`. A retry with the same key and
 * bytes gets the original success answer; the same key with other bytes is a 422 in the door's
 * shape; a duplicate without a key keeps the 409, which now says whether the bytes are the live
 * version's and gives its sha256.
 */
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each(testStores)('idempotent publishes (%s)', (store) => {
  let server: TestServer;
  let alice: Api;

  const publish = (tgz: Buffer, key?: string, name = 'helper') => {
    const form = new FormData();
    form.set('tarball', new Blob([tgz], { type: 'application/gzip' }), 'package.tgz');
    return alice.req('PUT', `/api/v1/agents/@alice/${name}`, form, key === undefined ? {} : { 'idempotency-key': key });
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    alice = await userWithNamespace(server, 'alice', 'io.github.alice');
    const admin = new Api(server.url, server.adminToken);
    expect((await admin.req('PUT', '/api/v1/orgs/recipes/members/alice', { role: 'maintainer' })).status).toBe(200);
  });
  afterAll(() => server.close());

  it('answers a retry with the same key and bytes as the first time, and publishes once', async () => {
    const tgz = await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice' });
    const key = randomUUID();
    const first = await publish(tgz, key);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    for (let i = 0; i < 3; i++) {
      const again = await publish(tgz, key);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    }
    const versions = await alice.req('GET', '/api/v1/agents/@alice/helper/versions');
    expect(versions.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);
  });

  it('refuses the same key with other bytes or another package with 422, publishing nothing', async () => {
    const key = randomUUID();
    const v = await agentTarball({ name: 'helper', version: '1.1.0', scope: 'alice' });
    expect((await publish(v, key)).status).toBe(200);
    const other = await agentTarball({ name: 'helper', version: '1.2.0', scope: 'alice' });
    const reused = await publish(other, key);
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatch(/Idempotency-Key was already used for a different publish/);
    const elsewhere = await publish(await agentTarball({ name: 'other', version: '1.1.0', scope: 'alice' }), key, 'other');
    expect(elsewhere.status).toBe(422);
    const versions = await alice.req('GET', '/api/v1/agents/@alice/helper/versions');
    expect(versions.body.versions.map((x: { version: string }) => x.version)).not.toContain('1.2.0');
    expect((await alice.req('GET', '/api/v1/agents/@alice/other')).status).toBe(404);
  });

  it('keeps the 409 for a duplicate without a key, saying whether the bytes are identical and giving the live sha256', async () => {
    const tgz = await agentTarball({ name: 'helper', version: '2.0.0', scope: 'alice' });
    const first = await publish(tgz);
    expect(first.status).toBe(200);
    const same = await publish(tgz);
    expect(same.status).toBe(409);
    expect(same.body).toEqual({
      error: 'Version 2.0.0 already exists. Bump the version number.',
      existing: { version: '2.0.0', sha256: sha256(tgz), identical: true },
    });
    const changed = await publish(await agentTarball({ name: 'helper', version: '2.0.0', scope: 'alice', readme: '# changed\n' }));
    expect(changed.status).toBe(409);
    expect(changed.body.existing).toEqual({ version: '2.0.0', sha256: sha256(tgz), identical: false });
    // A new key for bytes already live is a duplicate too: the key names a publish, not a version.
    expect((await publish(tgz, randomUUID())).status).toBe(409);
  });

  it('lets concurrent retries with one key publish once and all succeed with one answer', async () => {
    const tgz = await agentTarball({ name: 'helper', version: '3.0.0', scope: 'alice' });
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 6 }, () => publish(tgz, key)));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    for (const a of answers) expect(a.body).toEqual(answers[0].body);
    const versions = await alice.req('GET', '/api/v1/agents/@alice/helper/versions');
    expect(versions.body.versions.filter((x: { version: string }) => x.version === '3.0.0')).toHaveLength(1);
  });

  it('refuses a malformed key with 400 and keeps keys per account', async () => {
    const tgz = await agentTarball({ name: 'helper', version: '4.0.0', scope: 'alice' });
    expect((await publish(tgz, 'x'.repeat(256))).status).toBe(400);
    expect((await publish(tgz, 'has space')).status).toBe(400);
    // Another account's use of the same key string is not this one's.
    const admin = new Api(server.url, server.adminToken);
    const bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    const key = randomUUID();
    const bobs = await bob.publish('/api/v1/agents/@bob/helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'bob' }));
    expect(bobs.status).toBe(200);
    const form = new FormData();
    form.set('tarball', new Blob([await agentTarball({ name: 'helper', version: '1.0.1', scope: 'bob' })]), 'p.tgz');
    expect((await bob.req('PUT', '/api/v1/agents/@bob/helper', form, { 'idempotency-key': key })).status).toBe(200);
    expect((await publish(tgz, key)).status).toBe(200);
  });

  it('replays MCP /v0.1/publish and PraisonAI recipe publishes by key, each in its own shape', async () => {
    const body = { $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json', name: 'io.github.alice/weather', description: 'Weather', version: '1.0.0' };
    const key = randomUUID();
    const first = await alice.req('POST', '/v0.1/publish', body, { 'idempotency-key': key });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const again = await alice.req('POST', '/v0.1/publish', body, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const dup = await alice.req('POST', '/v0.1/publish', body);
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ status: 409, existing: { version: '1.0.0', identical: true } });
    const reused = await alice.req('POST', '/v0.1/publish', { ...body, version: '1.0.1' }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ status: 422, title: 'Unprocessable Entity' });

    const bundle = await praisonBundle({ name: 'my-agent', version: '1.0.0', author: 'alice' });
    const rkey = randomUUID();
    const post = (k?: string) => alice.req('POST', '/v1/recipes/my-agent/1.0.0', { bundle: bundle.toString('base64') }, k ? { 'idempotency-key': k } : {});
    const r1 = await post(rkey);
    expect(r1.status, JSON.stringify(r1.body)).toBe(201);
    const r2 = await post(rkey);
    expect(r2.status).toBe(201);
    expect(r2.body).toEqual(r1.body);
    const r3 = await post();
    expect(r3.status).toBe(409);
    expect(r3.body).toMatchObject({ code: 409, existing: { version: '1.0.0', identical: true, sha256: r1.body.checksum.replace(/^sha256:/, '') } });
  });
});
