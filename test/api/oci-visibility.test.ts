import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { OciClient, imageManifest, sha256, type OciResponse } from '../helpers/oci.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { onStore } from '../helpers/on-store.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Visibility in the OCI door (issue 12): every repository has an owner and a visibility — a
 * package's repository the package's, any other its own, set at its first push from the scope's
 * default. Every read route (manifests, blobs, tags, referrers, _catalog, mounts, the token
 * endpoint) asks the one read rule; a repository the caller may not read answers exactly as one
 * that does not exist: 401 with a challenge to anonymous callers, 404 NAME_UNKNOWN to signed-in ones.
 */

type Visibility = 'public' | 'internal' | 'private';
type Caller = 'anonymous' | 'other account' | 'org member' | 'owner' | 'admin';
const CALLERS: Caller[] = ['anonymous', 'other account', 'org member', 'owner', 'admin'];

/** Who may read an object of the org `acme` (owner alice, member carol; bob is another account). */
const mayRead = (v: Visibility, c: Caller): boolean => v === 'public' || (v === 'internal' ? c !== 'anonymous' : c !== 'anonymous' && c !== 'other account');

const basic = (user: string, token: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

/** The grants inside a registry bearer token (`agentry-oci.<claims>.<signature>`). */
const grantsOf = (token: string): Array<{ repo: string; actions: string[] }> => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).access;

interface Repo {
  name: string;
  tag: string;
  digest: string;
  blob: string;
  /** A manifest whose subject is `digest`, when the repository has one. */
  referrer?: string;
}

/** Every read route of a repository: method and path. */
const readRoutes = (name: string, r: Pick<Repo, 'tag' | 'digest' | 'blob'>): Array<[string, string]> => [
  ['GET', `/v2/${name}/manifests/${r.tag}`],
  ['HEAD', `/v2/${name}/manifests/${r.tag}`],
  ['GET', `/v2/${name}/manifests/${r.digest}`],
  ['HEAD', `/v2/${name}/manifests/${r.digest}`],
  ['GET', `/v2/${name}/blobs/${r.blob}`],
  ['HEAD', `/v2/${name}/blobs/${r.blob}`],
  ['GET', `/v2/${name}/tags/list`],
  ['GET', `/v2/${name}/referrers/${r.digest}`],
];

/** A response with the repository's name taken out: what must not differ between a hidden and a missing repository. */
const shape = (r: OciResponse, name: string) => ({
  status: r.status,
  body: r.body.toString('utf8').split(name).join('<repo>'),
  challenge: (r.headers.get('www-authenticate') ?? '').split(name).join('<repo>'),
  contentType: r.headers.get('content-type'),
});

const expectRefused = (r: OciResponse, caller: Caller, name: string, what: string) => {
  if (caller === 'anonymous') {
    expect(r.status, what).toBe(401);
    expect(r.headers.get('www-authenticate'), what).toContain(`scope="repository:${name}:pull"`);
    if (r.body.length > 0) expect(r.json.errors[0].code, what).toBe('UNAUTHORIZED');
  } else {
    expect(r.status, what).toBe(404);
    expect(r.headers.get('www-authenticate'), what).toBeNull();
    if (r.body.length > 0) expect(r.json.errors[0].code, what).toBe('NAME_UNKNOWN');
  }
};

const matrix = testStores.flatMap((store) => (['public', 'internal', 'private'] as const).map((v) => [store, v] as const));

