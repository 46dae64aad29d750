import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { OciClient, EMPTY_CONFIG, sha256 } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const LAYER = 'application/vnd.agentry.package.layer.v1.tar+gzip';

/** Pushes a package tarball the way `oras push` does: config, layer, manifest. */
const pushPackage = async (c: OciClient, repo: string, tag: string, tarball: Buffer, artifactType = 'application/vnd.agentry.agent.v1') => {
  await c.pushBlob(repo, '{}');
  expect((await c.pushBlob(repo, tarball)).status).toBe(201);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType,
    config: EMPTY_CONFIG,
    layers: [{ mediaType: LAYER, digest: sha256(tarball), size: tarball.length, annotations: { 'org.opencontainers.image.title': 'pkg.tgz' } }],
    annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
  };
  return c.pushManifest(repo, tag, manifest);
};

const countBlobFiles = (dataDir: string): number => readdirSync(join(dataDir, 'blobs', 'sha256')).reduce((n, d) => n + readdirSync(join(dataDir, 'blobs', 'sha256', d)).length, 0);

describe.each(testStores)('OCI distribution: packages as artifacts (%s)', (store) => {
  let server: TestServer;
  let alice: Api;
  let oci: OciClient;
  let anon: OciClient;

  beforeAll(async () => {
    server = await startTestServer({ store });
    const admin = new Api(server.url, server.adminToken);
    const token = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token;
    alice = admin.with(token);
    oci = new OciClient(server.url).withToken(token);
    anon = new OciClient(server.url);
  });
  afterAll(() => server.close());

  it('serves a package published through the native API as an OCI artifact', async () => {
    const tgz = await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice', description: 'Helps' });
    expect((await alice.publish('/api/v1/agents/@alice/helper', tgz)).status).toBe(200);
    await alice.publish('/api/v1/agents/@alice/helper', await agentTarball({ name: 'helper', version: '1.1.0', scope: 'alice' }));

    const tags = await anon.req('GET', '/v2/alice/helper/tags/list');
    expect(tags.json).toEqual({ name: 'alice/helper', tags: ['1.0.0', '1.1.0', 'latest'] });
    const m = await anon.req('GET', '/v2/alice/helper/manifests/1.0.0');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.headers.get('docker-content-digest')).toBe(sha256(m.body));
    expect(m.json).toMatchObject({
      schemaVersion: 2,
      artifactType: 'application/vnd.agentry.agent.v1',
      config: EMPTY_CONFIG,
      layers: [{ mediaType: LAYER, digest: sha256(tgz), size: tgz.length, annotations: { 'org.opencontainers.image.title': 'helper-1.0.0.tgz' } }],
      annotations: { 'org.opencontainers.image.version': '1.0.0', 'org.opencontainers.image.description': 'Helps' },
    });
    // Stable: by digest, and again, the same bytes.
    const byDigest = await anon.req('GET', `/v2/alice/helper/manifests/${sha256(m.body)}`);
    expect(byDigest.body.equals(m.body)).toBe(true);
    const latest = await anon.req('GET', '/v2/alice/helper/manifests/latest');
    expect(latest.json.annotations['org.opencontainers.image.version']).toBe('1.1.0');
    const layer = await anon.req('GET', `/v2/alice/helper/blobs/${sha256(tgz)}`);
    expect(layer.body.equals(tgz)).toBe(true);
    expect((await anon.req('GET', `/v2/alice/helper/blobs/${EMPTY_CONFIG.digest}`)).body.toString()).toBe('{}');
    // It cannot be deleted through the OCI door: versions are unpublished.
    const del = await oci.req('DELETE', '/v2/alice/helper/manifests/1.0.0');
    expect(del.status).toBe(405);
    expect(del.json.errors[0].code).toBe('UNSUPPORTED');
    // Signatures attach to it through the referrers API.
    const sig = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sig',
      config: EMPTY_CONFIG,
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG.digest, size: 2 }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(m.body), size: m.body.length },
    };
    const pushed = await oci.pushManifest('alice/helper', sha256(JSON.stringify(sig)), sig);
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('oci-subject')).toBe(sha256(m.body));
    expect((await anon.req('GET', `/v2/alice/helper/referrers/${sha256(m.body)}`)).json.manifests).toHaveLength(1);
  });

  it('publishes an artifact pushed with a package layer and a semver tag as a package version, storing the bytes once', async () => {
    const tgz = await agentTarball({ name: 'pushed', version: '2.0.0', scope: 'alice', description: 'Pushed over OCI' });
    const before = countBlobFiles(server.dataDir);
    const r = await pushPackage(oci, 'alice/pushed', '2.0.0', tgz);
    expect(r.status).toBe(201);
    expect(r.headers.get('agentry-published-version')).toBe('@alice/pushed@2.0.0');
    // tarball + empty config + manifest: the tarball is not stored twice.
    expect(countBlobFiles(server.dataDir) - before).toBe(3);
    const pkg = await alice.req('GET', '/api/v1/agents/@alice/pushed');
    expect(pkg.status).toBe(200);
    expect(pkg.body).toMatchObject({ latest_version: '2.0.0', description: 'Pushed over OCI' });
    const dl = await alice.req('GET', '/api/v1/agents/@alice/pushed/download/2.0.0');
    expect(dl.body.sha256).toBe(sha256(tgz).slice(7));
    // Pulling the tag gives back exactly the pushed manifest.
    const m = await anon.req('GET', '/v2/alice/pushed/manifests/2.0.0');
    expect(m.json.annotations).toEqual({ 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' });
  });

  it('refuses other content under the tag of a published version, and keeps invalid or untagged layers as plain OCI content', async () => {
    const other = await agentTarball({ name: 'pushed', version: '2.0.0', scope: 'alice', description: 'Different bytes' });
    const clash = await pushPackage(oci, 'alice/pushed', '2.0.0', other);
    expect(clash.status).toBe(403);
    expect(clash.json.errors[0].code).toBe('DENIED');
    const unpublishable = await makeTarball({ 'notes.txt': 'no manifest here' });
    const plain = await pushPackage(oci, 'alice/plain', '1.0.0', unpublishable);
    expect(plain.status).toBe(201);
    expect(plain.headers.get('agentry-published-version')).toBeNull();
    expect((await alice.req('GET', '/api/v1/packages/@alice/plain')).status).toBe(404);
    expect((await alice.req('GET', '/api/v1/packages/@alice/pushed')).status).toBe(200);
    expect((await anon.req('GET', '/v2/alice/plain/manifests/1.0.0')).status).toBe(200);
    const untagged = await pushPackage(oci, 'alice/untagged', 'latest', await agentTarball({ name: 'untagged', version: '1.0.0', scope: 'alice' }));
    expect(untagged.status).toBe(201);
    expect(untagged.headers.get('agentry-published-version')).toBeNull();
  });

  it('publishes a skill whose version comes from the tag, through the ownership rules of every door', async () => {
    const skill = await makeTarball({ 'SKILL.md': '---\nname: pdf\ndescription: Read PDFs\n---\n# PDF\n' });
    const r = await pushPackage(oci, 'alice/pdf', '0.3.0', skill, 'application/vnd.agentry.skill.v1');
    expect(r.status).toBe(201);
    expect(r.headers.get('agentry-published-version')).toBe('@alice/pdf@0.3.0');
    expect((await alice.req('GET', '/api/v1/skills/@alice/pdf')).body.latest_version).toBe('0.3.0');
  });
});
