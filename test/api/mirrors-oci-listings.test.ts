import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient as RegistryClient } from '../../src/adapters/oci-client/index.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { OciClient } from '../helpers/oci.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { expireMirrorChecks } from '../helpers/backdate.js';

/**
 * OCI mirrors, issue 18: signatures travel with what they sign (the upstream's referrers, through its
 * referrers API or the `sha256-<hex>` tag schema, are copied and listed by Agentry's referrers API,
 * also with the upstream down), and `tags/list` of a mirrored repository is the upstream's (cached
 * with the mirror's TTL, paged as the distribution spec says). Debian's docker-registry 2.8 (no
 * referrers API) and Agentry itself (with one) as upstreams on 127.0.0.1.
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the OCI mirror listing tests: docker-registry is not installed');

const IMAGE = 'application/vnd.example.mirror-test.v1';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const fast = { retries: 0, baseDelayMs: 10, maxDelayMs: 100 };
const INDEX = 'application/vnd.oci.image.index.v1+json';

interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
}

const push = async (client: RegistryClient, ref: string, content: string, extra: { artifactType?: string; subject?: Pushed } = {}): Promise<Pushed> => {
  const pushed = await client.pushArtifact({
    ref,
    artifactType: extra.artifactType ?? IMAGE,
    layers: [{ mediaType: extra.artifactType ?? 'text/plain', data: content, title: 'content.txt' }],
    ...(extra.subject ? { subject: { mediaType: extra.subject.mediaType, digest: extra.subject.digest, size: extra.subject.size } } : {}),
  });
  return { digest: pushed.digest, size: pushed.size, mediaType: pushed.mediaType };
};

describe.skipIf(!run).each(testStores)('OCI mirrors: referrers and tag lists (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let reg: DockerRegistry;
  let v2: OciClient;
  let upstream: RegistryClient;
  let host: string;

  beforeAll(async () => {
    reg = await startDockerRegistry();
    server = await startTestServer({ store, egressAllow: '127.0.0.1' });
    admin = new Api(server.url, server.adminToken);
    v2 = new OciClient(server.url);
    upstream = new RegistryClient({ retry: fast });
    host = new URL(server.url).host;
  });
  afterAll(async () => {
    await server?.close();
    await reg?.stop();
  });

  const referrers = async (path: string) => {
    const r = await v2.req('GET', path);
    return {
      status: r.status,
      type: r.headers.get('content-type'),
      body: r.status === 200 ? (JSON.parse(r.body.toString()) as { manifests: Array<{ digest: string; artifactType?: string }> }) : r.body.toString(),
    };
  };

  it('copies signatures pushed with the tag-schema fallback along with the image, lists them, and serves them with the upstream down', async () => {
    const other = await startDockerRegistry();
    let stopped: Promise<void> | undefined;
    const stopOnce = () => (stopped ??= other.stop());
    try {
      const image = await push(upstream, `${other.host}/sig/app:1.0`, 'the signed image');
      const sig = await push(upstream, `${other.host}/sig/app`, '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","signature":"one"}', { artifactType: BUNDLE, subject: image });
      // docker-registry 2.8 has no referrers API: the client kept the fallback tag index instead.
      expect((await fetch(`${other.url}/v2/sig/app/referrers/${image.digest}`)).status).toBe(404);
      const fallbackTag = `sha256-${image.digest.slice(7)}`;
      expect(await upstream.listTags(`${other.host}/sig/app`)).toContain(fallbackTag);

      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'sigs', url: other.url, ttl_seconds: 3600 })).status).toBe(201);
      const pulled = await new RegistryClient({ retry: fast }).pullArtifact(`${host}/sigs/sig/app:1.0`);
      expect(pulled.digest).toBe(image.digest);

      // Agentry's referrers API lists the copied signature (and filters by artifactType).
      const listed = await referrers(`/v2/sigs/sig/app/referrers/${image.digest}`);
      expect(listed.status).toBe(200);
      expect(listed.type).toMatch(INDEX);
      expect(typeof listed.body === 'object' && listed.body.manifests).toEqual([expect.objectContaining({ digest: sig.digest, artifactType: BUNDLE })]);
      const filtered = await referrers(`/v2/sigs/sig/app/referrers/${image.digest}?artifactType=${encodeURIComponent(IMAGE)}`);
      expect(typeof filtered.body === 'object' && filtered.body.manifests).toEqual([]);

      // A second signature attached upstream later is copied once the listing is older than the TTL.
      const sig2 = await push(upstream, `${other.host}/sig/app`, '{"signature":"two"}', { artifactType: BUNDLE, subject: image });
      await expireMirrorChecks(server, 'sigs');
      const both = await referrers(`/v2/sigs/sig/app/referrers/${image.digest}`);
      expect(typeof both.body === 'object' && both.body.manifests.map((m) => m.digest).sort()).toEqual([sig.digest, sig2.digest].sort());

      // The upstream stopped: the signatures are still listed and can be pulled, manifest and bundle.
      await stopOnce();
      await expireMirrorChecks(server, 'sigs');
      const offline = await referrers(`/v2/sigs/sig/app/referrers/${image.digest}`);
      expect(offline.status).toBe(200);
      expect(typeof offline.body === 'object' && offline.body.manifests).toHaveLength(2);
      const sigPulled = await new RegistryClient({ retry: fast }).pullArtifact(`${host}/sigs/sig/app@${sig.digest}`);
      expect(Buffer.from(sigPulled.layers[0].data as Uint8Array).toString()).toContain('"signature":"one"');
      expect(sigPulled.manifest.subject?.digest).toBe(image.digest);
      // What was never asked while the upstream was up cannot be answered: the upstream's failure, not an empty list.
      const never = await v2.req('GET', `/v2/sigs/sig/app/referrers/sha256:${'1'.repeat(64)}`);
      expect(never.status).toBe(502);
    } finally {
      await stopOnce();
    }
  });

  it('takes from a referrers listing only manifests that refer to the digest; refuses a malformed digest', async () => {
    const image = await push(upstream, `${reg.host}/liar/app:1.0`, 'an image');
    const unrelated = await push(upstream, `${reg.host}/liar/app:other`, 'not a signature of it', { artifactType: BUNDLE });
    // A fallback tag index naming a manifest without a subject (or with another one).
    const index = { schemaVersion: 2 as const, mediaType: INDEX, manifests: [{ mediaType: unrelated.mediaType, digest: unrelated.digest, size: unrelated.size, artifactType: BUNDLE }] };
    await upstream.putManifest(`${reg.host}/liar/app:sha256-${image.digest.slice(7)}`, index, INDEX);
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'liar', url: reg.url })).status).toBe(201);
    expect((await v2.req('GET', '/v2/liar/liar/app/manifests/1.0')).status).toBe(200);
    const listed = await referrers(`/v2/liar/liar/app/referrers/${image.digest}`);
    expect(listed.status).toBe(200);
    expect(typeof listed.body === 'object' && listed.body.manifests).toEqual([]);
    // Nothing refers to a digest the upstream does not have: an empty list, as the spec says.
    const none = await referrers(`/v2/liar/liar/app/referrers/sha256:${'2'.repeat(64)}`);
    expect(none.status).toBe(200);
    expect(typeof none.body === 'object' && none.body.manifests).toEqual([]);
    // Refused before the upstream is asked.
    for (const [bad, status, code] of [
      ['sha256:xyz', 400, 'DIGEST_INVALID'],
      ['md5:abc', 405, 'UNSUPPORTED'],
      ['notadigest', 400, 'DIGEST_INVALID'],
    ] as const) {
      const r = await v2.req('GET', `/v2/liar/liar/app/referrers/${bad}`);
      expect(r.status, bad).toBe(status);
      expect(r.body.toString(), bad).toContain(code);
    }
  });

  it('copies referrers from an upstream with the referrers API (another Agentry), with the stored login', async () => {
    const created = await admin.req('POST', '/api/v1/users', { username: 'signer' });
    const token = created.body.token as string;
    const signer = new RegistryClient({ retry: fast, credentials: { [host]: { username: 'signer', password: token } } });
    const image = await push(signer, `${host}/signer/tool:2.0`, 'an image in Agentry');
    const sig = await push(signer, `${host}/signer/tool`, '{"signature":"agentry"}', { artifactType: BUNDLE, subject: image });
    // Agentry answers the referrers API itself (no fallback tag).
    expect(await signer.listTags(`${host}/signer/tool`)).not.toContain(`sha256-${image.digest.slice(7)}`);
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'peer', url: server.url, username: 'signer', password: token, visibility: 'public' })).status).toBe(201);
    expect((await v2.req('GET', `/v2/peer/signer/tool/manifests/2.0`)).status).toBe(200);
    const listed = await referrers(`/v2/peer/signer/tool/referrers/${image.digest}`);
    expect(listed.status).toBe(200);
    expect(typeof listed.body === 'object' && listed.body.manifests).toEqual([expect.objectContaining({ digest: sig.digest, artifactType: BUNDLE })]);
    expect((await v2.req('GET', `/v2/peer/signer/tool/manifests/${sig.digest}`)).status).toBe(200);
  });

  it("lists a mirrored repository's tags from the upstream, paged, cached for the TTL and served with the upstream down", async () => {
    const other = await startDockerRegistry();
    let stopped: Promise<void> | undefined;
    const stopOnce = () => (stopped ??= other.stop());
    try {
      for (const t of ['b', 'a', 'd', 'c']) await push(upstream, `${other.host}/lib/many:${t}`, `tag ${t}`);
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'tl', url: other.url, ttl_seconds: 3600 })).status).toBe(201);
      const list = async (query = '') => {
        const r = await v2.req('GET', `/v2/tl/lib/many/tags/list${query}`);
        return { status: r.status, link: r.headers.get('link'), body: r.status === 200 ? (JSON.parse(r.body.toString()) as { name: string; tags: string[] }) : undefined, text: r.body.toString() };
      };
      // No tag was pulled through the mirror yet: the list is the upstream's.
      expect((await list()).body).toEqual({ name: 'tl/lib/many', tags: ['a', 'b', 'c', 'd'] });
      const first = await list('?n=2');
      expect(first.body?.tags).toEqual(['a', 'b']);
      expect(first.link).toBe('</v2/tl/lib/many/tags/list?n=2&last=b>; rel="next"');
      const second = await list('?n=2&last=b');
      expect(second.body?.tags).toEqual(['c', 'd']);
      expect(second.link).toBeNull();
      expect((await list('?n=0')).body?.tags).toEqual([]);
      expect((await list('?last=d')).body?.tags).toEqual([]);
      for (const bad of ['?n=-1', '?n=abc', '?n=100001']) expect((await list(bad)).status, bad).toBe(400);

      // Within the TTL the cached list answers; after it the upstream's new tag shows.
      await push(upstream, `${other.host}/lib/many:e`, 'tag e');
      expect((await list()).body?.tags).toEqual(['a', 'b', 'c', 'd']);
      await expireMirrorChecks(server, 'tl');
      expect((await list()).body?.tags).toEqual(['a', 'b', 'c', 'd', 'e']);

      // A repository the upstream does not know.
      const unknown = await v2.req('GET', '/v2/tl/lib/nothing/tags/list');
      expect(unknown.status).toBe(404);
      expect(unknown.body.toString()).toMatch(/NAME_UNKNOWN/);

      // The upstream down, past the TTL: its last list is served; a repository never listed fails as the upstream.
      await stopOnce();
      await expireMirrorChecks(server, 'tl');
      expect((await list()).body?.tags).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect((await v2.req('GET', '/v2/tl/lib/other/tags/list')).status).toBe(502);
    } finally {
      await stopOnce();
    }
  });

  it('removing a mirror forgets its listings', async () => {
    const other = await startDockerRegistry();
    try {
      await push(upstream, `${other.host}/gone/app:1`, 'one');
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'gone', url: other.url, ttl_seconds: 3600 })).status).toBe(201);
      expect((await v2.req('GET', '/v2/gone/gone/app/tags/list')).status).toBe(200);
      expect((await admin.req('DELETE', '/api/v1/mirrors/gone')).status).toBe(200);
      await push(upstream, `${other.host}/gone/app:2`, 'two');
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'gone', url: other.url, ttl_seconds: 3600 })).status).toBe(201);
      const again = JSON.parse((await v2.req('GET', '/v2/gone/gone/app/tags/list')).body.toString()) as { tags: string[] };
      expect(again.tags).toEqual(['1', '2']);
    } finally {
      await other.stop();
    }
  });
});