describe.each(matrix)('OCI visibility (%s, scope default %s)', (store, visibility) => {
  let server: TestServer;
  const clients = {} as Record<Caller, OciClient>;
  const tokens = {} as Record<Caller, string | undefined>;
  const users: Record<Caller, string> = { anonymous: '', 'other account': 'bob', 'org member': 'carol', owner: 'alice', admin: 'admin' };
  let app: Repo;
  let tool: Repo;
  const tokenFor = (caller: Caller, scope: string) => {
    const t = tokens[caller];
    return clients.anonymous.req('GET', `/v2/token?service=x&scope=${encodeURIComponent(scope)}`, undefined, t ? { authorization: basic(users[caller], t) } : {});
  };

  beforeAll(async () => {
    server = await startTestServer({ store, defaultVisibility: visibility });
    const admin = new Api(server.url, server.adminToken);
    tokens.anonymous = undefined;
    tokens.admin = server.adminToken;
    for (const caller of ['other account', 'org member', 'owner'] as const) {
      const r = await admin.req('POST', '/api/v1/users', { username: users[caller] });
      expect(r.status).toBe(201);
      tokens[caller] = r.body.token as string;
    }
    for (const c of CALLERS) clients[c] = new OciClient(server.url).withToken(tokens[c]);
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'alice' })).status).toBe(201);
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(200);

    // A plain OCI repository of the org, pushed by its owner: an image, tagged, and a referrer of it.
    const alice = clients.owner;
    const layer = `layer of a ${visibility} image`;
    expect((await alice.pushBlob('acme/app', '{}')).status).toBe(201);
    expect((await alice.pushBlob('acme/app', layer)).status).toBe(201);
    const image = await alice.pushManifest('acme/app', 'v1', imageManifest([{ data: layer }]));
    expect(image.status).toBe(201);
    const digest = image.headers.get('docker-content-digest')!;
    const sbom = await alice.pushManifest(
      'acme/app',
      'sbom',
      imageManifest([], { artifactType: 'application/vnd.example.sbom', subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 } }),
    );
    expect(sbom.status).toBe(201);
    app = { name: 'acme/app', tag: 'v1', digest, blob: sha256(layer), referrer: sbom.headers.get('docker-content-digest')! };

    // A package of the org, published through the native API: its repository has the package's visibility.
    const tgz = await agentTarball({ name: 'tool', version: '1.0.0', scope: 'acme' });
    expect((await new Api(server.url, tokens.owner).publish('/api/v1/agents/@acme/tool', tgz)).status).toBe(200);
    const m = await new OciClient(server.url).withToken(server.adminToken).req('GET', '/v2/acme/tool/manifests/1.0.0');
    expect(m.status).toBe(200);
    tool = { name: 'acme/tool', tag: '1.0.0', digest: m.headers.get('docker-content-digest')!, blob: sha256(tgz) };
  });
  afterAll(() => server?.close());

  for (const caller of CALLERS) {
    it(`${caller}: manifests, blobs, tags and referrers of a ${visibility} repository and package`, async () => {
      const readable = mayRead(visibility, caller);
      for (const repo of [app, tool]) {
        for (const [method, path] of readRoutes(repo.name, repo)) {
          const r = await clients[caller].req(method, path);
          if (readable) expect(r.status, `${method} ${path}`).toBe(200);
          else expectRefused(r, caller, repo.name, `${method} ${path}`);
        }
      }
      if (readable) {
        const tags = await clients[caller].req('GET', '/v2/acme/app/tags/list');
        expect(tags.json.tags).toEqual(['sbom', 'v1']);
        const refs = await clients[caller].req('GET', `/v2/acme/app/referrers/${app.digest}`);
        expect(refs.json.manifests.map((d: { digest: string }) => d.digest)).toEqual([app.referrer]);
        expect((await clients[caller].req('GET', `/v2/acme/app/blobs/${app.blob}`)).body.toString()).toBe(`layer of a ${visibility} image`);
      }
    });

    it(`${caller}: _catalog lists the ${visibility} repositories only when readable, and pages correctly`, async () => {
      const readable = mayRead(visibility, caller);
      const all = await clients[caller].req('GET', '/v2/_catalog');
      expect(all.status).toBe(200);
      const expected = readable ? ['acme/app', 'acme/tool'] : [];
      expect(all.json.repositories.filter((n: string) => n.startsWith('acme/'))).toEqual(expected);
      // Paging by one: every page full while more follow, and together exactly the readable list.
      const seen: string[] = [];
      let next: string | null = '/v2/_catalog?n=1';
      for (let i = 0; next && i < 20; i++) {
        const page: OciResponse = await clients[caller].req('GET', next);
        expect(page.status).toBe(200);
        seen.push(...page.json.repositories);
        const link = page.headers.get('link');
        if (link) expect(page.json.repositories).toHaveLength(1);
        next = link ? /<([^>]+)>/.exec(link)![1] : null;
      }
      expect(seen).toEqual(all.json.repositories);
    });

    it(`${caller}: the token endpoint grants pull on a ${visibility} repository only when readable`, async () => {
      const readable = mayRead(visibility, caller);
      for (const repo of [app, tool]) {
        const t = await tokenFor(caller, `repository:${repo.name}:pull`);
        expect(t.status).toBe(200);
        expect(grantsOf(t.json.token)).toEqual([{ repo: repo.name, actions: readable ? ['pull'] : [] }]);
        const withToken = new OciClient(server.url).withToken(t.json.token);
        const r = await withToken.req('GET', `/v2/${repo.name}/manifests/${repo.tag}`);
        if (readable) expect(r.status).toBe(200);
        else expectRefused(r, caller, repo.name, `GET with a registry token of ${caller}`);
      }
      // Push and delete stay with those who may write the scope (the org's owners and maintainers, and
      // admins); a member (carol) reads the org's private objects but writes nothing.
      const t = await tokenFor(caller, 'repository:acme/app:pull,push,delete');
      const writer = caller === 'owner' || caller === 'admin';
      expect(grantsOf(t.json.token)[0].actions).toEqual(writer ? ['pull', 'push', 'delete'] : readable ? ['pull'] : []);
    });

    if (caller !== 'anonymous') {
      it(`${caller}: mounts a blob from a ${visibility} repository only when readable (else an upload starts, as for a missing one)`, async () => {
        const readable = mayRead(visibility, caller);
        const target = `${users[caller]}/mounted`;
        const r = await clients[caller].req('POST', `/v2/${target}/blobs/uploads/?mount=${app.blob}&from=acme/app`);
        expect(r.status).toBe(readable ? 201 : 202);
        const missing = await clients[caller].req('POST', `/v2/${target}/blobs/uploads/?mount=${app.blob}&from=acme/nothing-here`);
        expect(missing.status).toBe(202);
        const after = await clients[caller].req('HEAD', `/v2/${target}/blobs/${app.blob}`);
        expect(after.status).toBe(readable ? 200 : 404);
      });
    }
  }

  it('reads internal and private repositories with a scope-restricted token only in its scopes', async () => {
    const made = await new Api(server.url, tokens.owner).req('POST', '/api/v1/tokens', { name: 'only-alice', permission: 'read', scopes: ['alice'] });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const restricted = new OciClient(server.url).withToken(made.body.token as string);
    const r = await restricted.req('GET', `/v2/acme/app/manifests/v1`);
    if (visibility === 'public') expect(r.status).toBe(200);
    else expectRefused(r, 'other account', 'acme/app', 'a token restricted to @alice');
    expect((await restricted.req('GET', '/v2/_catalog')).json.repositories.includes('acme/app')).toBe(visibility === 'public');
  });

  it('answers a repository the caller may not read exactly as one that does not exist', async () => {
    for (const caller of CALLERS.filter((c) => !mayRead(visibility, c))) {
      for (const [hidden, missingName] of [
        [app, 'acme/nothing-here'],
        [tool, 'acme/nothing-either'],
        [app, 'nosuchscope/app'],
      ] as const) {
        const a = readRoutes(hidden.name, hidden);
        const b = readRoutes(missingName, hidden);
        for (let i = 0; i < a.length; i++) {
          const x = await clients[caller].req(a[i][0], a[i][1]);
          const y = await clients[caller].req(b[i][0], b[i][1]);
          expect(shape(x, hidden.name), `${caller} ${a[i].join(' ')}`).toEqual(shape(y, missingName));
        }
        const tx = await tokenFor(caller, `repository:${hidden.name}:pull`);
        const ty = await tokenFor(caller, `repository:${missingName}:pull`);
        expect(grantsOf(tx.json.token)[0].actions).toEqual(grantsOf(ty.json.token)[0].actions);
      }
    }
  });
});

