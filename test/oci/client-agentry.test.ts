import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient, OciClientError, type ImageManifest } from '../../src/adapters/oci-client/index.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { startProxy } from '../helpers/http-proxy.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Agentry's OCI client against Agentry's own /v2/ (Docker token flow with an Agentry token), and an
 * artifact copied from docker-registry into Agentry and out again, byte-identical.
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the OCI client ↔ Agentry interop tests: docker-registry is not installed (apt-get install -y docker-registry)');

const ARTIFACT = 'application/vnd.alquimia.registry.v1';
const fast = { retries: 3, baseDelayMs: 10, maxDelayMs: 2000 };

const createUser = async (server: TestServer, username: string): Promise<string> => {
  const res = await fetch(`${server.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  if (res.status !== 201) throw new Error(`creating ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
};

describe.skipIf(!run).each(testStores)('OCI client ↔ Agentry /v2/ ↔ docker-registry (%s)', (store) => {
  let server: TestServer;
  let reg: DockerRegistry;
  let host: string;
  let alice: OciClient;
  let aliceToken: string;
  let work: string;

  beforeAll(async () => {
    server = await startTestServer({ store });
    reg = await startDockerRegistry();
    host = new URL(server.url).host;
    aliceToken = await createUser(server, 'alice');
    alice = new OciClient({ retry: fast, chunkSize: 4 << 20, credentials: { [host]: { username: 'alice', password: aliceToken } } });
    work = mkdtempSync(join(tmpdir(), 'agentry-oci-agentry-'));
  });
  afterAll(async () => {
    await reg?.stop();
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pushes an artifact with small and chunked layers through the token flow and pulls it back byte-identical', async () => {
    const big = join(work, 'model.bin');
    writeFileSync(big, randomBytes(9 * 1024 * 1024 + 7));
    const pushed = await alice.pushArtifact({
      ref: `${host}/alice/space:1.0.0`,
      artifactType: ARTIFACT,
      layers: [{ mediaType: 'application/yaml', data: 'name: space\n', title: 'agentspace.yaml' }, { path: big }],
      annotations: { 'org.opencontainers.image.version': '1.0.0' },
    });
    const dir = join(work, 'out');
    const pulled = await alice.pullArtifact(`${host}/alice/space:1.0.0`, { dir });
    expect(pulled.digest).toBe(pushed.digest);
    expect(pulled.artifactType).toBe(ARTIFACT);
    expect(readFileSync(join(dir, 'agentspace.yaml'), 'utf8')).toBe('name: space\n');
    expect(readFileSync(join(dir, 'model.bin')).equals(readFileSync(big))).toBe(true);
    expect(await alice.resolve(`${host}/alice/space:1.0.0`)).toMatchObject({ digest: pushed.digest });
  });

  it('uploads small blobs to Agentry in one request each (POST ?digest=)', async () => {
    const proxy = await startProxy(server.url);
    try {
      const client = new OciClient({ retry: fast, credentials: { [proxy.host]: { username: 'alice', password: aliceToken } } });
      for (let i = 0; i < 3; i += 1) expect((await client.pushBlob(`${proxy.host}/alice/single`, { data: randomBytes(200) })).outcome).toBe('uploaded');
      const uploads = proxy.seen.filter((l) => l.includes('/blobs/uploads/'));
      // Three uploads, no PUT, no PATCH. (The login challenge now comes with the first HEAD: an anonymous
      // caller gets 401 for a repository it may not read or that does not exist yet — issue 12.)
      expect(uploads).toHaveLength(3);
      expect(uploads.every((l) => l.startsWith('POST /v2/alice/single/blobs/uploads/?digest=sha256'))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('lists Agentry’s repositories, or says plainly that it has no catalog API', async () => {
    // /v2/_catalog is optional in the spec; Agentry's /v2/ may or may not serve it.
    const listed = await alice.listRepositories(host).catch((e: unknown) => e as OciClientError);
    if (Array.isArray(listed)) {
      expect(listed).toContain('alice/space');
      return;
    }
    expect(listed).toBeInstanceOf(OciClientError);
    expect(listed.code).toBe('not_implemented');
    expect(listed.message).toMatch(
      new RegExp(`^list repositories failed on ${host.replace(/\./g, '\\.')}: the registry answered 404 Not Found .*: this registry does not serve the optional /v2/_catalog API$`),
    );
  });

  it('follows Agentry’s tag pages (n, last, Link)', async () => {
    const tags = ['1.0.0', '1.1.0', '2.0.0', '2.1.0', '3.0.0'];
    for (const tag of tags) await alice.pushArtifact({ ref: `${host}/alice/paged:${tag}`, artifactType: ARTIFACT, layers: [{ data: tag, title: 'v.txt' }] });
    expect(await alice.listTags(`${host}/alice/paged`, { pageSize: 2 })).toEqual(tags);
    expect(await alice.listTags(`${host}/alice/paged`, { pageSize: 2, last: '1.1.0' })).toEqual(tags.slice(2));
    expect(await alice.listTags(`${host}/alice/paged`, { pageSize: 2, limit: 3 })).toEqual(tags.slice(0, 3));
  });

  it('copies an artifact and an index from docker-registry into Agentry and out again, byte-identical', async () => {
    const oci = new OciClient({ retry: fast, chunkSize: 4 << 20, credentials: { [host]: { username: 'alice', password: aliceToken } } });
    const data = randomBytes(6 * 1024 * 1024);
    const a = await oci.pushArtifact({
      ref: `${reg.host}/team/app:1.0.0`,
      artifactType: ARTIFACT,
      layers: [
        { data, title: 'data.bin' },
        { data: 'readme', title: 'README.md' },
      ],
      annotations: { origin: 'docker-registry' },
    });
    const b = await oci.pushArtifact({ ref: `${reg.host}/team/app`, artifactType: ARTIFACT, layers: [{ data: 'arm64', title: 'arch.txt' }] });
    const index = await oci.pushIndex({
      ref: `${reg.host}/team/app:multi`,
      manifests: [
        { mediaType: a.mediaType, digest: a.digest, size: a.size, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: b.mediaType, digest: b.digest, size: b.size, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    });
    const original = await oci.getManifest(`${reg.host}/team/app:1.0.0`);

    const into = await oci.copy(`${reg.host}/team/app:1.0.0`, `${host}/alice/app:1.0.0`);
    expect(into.digest).toBe(a.digest);
    expect(into.blobs.map((x) => x.outcome)).toEqual(['uploaded', 'uploaded', 'uploaded']);
    const inAgentry = await oci.getManifest(`${host}/alice/app:1.0.0`);
    expect(Buffer.from(inAgentry.bytes).equals(Buffer.from(original.bytes))).toBe(true);

    const out = await oci.copy(`${host}/alice/app:1.0.0`, `${reg.host}/team/back:1.0.0`);
    expect(out.digest).toBe(a.digest);
    const back = await oci.pullArtifact(`${reg.host}/team/back:1.0.0`);
    expect(Buffer.from(back.manifestBytes).equals(Buffer.from(original.bytes))).toBe(true);
    expect(Buffer.from(back.layers[0].data!).equals(data)).toBe(true);
    expect(new TextDecoder().decode(back.layers[1].data)).toBe('readme');
    expect((back.manifest as ImageManifest).annotations).toEqual({ origin: 'docker-registry' });

    const indexIn = await oci.copy(`${reg.host}/team/app:multi`, `${host}/alice/app:multi`);
    expect(indexIn.digest).toBe(index.digest);
    expect(indexIn.manifests).toEqual([a.digest, b.digest, index.digest]);
    const indexOut = await oci.copy(`${host}/alice/app:multi`, `${reg.host}/team/back:multi`);
    expect(indexOut.digest).toBe(index.digest);
    expect(Buffer.from((await oci.getManifest(`${reg.host}/team/back:multi`)).bytes).equals(Buffer.from((await oci.getManifest(`${reg.host}/team/app:multi`)).bytes))).toBe(true);
  });

  it('finds referrers through Agentry’s referrers API', async () => {
    const subject = await alice.pushArtifact({ ref: `${host}/alice/signed:1.0.0`, artifactType: ARTIFACT, layers: [{ data: 'app' }] });
    const sig = await alice.pushArtifact({
      ref: `${host}/alice/signed`,
      artifactType: 'application/vnd.example.signature.v1',
      layers: [{ data: 'sig' }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
    const refs = await alice.listReferrers(`${host}/alice/signed@${subject.digest}`, { artifactType: 'application/vnd.example.signature.v1' });
    expect(refs.source).toBe('referrers-api');
    expect(refs.manifests.map((m) => m.digest)).toEqual([sig.digest]);
  });

  it('refuses a wrong token and a repository outside the user’s scope with clear errors', async () => {
    const wrong = new OciClient({ retry: fast, credentials: { [host]: { username: 'alice', password: `agentry_${randomBytes(32).toString('base64url')}` } } });
    // Public repositories are read anonymously (no challenge, so no login); a push needs the login.
    expect(await wrong.listTags(`${host}/alice/space`)).toEqual(['1.0.0']);
    const refused = await wrong.pushArtifact({ ref: `${host}/alice/space:2.0.0`, artifactType: ARTIFACT, layers: [{ data: 'x' }] }).catch((e: unknown) => e as OciClientError);
    expect(refused).toBeInstanceOf(OciClientError);
    expect((refused as OciClientError).code).toBe('unauthorized');
    expect((refused as OciClientError).message).toMatch(new RegExp(`^log in to ${host.replace(/\./g, '\\.')} \\(token service ${server.url.replace(/\./g, '\\.')}/v2/token\\) failed`));

    const other = await alice.pushArtifact({ ref: `${host}/bob/space:1.0.0`, artifactType: ARTIFACT, layers: [{ data: 'x' }] }).catch((e: unknown) => e as OciClientError);
    expect(other).toBeInstanceOf(OciClientError);
    expect((other as OciClientError).message).toMatch(new RegExp(`failed on ${host.replace(/\./g, '\\.')}/bob/space: the registry answered (401|403|404)`));
  });
});
