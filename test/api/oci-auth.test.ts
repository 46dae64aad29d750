import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { OciClient, imageManifest, sha256 } from '../helpers/oci.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe.each(testStores)('OCI distribution: authentication and ownership (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let aliceToken: string;
  let bobToken: string;
  let anon: OciClient;

  const tokenFor = async (auth: string | undefined, ...scopes: string[]) => {
    const q = new URLSearchParams([['service', 'agentry'], ...scopes.map((s): [string, string] => ['scope', s])]);
    const r = await new OciClient(server.url).withAuth(auth).req('GET', `/v2/token?${q.toString()}`);
    return r;
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    aliceToken = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token;
    bobToken = (await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token;
    anon = new OciClient(server.url);
  });
  afterAll(() => server.close());

  it('challenges an anonymous push with the scope it needs, and lets the Docker token flow through', async () => {
    const push = await anon.req('POST', '/v2/alice/app/blobs/uploads/');
    expect(push.status).toBe(401);
    const challenge = push.headers.get('www-authenticate')!;
    expect(challenge).toBe(`Bearer realm="${server.url}/v2/token",service="${new URL(server.url).host}",scope="repository:alice/app:pull,push"`);
    expect(push.json.errors[0].code).toBe('UNAUTHORIZED');

    const t = await tokenFor(basic('alice', aliceToken), 'repository:alice/app:pull,push');
    expect(t.status).toBe(200);
    expect(t.json.token).toMatch(/^agentry-oci\./);
    expect(t.json.access_token).toBe(t.json.token);
    expect(t.json.expires_in).toBe(300);
    expect(Date.parse(t.json.issued_at)).not.toBeNaN();
    const alice = new OciClient(server.url).withToken(t.json.token);
    expect((await alice.pushBlob('alice/app', '{}')).status).toBe(201);
    expect((await alice.pushBlob('alice/app', 'layer')).status).toBe(201);
    expect((await alice.pushManifest('alice/app', 'v1', imageManifest([{ data: 'layer' }]))).status).toBe(201);
    // The token is only for the repository it names.
    const elsewhere = await alice.pushBlob('alice/other', 'layer');
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('www-authenticate')).toContain('scope="repository:alice/other:push"');
  });

  it('names the source repository in the challenge of an anonymous mount, so the token fetched next mounts (201)', async () => {
    await new OciClient(server.url).withToken(aliceToken).pushBlob('alice/mount-src', 'shared layer');
    const url = `/v2/alice/mount-dst/blobs/uploads/?mount=${sha256('shared layer')}&from=alice/mount-src`;
    const r = await anon.req('POST', url);
    expect(r.status).toBe(401);
    const scope = /scope="([^"]*)"/.exec(r.headers.get('www-authenticate')!)![1];
    expect(scope).toBe('repository:alice/mount-dst:pull,push repository:alice/mount-src:pull');
    const t = await tokenFor(basic('alice', aliceToken), ...scope.split(' '));
    const mounted = await new OciClient(server.url).withToken(t.json.token).req('POST', url);
    expect(mounted.status).toBe(201);
    // A token without pull on the source falls back to a plain upload, as the spec allows.
    const narrow = await tokenFor(basic('alice', aliceToken), 'repository:alice/mount-dst2:pull,push');
    const fallback = await new OciClient(server.url).withToken(narrow.json.token).req('POST', url.replace('mount-dst', 'mount-dst2'));
    expect(fallback.status).toBe(202);
  });

  it('challenges an anonymous delete for the delete action, and a token for it lets the delete through', async () => {
    const del = await anon.req('DELETE', `/v2/alice/app/blobs/${sha256('layer')}`);
    expect(del.status).toBe(401);
    expect(del.headers.get('www-authenticate')).toContain('scope="repository:alice/app:delete"');
    const t = await tokenFor(basic('alice', aliceToken), 'repository:alice/app:delete');
    const r = await new OciClient(server.url).withToken(t.json.token).req('DELETE', `/v2/alice/app/blobs/${sha256('layer')}`);
    expect(r.status).toBe(202);
    await new OciClient(server.url).withToken(aliceToken).pushBlob('alice/app', 'layer');
  });

  it('pulls anonymously, with or without an anonymous token, and never pushes without one', async () => {
    expect((await anon.req('GET', '/v2/alice/app/manifests/v1')).status).toBe(200);
    const t = await tokenFor(undefined, 'repository:alice/app:pull,push');
    expect(t.status).toBe(200);
    const pullOnly = new OciClient(server.url).withToken(t.json.token);
    expect((await pullOnly.req('GET', '/v2/alice/app/manifests/v1')).status).toBe(200);
    const push = await pullOnly.pushBlob('alice/app', 'sneaky');
    expect(push.status).toBe(401);
    expect(push.json.errors[0].code).toBe('UNAUTHORIZED');
  });

  it('grants push only on scopes the token owner may write, as every door does', async () => {
    const t = await tokenFor(basic('bob', bobToken), 'repository:alice/app:pull,push', 'repository:bob/tool:push,pull');
    const bob = new OciClient(server.url).withToken(t.json.token);
    const denied = await bob.pushBlob('alice/app', 'from bob');
    expect(denied.status).toBe(401);
    expect((await bob.pushBlob('bob/tool', 'from bob')).status).toBe(201);
    // Bob's own Agentry token sent directly: a clear 403 DENIED, not a challenge.
    const direct = await new OciClient(server.url).withToken(bobToken).pushBlob('alice/app', 'from bob');
    expect(direct.status).toBe(403);
    expect(direct.json.errors[0].code).toBe('DENIED');
    expect(direct.json.errors[0].message).toMatch(/@bob/);
    const del = await new OciClient(server.url).withToken(bobToken).req('DELETE', `/v2/alice/app/manifests/v1`);
    expect(del.status).toBe(403);
  });

  it('accepts an Agentry token as Bearer, as Basic password, and as x-api-key; refuses bad ones with 401', async () => {
    expect((await new OciClient(server.url).withToken(aliceToken).req('GET', '/v2/')).status).toBe(200);
    expect((await new OciClient(server.url).withAuth(basic('anything', aliceToken)).req('GET', '/v2/')).status).toBe(200);
    expect((await anon.req('GET', '/v2/', undefined, { 'x-api-key': aliceToken })).status).toBe(200);
    expect((await new OciClient(server.url).withAuth(basic('alice', aliceToken)).pushBlob('alice/app', 'basic')).status).toBe(201);
    for (const auth of [basic('alice', 'agentry_wrong'), 'Bearer agentry_nope', 'Bearer agentry-oci.forged.sig', 'Digest abc']) {
      const r = await new OciClient(server.url).withAuth(auth).req('GET', '/v2/alice/app/manifests/v1');
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      expect(r.json.errors[0].code).toBe('UNAUTHORIZED');
    }
    const bad = await tokenFor(basic('alice', 'agentry_wrong'), 'repository:alice/app:pull');
    expect(bad.status).toBe(401);
    expect(bad.json.errors[0].code).toBe('UNAUTHORIZED');
  });

  it('refuses a tampered registry token and one whose Agentry token was revoked', async () => {
    const created = await new Api(server.url, aliceToken).req('POST', '/api/v1/tokens', { name: 'oci', permission: 'publish' });
    expect(created.status).toBe(201);
    const t = await tokenFor(basic('alice', created.body.token), 'repository:alice/app:pull,push');
    const [head, payload, sig] = t.json.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.access[0].repo = 'bob/tool';
    const forged = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    expect((await new OciClient(server.url).withToken(forged).pushBlob('bob/tool', 'x')).status).toBe(401);
    const ok = new OciClient(server.url).withToken(t.json.token);
    expect((await ok.pushBlob('alice/app', 'before revoke')).status).toBe(201);
    const id = created.body.id ?? created.body.token_id;
    expect((await new Api(server.url, aliceToken).req('DELETE', `/api/v1/tokens/${id}`)).status).toBeLessThan(300);
    const after = await ok.pushBlob('alice/app', 'after revoke');
    expect(after.status).toBe(401);
    expect(after.json.errors[0].message).toMatch(/revoked/);
  });

  it('refuses pushes with a read-only token, to a scope that does not exist, and takes the OAuth2 form', async () => {
    const read = await new Api(server.url, aliceToken).req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' });
    const ro = await new OciClient(server.url).withToken(read.body.token).pushBlob('alice/app', 'ro');
    expect(ro.status).toBe(403);
    expect(ro.json.errors[0].code).toBe('DENIED');
    const nowhere = await new OciClient(server.url).withToken(server.adminToken).pushBlob('ghost/app', 'x');
    expect(nowhere.status).toBe(404);
    expect(nowhere.json.errors[0].code).toBe('NAME_UNKNOWN');
    const form = new URLSearchParams({ grant_type: 'password', username: 'alice', password: aliceToken, scope: 'repository:alice/app:pull,push', service: 'x' });
    const r = await anon.req('POST', '/v2/token', form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(200);
    expect((await new OciClient(server.url).withToken(r.json.access_token).pushBlob('alice/app', 'oauth')).status).toBe(201);
    const refresh = await anon.req('POST', '/v2/token', 'grant_type=refresh_token&refresh_token=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(refresh.status).toBe(405);
  });
});

describe('OCI distribution on a read-only server', () => {
  it('serves pulls and refuses every push with DENIED', async () => {
    const server = await startTestServer({ readOnly: true });
    try {
      const c = new OciClient(server.url).withToken(server.adminToken);
      const r = await c.pushBlob('admin/app', 'x');
      expect(r.status).toBe(403);
      expect(r.json.errors[0].code).toBe('DENIED');
      expect((await c.req('PUT', `/v2/admin/app/manifests/v1`, JSON.stringify(imageManifest([])), { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })).status).toBe(403);
      expect((await c.req('DELETE', `/v2/admin/app/blobs/${sha256('x')}`)).status).toBe(403);
      expect((await c.req('GET', '/v2/')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