describe.each(testStores)('OCI visibility: a closed server (--auth-required-for-reads) (%s)', (store) => {
  let server: TestServer;
  let anon: OciClient;
  let bob: OciClient;
  let bobToken: string;

  beforeAll(async () => {
    server = await startTestServer({ store, authRequiredForReads: true });
    const admin = new Api(server.url, server.adminToken);
    const alice = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string;
    bobToken = (await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token as string;
    const oci = new OciClient(server.url).withToken(alice);
    expect((await oci.pushBlob('alice/open', 'public bytes')).status).toBe(201);
    expect((await oci.pushManifest('alice/open', 'v1', imageManifest([{ data: 'public bytes' }]))).status).toBe(201);
    anon = new OciClient(server.url);
    bob = new OciClient(server.url).withToken(bobToken);
  });
  afterAll(() => server?.close());

  it('refuses every anonymous read of a public repository with a 401 challenge, and serves signed-in callers', async () => {
    for (const [method, path] of readRoutes('alice/open', { tag: 'v1', digest: sha256('x'), blob: sha256('public bytes') }).filter(
      ([, p]) => !p.includes('/manifests/sha256') && !p.includes('/referrers/'),
    )) {
      const r = await anon.req(method, path);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers.get('www-authenticate')).toContain('scope="repository:alice/open:pull"');
      expect((await bob.req(method, path)).status, `${method} ${path}`).toBe(200);
    }
    const catalog = await anon.req('GET', '/v2/_catalog');
    expect(catalog.status).toBe(401);
    expect(catalog.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect((await bob.req('GET', '/v2/_catalog')).json.repositories).toEqual(['alice/open']);
  });

  it('grants an anonymous token nothing, and a signed-in caller pull', async () => {
    const t = await anon.req('GET', '/v2/token?scope=repository:alice/open:pull');
    expect(t.status).toBe(200);
    expect(grantsOf(t.json.token)).toEqual([{ repo: 'alice/open', actions: [] }]);
    const r = await new OciClient(server.url).withToken(t.json.token).req('GET', '/v2/alice/open/manifests/v1');
    expect(r.status).toBe(401);
    const signed = await anon.req('GET', '/v2/token?scope=repository:alice/open:pull', undefined, { authorization: basic('bob', bobToken) });
    expect(grantsOf(signed.json.token)).toEqual([{ repo: 'alice/open', actions: ['pull'] }]);
  });
});

describe.each(testStores)('OCI visibility: repositories pushed before visibility came (%s)', (store) => {
  /** Takes a store back to before migration 0013 (no repository records), as an older Agentry left it. */
  const forgetRecords = async (server: TestServer) => {
    const statements = ['DROP TABLE oci_repositories', "DELETE FROM agentry_migrations WHERE name = '0013-oci-repositories'"];
    await onStore(store, server.dataDir, server.schema, statements);
  };

  it('keeps them public (they were), while new ones take the scope default', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-ociv-'));
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const first = await startTestServer({ store, dataDir, postgresSchema: schema, defaultVisibility: 'private' });
    let second: TestServer | undefined;
    try {
      const admin = new OciClient(first.url).withToken(first.adminToken);
      expect((await admin.pushBlob('admin/old', 'old bytes')).status).toBe(201);
      expect((await admin.pushManifest('admin/old', 'v1', imageManifest([{ data: 'old bytes' }]))).status).toBe(201);
      expect((await new OciClient(first.url).req('GET', '/v2/admin/old/manifests/v1')).status).toBe(401);
      await first.close();
      await forgetRecords(first);
      second = await startTestServer({ store, dataDir, adminToken: first.adminToken, postgresSchema: schema, defaultVisibility: 'private' });
      const anon = new OciClient(second.url);
      expect((await anon.req('GET', '/v2/admin/old/manifests/v1')).status).toBe(200);
      expect((await anon.req('GET', `/v2/admin/old/blobs/${sha256('old bytes')}`)).body.toString()).toBe('old bytes');
      const again = new OciClient(second.url).withToken(first.adminToken);
      expect((await again.pushBlob('admin/new', 'new bytes')).status).toBe(201);
      expect((await again.pushManifest('admin/new', 'v1', imageManifest([{ data: 'new bytes' }]))).status).toBe(201);
      expect((await anon.req('GET', '/v2/admin/new/manifests/v1')).status).toBe(401);
      expect((await anon.req('GET', '/v2/_catalog')).json.repositories).toEqual(['admin/old']);
    } finally {
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (store === 'postgres') await dropTestSchema(schema);
    }
  });
});
