import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CONFIG, OciClient, sha256 } from '../helpers/oci.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Point 8 of issue 12, the remaining doors: the managed door's agent publish takes an
 * `Idempotency-Key` (same key and agent version: the original answer; same key for anything else:
 * 422 in the managed error shape; no key and a duplicate: the 409), and the OCI manifest PUT accepts
 * the header and stays idempotent by digest, also when it publishes a package version.
 */
const LAYER = 'application/vnd.agentry.package.layer.v1.tar+gzip';

describe.each(testStores)('idempotent publishes on the managed and OCI doors (%s)', (store) => {
  let server: TestServer;
  let alice: Api;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer({ store });
    const admin = new Api(server.url, server.adminToken);
    token = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token;
    alice = admin.with(token);
  });
  afterAll(() => server.close());

  it('replays POST /v1/agents/:id/publish by key, 422 for the same key elsewhere, 409 without a key', async () => {
    const agent = await alice.req('POST', '/v1/agents', { name: 'Helper Bot', model: 'claude-sonnet-4-6', system: 'Be brief.' });
    expect(agent.status, JSON.stringify(agent.body)).toBe(200);
    const id = agent.body.id as string;
    const key = randomUUID();
    const publish = (body: object, k?: string) => alice.req('POST', `/v1/agents/${id}/publish`, body, k === undefined ? {} : { 'idempotency-key': k });
    const first = await publish({}, key);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ type: 'agent_package', package: '@alice/helper-bot', version: '1.0.0', agent_version: 1 });
    // The bytes are made again for every attempt; a retry a second later is still the same publish.
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 2; i++) {
      const again = await publish({}, key);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toEqual(first.body);
    }
    const versions = await alice.req('GET', '/api/v1/agents/@alice/helper-bot/versions');
    expect(versions.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);

    // The same key for another version of the package or another name: 422, nothing published.
    const other = await publish({ version: '1.0.1' }, key);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/Idempotency-Key was already used for a different publish/) } });
    expect((await publish({ name: 'elsewhere' }, key)).status).toBe(422);
    // A changed agent (version 2) published as 1.0.0 again under the key is other bytes too.
    expect((await alice.req('POST', `/v1/agents/${id}`, { version: 1, system: 'Be thorough.' })).status).toBe(200);
    expect((await publish({ version: '1.0.0' }, key)).status).toBe(422);
    expect((await alice.req('GET', '/api/v1/agents/@alice/elsewhere')).status).toBe(404);
    const after = await alice.req('GET', '/api/v1/agents/@alice/helper-bot/versions');
    expect(after.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);

    // Without a key a duplicate is the 409, saying the bytes are the live version's.
    const dup = await publish({ agent_version: 1 });
    expect(dup.status).toBe(409);
    expect(dup.body.error.existing).toMatchObject({ version: '1.0.0', identical: true });
    // A malformed key is a 400.
    expect((await publish({}, 'has space')).status).toBe(400);
  });

  it('accepts Idempotency-Key on an OCI manifest PUT, which stays idempotent by digest when it publishes a version', async () => {
    const oci = new OciClient(server.url).withToken(token);
    const tgz = await agentTarball({ name: 'pushed', version: '2.0.0', scope: 'alice' });
    await oci.pushBlob('alice/pushed', '{}');
    expect((await oci.pushBlob('alice/pushed', tgz)).status).toBe(201);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.agentry.agent.v1',
      config: EMPTY_CONFIG,
      layers: [{ mediaType: LAYER, digest: sha256(tgz), size: tgz.length }],
    });
    const put = (k: string) => oci.req('PUT', '/v2/alice/pushed/manifests/2.0.0', manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'idempotency-key': k });
    const key = randomUUID();
    const first = await put(key);
    expect(first.status, first.body.toString()).toBe(201);
    expect(first.headers.get('agentry-published-version')).toBe('@alice/pushed@2.0.0');
    // A retry after a lost reply, with the key or another one, and several racing: all 201, one digest.
    const again = await Promise.all([put(key), put(randomUUID()), put(key)]);
    for (const r of again) {
      expect(r.status, r.body.toString()).toBe(201);
      expect(r.headers.get('docker-content-digest')).toBe(first.headers.get('docker-content-digest'));
    }
    const versions = await alice.req('GET', '/api/v1/agents/@alice/pushed/versions');
    expect(versions.body.versions.map((v: { version: string }) => v.version)).toEqual(['2.0.0']);
    // Other bytes under the published version's tag stay DENIED, key or not.
    const other = await agentTarball({ name: 'pushed', version: '2.0.0', scope: 'alice', readme: '# other\n' });
    expect((await oci.pushBlob('alice/pushed', other)).status).toBe(201);
    const clash = JSON.stringify({ ...JSON.parse(manifest), layers: [{ mediaType: LAYER, digest: sha256(other), size: other.length }] });
    const denied = await oci.req('PUT', '/v2/alice/pushed/manifests/2.0.0', clash, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'idempotency-key': key });
    expect(denied.status).toBe(403);
  });
});
