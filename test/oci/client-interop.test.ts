import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient, OciClientError, OCI_EMPTY, OCI_INDEX, type ImageManifest, type ImageIndex } from '../../src/adapters/oci-client/index.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { startProxy } from '../helpers/http-proxy.js';

/**
 * Agentry's OCI client against a real, independent registry: Debian's docker-registry (distribution
 * v2.8). In CI or the full local run a missing docker-registry fails these tests; on a bare developer
 * machine they are skipped with a note.
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the OCI client interop tests: docker-registry is not installed (apt-get install -y docker-registry)');

const ARTIFACT = 'application/vnd.alquimia.registry.v1';
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fast = { retries: 3, baseDelayMs: 10, maxDelayMs: 2000 };

/** A file of `size` random bytes written in pieces (never held whole). */
const writeRandomFile = async (path: string, size: number): Promise<string> => {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0;) {
    const piece = randomBytes(Math.min(left, 1 << 20));
    hash.update(piece);
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= piece.length;
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return `sha256:${hash.digest('hex')}`;
};

const errorOf = async (p: Promise<unknown>): Promise<OciClientError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof OciClientError) return e;
    throw e;
  }
  throw new Error('expected an OciClientError');
};

describe.skipIf(!run)('OCI client ↔ docker-registry', () => {
  let reg: DockerRegistry;
  let work: string;
  let oci: OciClient;

  beforeAll(async () => {
    reg = await startDockerRegistry();
    work = mkdtempSync(join(tmpdir(), 'agentry-oci-interop-'));
    oci = new OciClient({ retry: fast, chunkSize: 4 << 20 });
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pushes an artifact with several layers and annotations, and pulls it back byte-identical', async () => {
    const files = { 'agentspace.yaml': 'name: space\nversion: 1.0.0\n', 'README.md': '# Space\n', 'bin/tool.bin': randomBytes(70_000) };
    const pushed = await oci.pushArtifact({
      ref: `${reg.host}/team/space:1.0.0`,
      artifactType: ARTIFACT,
      layers: Object.entries(files).map(([title, data]) => ({ mediaType: 'application/octet-stream', data, title, annotations: { 'io.agentry.role': title } })),
      annotations: { 'org.opencontainers.image.version': '1.0.0' },
    });
    expect(pushed.reference).toBe(`${reg.host}/team/space:1.0.0@${pushed.digest}`);
    expect(pushed.blobs.map((b) => b.outcome)).toEqual(['uploaded', 'uploaded', 'uploaded', 'uploaded']);

    const pulled = await oci.pullArtifact(`${reg.host}/team/space:1.0.0`);
    expect(pulled.digest).toBe(pushed.digest);
    expect(sha(pulled.manifestBytes)).toBe(pushed.digest);
    expect(pulled.artifactType).toBe(ARTIFACT);
    expect(pulled.manifest.config).toEqual({ mediaType: OCI_EMPTY, digest: sha(Buffer.from('{}')), size: 2 });
    expect(pulled.manifest.annotations).toEqual({ 'org.opencontainers.image.version': '1.0.0' });
    expect(pulled.layers.map((l) => l.title)).toEqual(Object.keys(files));
    for (const [i, data] of Object.values(files).entries()) {
      expect(Buffer.from(pulled.layers[i].data!).equals(Buffer.from(data))).toBe(true);
      expect(pulled.layers[i].descriptor.annotations).toEqual({ 'io.agentry.role': Object.keys(files)[i], 'org.opencontainers.image.title': Object.keys(files)[i] });
    }

    // By digest too, and into a folder (titles with a sub-folder).
    const dir = join(work, 'space');
    const again = await oci.pullArtifact(`${reg.host}/team/space@${pushed.digest}`, { dir });
    expect(again.layers.map((l) => l.path)).toEqual([join(dir, 'agentspace.yaml'), join(dir, 'README.md'), join(dir, 'bin', 'tool.bin')]);
    expect(readFileSync(join(dir, 'bin', 'tool.bin')).equals(files['bin/tool.bin'])).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'agentspace.yaml', 'bin']);
    // Never overwrites.
    await expect(oci.pullArtifact(`${reg.host}/team/space:1.0.0`, { dir })).rejects.toThrow(/refusing to overwrite .*agentspace\.yaml/);

    // Pushing it again sends no blob: HEAD finds each one.
    const repeat = await oci.pushArtifact({ ref: `${reg.host}/team/space:1.0.1`, artifactType: ARTIFACT, layers: [{ data: files['README.md'], title: 'README.md' }] });
    expect(repeat.blobs.map((b) => b.outcome)).toEqual(['exists', 'exists']);
  });

  it('streams a large blob from disk in chunks and pulls it into a folder, verified', async () => {
    const path = join(work, 'large.bin');
    const digest = await writeRandomFile(path, 21 * 1024 * 1024 + 123);
    const client = new OciClient({ retry: fast, chunkSize: 4 << 20, monolithicLimit: 4 << 20 });
    let sent = 0;
    const pushed = await client.pushArtifact({ ref: `${reg.host}/team/large:v1`, artifactType: ARTIFACT, layers: [{ path }], onProgress: (p) => (sent += p.bytes) });
    expect(pushed.manifest).toMatchObject({ layers: [{ digest, size: 21 * 1024 * 1024 + 123, annotations: { 'org.opencontainers.image.title': 'large.bin' } }] });
    expect(sent).toBe(21 * 1024 * 1024 + 123 + 2);

    const dir = join(work, 'large-out');
    let got = 0;
    const pulled = await client.pullArtifact(`${reg.host}/team/large:v1`, { dir, onProgress: (p) => (got += p.bytes) });
    expect(got).toBe(21 * 1024 * 1024 + 123);
    expect(pulled.layers[0].path).toBe(join(dir, 'large.bin'));
    expect(sha(readFileSync(join(dir, 'large.bin')))).toBe(digest);
    expect(readdirSync(dir)).toEqual(['large.bin']);
    // Without a folder, too large for memory is refused before any download.
    await expect(client.pullArtifact(`${reg.host}/team/large:v1`, { maxInMemoryBytes: 1 << 20 })).rejects.toThrow(/more than the 1048576 allowed in memory/);
  });

  it('tries the one-request upload once, and on a registry without it goes on with POST then PUT', async () => {
    const proxy = await startProxy(reg.url);
    try {
      const client = new OciClient({ retry: fast });
      for (let i = 0; i < 3; i += 1) expect((await client.pushBlob(`${proxy.host}/single/post`, { data: randomBytes(100) })).outcome).toBe('uploaded');
      const shape = proxy.seen.map((line) =>
        decodeURIComponent(line)
          .replace(/sha256:[0-9a-f]{64}/g, 'D')
          .replace(/uploads\/[^?]+/, 'uploads/S')
          .replace(/_state=[^&]+&?/, ''),
      );
      expect(shape).toEqual([
        'HEAD /v2/single/post/blobs/D',
        'POST /v2/single/post/blobs/uploads/?digest=D',
        'PUT /v2/single/post/blobs/uploads/S?digest=D',
        'HEAD /v2/single/post/blobs/D',
        'POST /v2/single/post/blobs/uploads/',
        'PUT /v2/single/post/blobs/uploads/S?digest=D',
        'HEAD /v2/single/post/blobs/D',
        'POST /v2/single/post/blobs/uploads/',
        'PUT /v2/single/post/blobs/uploads/S?digest=D',
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('mounts blobs from another repository instead of uploading them', async () => {
    const data = randomBytes(5000);
    await oci.pushArtifact({ ref: `${reg.host}/mount/src:v1`, artifactType: ARTIFACT, layers: [{ data, title: 'x.bin' }] });
    const pushed = await oci.pushArtifact({ ref: `${reg.host}/mount/dst:v1`, artifactType: ARTIFACT, layers: [{ data, title: 'x.bin' }], mountFrom: 'mount/src' });
    expect(pushed.blobs.map((b) => b.outcome)).toEqual(['mounted', 'mounted']);
    expect(Buffer.from((await oci.pullArtifact(`${reg.host}/mount/dst:v1`)).layers[0].data!).equals(data)).toBe(true);
  });

  it('pushes an index over two artifacts, pulls it byte-identical and copies it to another repository', async () => {
    const a = await oci.pushArtifact({ ref: `${reg.host}/multi/app`, artifactType: ARTIFACT, layers: [{ data: 'amd64 build', title: 'a.txt' }] });
    const b = await oci.pushArtifact({ ref: `${reg.host}/multi/app`, artifactType: ARTIFACT, layers: [{ data: 'arm64 build', title: 'b.txt' }] });
    const index = await oci.pushIndex({
      ref: `${reg.host}/multi/app:1.0.0`,
      manifests: [
        { mediaType: a.mediaType, digest: a.digest, size: a.size, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: b.mediaType, digest: b.digest, size: b.size, platform: { architecture: 'arm64', os: 'linux' } },
      ],
      annotations: { 'org.opencontainers.image.description': 'two builds' },
    });
    const fetched = await oci.getManifest(`${reg.host}/multi/app:1.0.0`);
    expect(fetched.mediaType).toBe(OCI_INDEX);
    expect(fetched.digest).toBe(index.digest);
    expect(Buffer.from(fetched.bytes).equals(Buffer.from(JSON.stringify(index.manifest)))).toBe(true);
    expect((fetched.manifest as ImageIndex).manifests.map((m) => m.digest)).toEqual([a.digest, b.digest]);
    await expect(oci.pullArtifact(`${reg.host}/multi/app:1.0.0`)).rejects.toThrow(/is an image index, not an artifact/);

    const copied = await oci.copy(`${reg.host}/multi/app:1.0.0`, `${reg.host}/multi/copy:1.0.0`);
    expect(copied.digest).toBe(index.digest);
    expect(copied.manifests).toEqual([a.digest, b.digest, index.digest]);
    // Same registry: the layers are mounted; the empty config, shared by both, is mounted once and then exists.
    expect(copied.blobs.map((x) => x.outcome)).toEqual(['mounted', 'mounted', 'exists', 'mounted']);
    expect(new TextDecoder().decode((await oci.pullArtifact(`${reg.host}/multi/copy@${b.digest}`)).layers[0].data)).toBe('arm64 build');
  });

  it('lists tags and repositories, following Link pages where the registry paginates', async () => {
    const tags = Array.from({ length: 7 }, (_, i) => `v${i}`);
    for (const tag of tags) await oci.pushArtifact({ ref: `${reg.host}/paged/repo:${tag}`, artifactType: ARTIFACT, layers: [{ data: tag }] });
    await oci.pushArtifact({ ref: `${reg.host}/paged/other:v1`, artifactType: ARTIFACT, layers: [{ data: 'other' }] });
    const pages: string[] = [];
    const proxy = await startProxy(reg.url, { intercept: (req) => (pages.push(req.url ?? ''), false) });
    try {
      const viaProxy = new OciClient({ retry: fast });
      // distribution 2.8 answers every tag in one page (it ignores n for tags): nothing is lost.
      expect((await viaProxy.listTags(`${proxy.host}/paged/repo`, { pageSize: 2 })).sort()).toEqual(tags);
      expect(await viaProxy.listTags(`${proxy.host}/paged/repo`, { limit: 3 })).toHaveLength(3);
      // It does paginate the catalog, with a Link header per page.
      const repos = await viaProxy.listRepositories(proxy.host, { pageSize: 1 });
      expect(repos).toEqual([...repos].sort());
      expect(repos).toEqual(expect.arrayContaining(['paged/other', 'paged/repo']));
      expect(pages.filter((p) => p.includes('/_catalog')).length).toBeGreaterThanOrEqual(repos.length);
      expect(await viaProxy.listRepositories(proxy.host, { pageSize: 1, limit: 2 })).toEqual(repos.slice(0, 2));
    } finally {
      await proxy.close();
    }
  });

  it('attaches a referrer and finds it through the referrers tag schema', async () => {
    const subject = await oci.pushArtifact({ ref: `${reg.host}/refs/app:v1`, artifactType: ARTIFACT, layers: [{ data: 'app' }] });
    const sig = await oci.pushArtifact({
      ref: `${reg.host}/refs/app`,
      artifactType: 'application/vnd.example.signature.v1',
      layers: [{ data: 'signature bytes' }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
    const sbom = await oci.pushArtifact({
      ref: `${reg.host}/refs/app`,
      artifactType: 'application/spdx+json',
      layers: [{ data: '{}' }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
    const all = await oci.listReferrers(`${reg.host}/refs/app@${subject.digest}`);
    expect(all.source).toBe('tag-schema');
    expect(all.manifests.map((m) => m.digest)).toEqual([sig.digest, sbom.digest]);
    const sigs = await oci.listReferrers(`${reg.host}/refs/app@${subject.digest}`, { artifactType: 'application/vnd.example.signature.v1' });
    expect(sigs.manifests).toEqual([expect.objectContaining({ digest: sig.digest, artifactType: 'application/vnd.example.signature.v1' })]);
    expect((await oci.listReferrers(`${reg.host}/refs/app@${sig.digest}`)).manifests).toEqual([]);
  });

  it('deletes manifests and blobs, and names the registry, repository and status in errors', async () => {
    const pushed = await oci.pushArtifact({ ref: `${reg.host}/gone/app:v1`, artifactType: ARTIFACT, layers: [{ data: 'bye' }] });
    expect(await oci.resolve(`${reg.host}/gone/app:v1`)).toMatchObject({ digest: pushed.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(await oci.deleteManifest(`${reg.host}/gone/app:v1`)).toBe(pushed.digest);
    expect(await oci.resolve(`${reg.host}/gone/app:v1`)).toBeUndefined();
    const err = await errorOf(oci.getManifest(`${reg.host}/gone/app:v1`));
    expect(err).toMatchObject({ code: 'not_found', status: 404, httpStatus: 404, registry: reg.host, repository: 'gone/app' });
    expect(err.message).toBe(`pull manifest v1 failed on ${reg.host}/gone/app: the registry answered 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)`);

    const layer = (pushed.manifest as ImageManifest).layers[0];
    await oci.deleteBlob(`${reg.host}/gone/app`, layer.digest);
    expect(await oci.blobSize(`${reg.host}/gone/app`, layer.digest)).toBeUndefined();
    const blobErr = await errorOf(oci.fetchBlob(`${reg.host}/gone/app`, layer));
    expect(blobErr.message).toMatch(new RegExp(`^pull blob ${layer.digest} failed on ${reg.host.replace(/\./g, '\\.')}/gone/app: the registry answered 404 Not Found \\(BLOB_UNKNOWN`));
    await expect(oci.deleteManifest(`${reg.host}/gone/app:nope`)).rejects.toThrow(`delete manifest nope failed on ${reg.host}/gone/app: no such tag`);
  });

  it('refuses a manifest whose layers are missing with the registry’s own error code', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const err = await errorOf(
      oci.putManifest(`${reg.host}/broken/app:v1`, {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: OCI_EMPTY, digest: missing, size: 2 },
        layers: [],
      }),
    );
    expect(err.httpStatus).toBe(400);
    expect(err.registryErrors.map((e) => e.code)).toContain('MANIFEST_BLOB_UNKNOWN');
    expect(err.message).toMatch(/push manifest v1 failed on .*\/broken\/app: the registry answered 400 Bad Request \(MANIFEST_BLOB_UNKNOWN/);
  });

  it('verifies every pulled byte: a corrupted blob or manifest is refused and nothing is written', async () => {
    const data = randomBytes(10_000);
    const pushed = await oci.pushArtifact({ ref: `${reg.host}/verify/app:v1`, artifactType: ARTIFACT, layers: [{ data, title: 'data.bin' }] });
    const layer = (pushed.manifest as ImageManifest).layers[0];
    const flip = (b: Buffer) => {
      const c = Buffer.from(b);
      if (c.length) c[c.length - 1] ^= 1;
      return c;
    };
    const proxy = await startProxy(reg.url, { transform: (req, body) => (req.url?.includes(`/blobs/${layer.digest}`) ? flip(body) : body) });
    try {
      const client = new OciClient({ retry: fast });
      const dir = join(work, 'corrupt');
      const err = await errorOf(client.pullArtifact(`${proxy.host}/verify/app:v1`, { dir }));
      expect(err.code).toBe('bad_gateway');
      expect(err.message).toMatch(
        new RegExp(`pull blob ${layer.digest} failed on ${proxy.host.replace(/\./g, '\\.')}/verify/app: the bytes received hash to sha256:[0-9a-f]{64}, not ${layer.digest}`),
      );
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      await proxy.close();
    }
    const manifestProxy = await startProxy(reg.url, {
      transform: (req, body) => (req.url?.includes('/manifests/') ? Buffer.from(body.toString().replace('"schemaVersion":2', '"schemaVersion": 2')) : body),
    });
    try {
      const client = new OciClient({ retry: fast });
      await expect(client.getManifest(`${manifestProxy.host}/verify/app@${pushed.digest}`)).rejects.toThrow(/the manifest bytes hash to sha256:[0-9a-f]{64}, not sha256:/);
      await expect(client.getManifest(`${manifestProxy.host}/verify/app:v1`)).rejects.toThrow(/the manifest bytes hash to/);
    } finally {
      await manifestProxy.close();
    }
  });
});

describe.skipIf(!run)('OCI client auth against docker-registry', () => {
  const user = { username: 'alice', password: `pw-${randomBytes(6).toString('hex')}` };
  let reg: DockerRegistry;
  let work: string;

  beforeAll(async () => {
    reg = await startDockerRegistry({ basicAuth: user });
    work = mkdtempSync(join(tmpdir(), 'agentry-oci-auth-'));
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses anonymous and wrong credentials with a clear error, never showing the password', async () => {
    const anonymous = await errorOf(new OciClient({ retry: fast }).pushArtifact({ ref: `${reg.host}/a/b:v1`, artifactType: ARTIFACT, layers: [{ data: 'x' }] }));
    expect(anonymous).toMatchObject({ code: 'unauthorized', httpStatus: 401, registry: reg.host, repository: 'a/b' });
    expect(anonymous.message).toMatch(/failed on 127\.0\.0\.1:\d+\/a\/b: the registry requires a username and password/);

    const wrong = new OciClient({ retry: fast, credentials: { [reg.host]: { username: 'alice', password: 'not-the-password' } } });
    const refused = await errorOf(wrong.listTags(`${reg.host}/a/b`));
    expect(refused.code).toBe('unauthorized');
    expect(refused.message).toMatch(/list tags failed on 127\.0\.0\.1:\d+\/a\/b: the registry answered 401 Unauthorized \(UNAUTHORIZED.*\): the credentials were refused or lack access/);
    expect(refused.message).not.toContain('not-the-password');
    expect(JSON.stringify(refused)).not.toContain('not-the-password');
  });

  it('pushes and pulls with basic auth, credentials given or read from a docker config file', async () => {
    const client = new OciClient({ retry: fast, credentials: { [reg.host]: user } });
    const pushed = await client.pushArtifact({ ref: `${reg.host}/a/b:v1`, artifactType: ARTIFACT, layers: [{ data: 'secret layer', title: 's.txt' }] });
    const cfg = join(work, 'docker-config.json');
    writeFileSync(cfg, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') } } }));
    const { readDockerConfig } = await import('../../src/adapters/oci-client/index.js');
    const logins = await readDockerConfig(cfg);
    const fromFile = new OciClient({ retry: fast, credentials: (host) => logins.get(host) });
    const pulled = await fromFile.pullArtifact(`${reg.host}/a/b:v1`);
    expect(pulled.digest).toBe(pushed.digest);
    expect(new TextDecoder().decode(pulled.layers[0].data)).toBe('secret layer');
    expect(await fromFile.listRepositories(reg.host)).toEqual(['a/b']);
  });
});

/**
 * A Docker token service in front of a real (anonymous) docker-registry: /v2/ requests without a
 * token that covers them get `401 WWW-Authenticate: Bearer realm,service,scope`; /token hands out
 * tokens for the scopes asked (push only to alice with her password, pull to anyone).
 */
const startTokenGate = async (registryUrl: string, password: string) => {
  const tokens = new Map<string, Set<string>>();
  const tokenRequests: { scopes: string[]; user?: string }[] = [];
  const need = (method: string, path: string): string | undefined => {
    const m = /^\/v2\/(.+?)\/(blobs|manifests|tags|referrers)\//.exec(path);
    if (path.startsWith('/v2/_catalog')) return 'registry:catalog:*';
    if (!m) return undefined;
    return `repository:${m[1]}:${method === 'GET' || method === 'HEAD' ? 'pull' : 'push'}`;
  };
  const covers = (granted: Set<string>, scope: string): boolean => {
    const cut = scope.lastIndexOf(':');
    const resource = scope.slice(0, cut);
    const action = scope.slice(cut + 1);
    return [...granted].some(
      (g) =>
        g.slice(0, g.lastIndexOf(':')) === resource &&
        g
          .slice(g.lastIndexOf(':') + 1)
          .split(',')
          .includes(action),
    );
  };
  const proxy = await startProxy(registryUrl, {
    intercept: (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token' && req.method === 'POST') {
        // The OAuth2 form docker uses with an identity token (a refresh token).
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(body);
          if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== `rt-${password}`) {
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad refresh token"}]}');
            return;
          }
          const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
          tokenRequests.push({ scopes, user: 'alice' });
          const token = randomBytes(16).toString('hex');
          tokens.set(token, new Set(scopes));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 300 }));
        });
        return true;
      }
      if (url.pathname === '/token') {
        const auth = req.headers.authorization;
        let who: string | undefined;
        if (auth) {
          const [u, p] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
            .toString()
            .split(':');
          if (u !== 'alice' || p !== password) {
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
            return true;
          }
          who = u;
        }
        const scopes = url.searchParams.getAll('scope');
        tokenRequests.push({ scopes, ...(who ? { user: who } : {}) });
        const granted = new Set<string>();
        for (const s of scopes) {
          const cut = s.lastIndexOf(':');
          const actions = s
            .slice(cut + 1)
            .split(',')
            .filter((a) => a === 'pull' || (who && a !== 'pull'));
          if (actions.length) granted.add(`${s.slice(0, cut)}:${actions.join(',')}`);
        }
        const token = randomBytes(16).toString('hex');
        tokens.set(token, granted);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
        return true;
      }
      const scope = need(req.method ?? 'GET', url.pathname);
      const extra = url.searchParams.get('from') ? `repository:${url.searchParams.get('from')}:pull` : undefined;
      const granted = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      const ok = url.pathname === '/v2/' ? granted !== undefined : scope !== undefined && granted !== undefined && covers(granted, scope) && (!extra || covers(granted, extra));
      if (ok) return false;
      const host = req.headers.host;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry"${scope ? `,scope="${scope.replace(/:push$/, ':pull,push')}"` : ''}${granted ? ',error="insufficient_scope"' : ''}`,
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return true;
    },
  });
  return { proxy, tokenRequests };
};

describe.skipIf(!run)('OCI client token auth and retries against docker-registry', () => {
  let reg: DockerRegistry;

  beforeAll(async () => {
    reg = await startDockerRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('follows the Bearer token flow: basic credentials to the realm, tokens cached per scope, anonymous pull', async () => {
    const password = randomBytes(8).toString('hex');
    const { proxy, tokenRequests } = await startTokenGate(reg.url, password);
    try {
      const alice = new OciClient({ retry: fast, credentials: { [proxy.host]: { username: 'alice', password } } });
      const data = randomBytes(3000);
      const pushed = await alice.pushArtifact({
        ref: `${proxy.host}/tok/app:v1`,
        artifactType: ARTIFACT,
        layers: [
          { data, title: 'd.bin' },
          { data: 'two', title: 'two.txt' },
        ],
      });
      expect(tokenRequests.every((t) => t.user === 'alice')).toBe(true);
      expect(tokenRequests.map((t) => t.scopes)).toContainEqual(['repository:tok/app:pull,push']);
      // One token per distinct scope set, not one per request.
      expect(tokenRequests.length).toBeLessThanOrEqual(3);
      const mounted = await alice.pushArtifact({ ref: `${proxy.host}/tok/other:v1`, artifactType: ARTIFACT, layers: [{ data, title: 'd.bin' }], mountFrom: 'tok/app' });
      expect(mounted.blobs.map((b) => b.outcome)).toEqual(['mounted', 'mounted']);
      expect(tokenRequests.map((t) => t.scopes)).toContainEqual(['repository:tok/app:pull', 'repository:tok/other:pull,push']);

      const anonymous = new OciClient({ retry: fast });
      const pulled = await anonymous.pullArtifact(`${proxy.host}/tok/app:v1`);
      expect(pulled.digest).toBe(pushed.digest);
      expect(Buffer.from(pulled.layers[0].data!).equals(data)).toBe(true);
      const denied = await errorOf(anonymous.pushArtifact({ ref: `${proxy.host}/tok/app:v2`, artifactType: ARTIFACT, layers: [{ data: 'nope' }] }));
      expect(denied.code).toBe('unauthorized');
      expect(denied.message).toMatch(/failed on 127\.0\.0\.1:\d+\/tok\/app: the registry answered 401 Unauthorized .*the registry requires credentials/);

      // An identity token (what docker saves for some registries) goes to the realm as an OAuth2 refresh token.
      const viaIdentity = new OciClient({ retry: fast, credentials: { [proxy.host]: { identityToken: `rt-${password}` } } });
      const byRefresh = await viaIdentity.pushArtifact({ ref: `${proxy.host}/tok/idt:v1`, artifactType: ARTIFACT, layers: [{ data: 'via refresh token' }] });
      expect((await viaIdentity.resolve(`${proxy.host}/tok/idt:v1`))?.digest).toBe(byRefresh.digest);
      const badIdentity = await errorOf(
        new OciClient({ retry: fast, credentials: { [proxy.host]: { identityToken: 'rt-wrong' } } }).pushArtifact({ ref: `${proxy.host}/tok/idt:v2`, artifactType: ARTIFACT, layers: [{ data: 'x' }] }),
      );
      expect(badIdentity.message).toMatch(/the registry answered 401 Unauthorized \(UNAUTHORIZED: bad refresh token\): the credentials were refused$/);
      expect(badIdentity.message).not.toContain('rt-wrong');

      const wrong = new OciClient({ retry: fast, credentials: { [proxy.host]: { username: 'alice', password: 'wrong' } } });
      const refused = await errorOf(wrong.listTags(`${proxy.host}/tok/app`));
      expect(refused.message).toMatch(
        /^log in to 127\.0\.0\.1:\d+ \(token service http:\/\/127\.0\.0\.1:\d+\/token\) failed on 127\.0\.0\.1:\d+\/tok\/app: the registry answered 401 Unauthorized \(UNAUTHORIZED: bad credentials\): the credentials of 'alice' were refused$/,
      );
      expect(refused.message).not.toContain('wrong');
    } finally {
      await proxy.close();
    }
  });

  it('follows a blob redirect to another origin without sending the credentials there', async () => {
    const password = randomBytes(8).toString('hex');
    const seenAuth: (string | undefined)[] = [];
    // "Storage" on another origin, as registries redirect blob downloads to S3 and the like.
    const storage = await startProxy(reg.url, { intercept: (req) => (seenAuth.push(req.headers.authorization), false) });
    const { proxy } = await startTokenGate(reg.url, password);
    const redirecting = await startProxy(proxy.url, {
      intercept: (req, res) => {
        if (req.method !== 'GET' || !/\/blobs\/sha256:/.test(req.url ?? '')) return false;
        res.writeHead(307, { location: `${storage.url}${req.url}` }).end();
        return true;
      },
    });
    try {
      const client = new OciClient({ retry: fast, credentials: { [redirecting.host]: { username: 'alice', password } } });
      const data = randomBytes(4000);
      await client.pushArtifact({ ref: `${redirecting.host}/redir/app:v1`, artifactType: ARTIFACT, layers: [{ data }] });
      const pulled = await client.pullArtifact(`${redirecting.host}/redir/app:v1`);
      expect(Buffer.from(pulled.layers[0].data!).equals(data)).toBe(true);
      expect(seenAuth.length).toBeGreaterThan(0);
      expect(seenAuth.every((a) => a === undefined)).toBe(true);
    } finally {
      await redirecting.close();
      await proxy.close();
      await storage.close();
    }
  });

  it('retries a 503 and a 429 (honouring Retry-After) and a reset connection, then succeeds', async () => {
    let failed503 = 0;
    let failed429 = 0;
    let reset = 0;
    const proxy = await startProxy(reg.url, {
      intercept: (req, res, n) => {
        if (n === 0) {
          failed503 += 1;
          res.writeHead(503, { 'retry-after': '0' }).end('try later');
          return true;
        }
        if (req.method === 'PUT' && req.url?.includes('/blobs/uploads/') && reset === 0) {
          reset += 1;
          req.socket.destroy();
          return true;
        }
        if (req.method === 'GET' && req.url?.includes('/manifests/') && failed429 === 0) {
          failed429 += 1;
          res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
          return true;
        }
        return false;
      },
    });
    try {
      const client = new OciClient({ retry: fast });
      const data = randomBytes(20_000);
      const pushed = await client.pushArtifact({ ref: `${proxy.host}/flaky/app:v1`, artifactType: ARTIFACT, layers: [{ data, title: 'x.bin' }] });
      expect(failed503).toBe(1);
      expect(reset).toBe(1);
      const started = Date.now();
      const pulled = await client.pullArtifact(`${proxy.host}/flaky/app:v1`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(failed429).toBe(1);
      expect(pulled.digest).toBe(pushed.digest);
      expect(Buffer.from(pulled.layers[0].data!).equals(data)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('gives up after its retries with the last status, and names an unreachable registry', async () => {
    const proxy = await startProxy(reg.url, { intercept: (_req, res) => (res.writeHead(503).end(), true) });
    try {
      const client = new OciClient({ retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 100 } });
      const err = await errorOf(client.listTags(`${proxy.host}/down/app`));
      expect(err).toMatchObject({ code: 'bad_gateway', status: 502, httpStatus: 503, transient: true });
      expect(err.message).toBe(`list tags failed on ${proxy.host}/down/app: the registry answered 503 Service Unavailable`);
      expect(proxy.seen).toHaveLength(3);
    } finally {
      await proxy.close();
    }
    const closed = await startProxy(reg.url);
    const host = closed.host;
    await closed.close();
    const err = await errorOf(new OciClient({ retry: { retries: 1, baseDelayMs: 5, maxDelayMs: 100 } }).getManifest(`${host}/x/y:v1`));
    expect(err.message).toBe(`pull manifest v1 failed on ${host}/x/y: cannot reach the registry (ECONNREFUSED)`);
  });
});
