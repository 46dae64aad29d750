import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { OciClient, type OciResponse } from '../helpers/oci.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * An agentspace's visibility (private | internal | public) through the one read rule (issue 12):
 * published into this server's /v2/, its repository is exactly as visible as the agentspace, and
 * follows it when it changes. The audit's case: a private agentspace, published, then read
 * anonymously through /v2/ and pulled by another user — both refused, as if it did not exist.
 */
describe.each(testStores)('agentspaces: visibility of what is published to /v2/ (%s)', (store) => {
  let server: TestServer;
  let host: string;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let carol: Api;
  let anon: OciClient;
  const oci = {} as Record<'alice' | 'bob' | 'carol' | 'admin', OciClient>;

  /** A validated agentspace with one agent and the secret it uses, published at 1.0.0 (into `repository`, when given). */
  const publishSpace = async (id: string, name: string, visibility?: string, repository?: string) => {
    const created = await alice.req('POST', '/registry/', { agentspace_id: id, name, namespace: 'prod', ...(visibility ? { visibility } : {}) });
    expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
    expect((await alice.req('POST', `/registry/agent?agentspace_id=${id}`, exampleAgent())).status).toBeLessThan(300);
    expect((await alice.req('POST', `/registry/secret?agentspace_id=${id}`, { secret: { key: 'OPENAI_API_KEY', scope: 'shared' }, value: 'sk-value' })).status).toBeLessThan(300);
    const r = await alice.req('PUT', `/registry/publish?agentspace_id=${id}&tag=1.0.0${repository ? `&repository=${repository}` : ''}`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { reference: string; digest: string };
  };

  const pull = (who: Api, id: string, target: string) => who.req('POST', `/registry/pull?agentspace_id=${id}&target=${encodeURIComponent(`${host}/${target}`)}`);
  const hide = (body: unknown, ...names: string[]) => names.reduce((s, n) => s.split(n).join('<repo>'), JSON.stringify(body));
  const layersOf = async (repo: string): Promise<string[]> => {
    const m = await oci.alice.req('GET', `/v2/${repo}/manifests/1.0.0`);
    expect(m.status).toBe(200);
    return (m.json.layers as Array<{ digest: string }>).map((l) => l.digest);
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    host = new URL(server.url).host;
    admin = new Api(server.url, server.adminToken);
    const token = async (name: string) => {
      const r = await admin.req('POST', '/api/v1/users', { username: name });
      expect(r.status).toBe(201);
      return r.body.token as string;
    };
    alice = admin.with(await token('alice'));
    bob = admin.with(await token('bob'));
    carol = admin.with(await token('carol'));
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'alice' })).status).toBe(201);
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(200);
    anon = new OciClient(server.url);
    oci.alice = anon.withToken(alice.token);
    oci.bob = anon.withToken(bob.token);
    oci.carol = anon.withToken(carol.token);
    oci.admin = anon.withToken(server.adminToken);
    await publishSpace('plans', 'Secret Plans');
    await publishSpace('org', 'Org Space', 'private', 'acme/org-space');
    await publishSpace('shared', 'Shared Stuff', 'internal');
  });
  afterAll(() => server?.close());

  it('the audit: a private agentspace, published, is not readable anonymously through /v2/ (manifest, blobs, tags, catalog)', async () => {
    const repo = 'alice/secret-plans';
    const reads: Array<[string, string]> = [
      ['GET', `/v2/${repo}/manifests/1.0.0`],
      ['HEAD', `/v2/${repo}/manifests/latest`],
      ['GET', `/v2/${repo}/tags/list`],
      ...(await layersOf(repo)).map((d): [string, string] => ['GET', `/v2/${repo}/blobs/${d}`]),
    ];
    for (const [method, path] of reads) {
      const r = await anon.req(method, path);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers.get('www-authenticate')).toContain(`scope="repository:${repo}:pull"`);
      const same = await anon.req(method, path.replace(repo, 'alice/never-published'));
      expect(same.status).toBe(401);
      // Bob, signed in, learns no more: NAME_UNKNOWN, as for a repository that does not exist.
      const b = await oci.bob.req(method, path);
      expect(b.status, `bob ${method} ${path}`).toBe(404);
      const missing = await oci.bob.req(method, path.replace(repo, 'alice/never-published'));
      expect(hide(b.body.toString(), repo, 'alice/never-published')).toEqual(hide(missing.body.toString(), repo, 'alice/never-published'));
      expect((await oci.admin.req(method, path)).status, `admin ${method} ${path}`).toBe(200);
    }
    const catalog = await anon.req('GET', '/v2/_catalog');
    expect(catalog.json.repositories).not.toContain(repo);
    const token = await anon.req('GET', `/v2/token?scope=repository:${repo}:pull`);
    expect(JSON.parse(Buffer.from(token.json.token.split('.')[1], 'base64url').toString()).access).toEqual([{ repo, actions: [] }]);
  });

  it('the audit: another user cannot pull a private agentspace into their own — it fails as if it did not exist', async () => {
    const hidden = await pull(bob, 'stolen', 'alice/secret-plans:1.0.0');
    expect(hidden.status).toBe(404);
    const missing = await pull(bob, 'stolen', 'alice/never-published:1.0.0');
    expect(missing.status).toBe(404);
    expect(hide(hidden.body, 'alice/secret-plans', 'alice/never-published')).toEqual(hide(missing.body, 'alice/secret-plans', 'alice/never-published'));
    expect((await bob.req('GET', '/registry/?agentspace_id=stolen')).status).toBe(404);
    // Its owner pulls it.
    const own = await pull(alice, 'copy-of-plans', 'alice/secret-plans:1.0.0');
    expect(own.status, JSON.stringify(own.body)).toBe(200);
  });

  it('GET /registry/repositories and /registry/tags show only what the caller may read', async () => {
    const list = async (who: Api) => {
      const r = await who.req('GET', '/registry/repositories');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.repositories as string[]).filter((n) => !n.startsWith('bob/') && !n.startsWith('carol/')).sort();
    };
    expect(await list(alice)).toEqual(['acme/org-space', 'alice/secret-plans', 'alice/shared-stuff']);
    expect(await list(carol)).toEqual(['acme/org-space', 'alice/shared-stuff']);
    expect(await list(bob)).toEqual(['alice/shared-stuff']);
    expect(await list(admin)).toEqual(['acme/org-space', 'alice/secret-plans', 'alice/shared-stuff']);

    const tags = (who: Api, repo: string) => who.req('GET', `/registry/tags?repo_id=${encodeURIComponent(repo)}`);
    expect((await tags(alice, 'alice/secret-plans')).body.tags).toEqual(['1.0.0', 'latest']);
    const hidden = await tags(bob, 'alice/secret-plans');
    const missing = await tags(bob, 'alice/never-published');
    expect(hidden.status).toBe(404);
    expect(hide(hidden.body, 'alice/secret-plans', 'alice/never-published')).toEqual(hide(missing.body, 'alice/secret-plans', 'alice/never-published'));
    expect((await tags(carol, 'acme/org-space')).status).toBe(200);
    expect((await tags(bob, 'acme/org-space')).status).toBe(404);
    expect((await tags(bob, 'alice/shared-stuff')).status).toBe(200);
  });

  it('a private agentspace published into an org scope is read by the org, not by others', async () => {
    expect((await pull(carol, 'from-org', 'acme/org-space:1.0.0')).status).toBe(200);
    expect((await pull(bob, 'from-org', 'acme/org-space:1.0.0')).status).toBe(404);
    expect((await oci.carol.req('GET', '/v2/acme/org-space/manifests/1.0.0')).status).toBe(200);
    expect((await oci.bob.req('GET', '/v2/acme/org-space/manifests/1.0.0')).status).toBe(404);
    expect((await anon.req('GET', '/v2/acme/org-space/manifests/1.0.0')).status).toBe(401);
  });

  it('an internal agentspace is read by every signed-in account, never anonymously', async () => {
    expect((await pull(bob, 'from-shared', 'alice/shared-stuff:1.0.0')).status).toBe(200);
    expect((await oci.bob.req('GET', '/v2/alice/shared-stuff/manifests/1.0.0')).status).toBe(200);
    expect((await anon.req('GET', '/v2/alice/shared-stuff/manifests/1.0.0')).status).toBe(401);
    expect((await anon.req('GET', '/v2/_catalog')).json.repositories).not.toContain('alice/shared-stuff');
    expect((await oci.bob.req('GET', '/v2/_catalog')).json.repositories).toContain('alice/shared-stuff');
  });

  it("changing an agentspace's visibility changes its published repositories'", async () => {
    const manifest = '/v2/alice/secret-plans/manifests/1.0.0';
    const set = async (visibility: string) => {
      const r = await alice.req('PUT', '/registry/', { agentspace_id: 'plans', visibility });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.visibility).toBe(visibility);
    };
    await set('public');
    expect((await anon.req('GET', manifest)).status).toBe(200);
    expect((await anon.req('GET', '/v2/_catalog')).json.repositories).toContain('alice/secret-plans');
    expect((await pull(bob, 'plans-public', 'alice/secret-plans:1.0.0')).status).toBe(200);
    await set('internal');
    expect((await anon.req('GET', manifest)).status).toBe(401);
    expect((await oci.bob.req('GET', manifest)).status).toBe(200);
    await set('private');
    expect((await anon.req('GET', manifest)).status).toBe(401);
    expect((await oci.bob.req('GET', manifest)).status).toBe(404);
    expect((await pull(bob, 'plans-again', 'alice/secret-plans:1.0.0')).status).toBe(404);
    // Published again while private, it stays private.
    expect((await alice.req('PUT', '/registry/publish?agentspace_id=plans&tag=1.1.0', {})).status).toBe(200);
    expect((await anon.req('GET', '/v2/alice/secret-plans/manifests/1.1.0')).status).toBe(401);
    // An unknown visibility is refused.
    expect((await alice.req('PUT', '/registry/', { agentspace_id: 'plans', visibility: 'nobody' })).status).toBe(400);
  });

  it('a deleted agentspace leaves its repositories as they were, and a new one of the same id does not steer them', async () => {
    await publishSpace('gone', 'Gone Space', 'private');
    expect((await alice.req('DELETE', '/registry/?agentspace_id=gone')).status).toBe(200);
    expect((await anon.req('GET', '/v2/alice/gone-space/manifests/1.0.0')).status).toBe(401);
    expect((await alice.req('POST', '/registry/', { agentspace_id: 'gone', name: 'Other Space', namespace: 'prod' })).status).toBe(201);
    expect((await alice.req('PUT', '/registry/', { agentspace_id: 'gone', visibility: 'public' })).status).toBe(200);
    expect((await anon.req('GET', '/v2/alice/gone-space/manifests/1.0.0')).status).toBe(401);
  });

  it('a public agentspace published into a new repository is public from its first byte', async () => {
    await publishSpace('open', 'Open Space', 'public');
    const r: OciResponse = await anon.req('GET', '/v2/alice/open-space/manifests/1.0.0');
    expect(r.status).toBe(200);
    expect((await pull(bob, 'from-open', 'alice/open-space:1.0.0')).status).toBe(200);
  });
});
