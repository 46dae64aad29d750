import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { praisonBundle, praisonMultipart, sha256Hex } from '../helpers/praison-bundle.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe.each(testStores)('PraisonAI recipe registry door, seed 001 (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let anon: Api;

  /** `curl -X POST …/v1/recipes/<name>/<version> -H "Content-Type: application/json" -d '{"bundle": "<base64>"}'` */
  const publishJson = (api: Api, name: string, version: string, bundle: Buffer | string, force?: boolean) =>
    api.req('POST', `/v1/recipes/${name}/${version}`, {
      bundle: typeof bundle === 'string' ? bundle : bundle.toString('base64'),
      ...(force !== undefined ? { force } : {}),
    });
  const publishMultipart = (api: Api, name: string, version: string, bundle: Buffer, force: boolean) => {
    const { body, contentType } = praisonMultipart(bundle, force);
    return api.req('POST', `/v1/recipes/${name}/${version}`, body, { 'content-type': contentType });
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    const a = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    const b = await admin.req('POST', '/api/v1/users', { username: 'bob' });
    alice = admin.with(a.body.token);
    bob = admin.with(b.body.token);
    // The recipe scope is an org created at first start; its maintainers may publish recipes.
    expect((await admin.req('PUT', '/api/v1/orgs/recipes/members/alice', { role: 'maintainer' })).status).toBe(200);
  });
  afterAll(async () => {
    await server.close();
  });

  it('GET /healthz answers 001 fields and keeps ok: true', async () => {
    const r = await anon.req('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, status: 'healthy', auth_required: true, read_only: false });
    expect(r.body.version).toEqual(expect.any(String));
  });

  describe('the documented examples', () => {
    let bundle: Buffer;
    let published: { checksum: string; published_at: string };

    beforeAll(async () => {
      bundle = await praisonBundle({ name: 'my-agent', version: '1.0.0', author: 'praison' });
    });

    it('POST /v1/recipes/my-agent/1.0.0 with a JSON base64 bundle answers 201 and the publish fields', async () => {
      const r = await publishJson(alice, 'my-agent', '1.0.0', bundle);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toEqual({ ok: true, name: 'my-agent', version: '1.0.0', checksum: `sha256:${sha256Hex(bundle)}`, published_at: expect.stringMatching(ISO) });
      published = r.body;
    });

    it("GET /v1/recipes as the seed's playground line sends it (a JSON header and body on a GET) lists too", async () => {
      // fetch refuses a GET with a body: send it the way curl does.
      const body = Buffer.from('\n{\n  "bundle": "<string>",\n  "force": true\n}\n');
      const res = await urllib(server.url, 'GET', '/v1/recipes', { body, userAgent: 'curl/8.5.0' });
      const r = { status: res.status, body: JSON.parse(res.body.toString()) };
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ recipes: [expect.objectContaining({ name: 'my-agent' })], total: 1 });
    });

    it('GET /v1/recipes lists recipes with name, version, description, tags and total', async () => {
      const r = await anon.req('GET', '/v1/recipes');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        recipes: [{ name: 'my-agent', version: '1.0.0', description: 'A helpful AI agent', tags: ['agent', 'assistant'] }],
        total: 1,
      });
    });

    it('GET /v1/recipes/my-agent answers name, latest and the versions map', async () => {
      const r = await anon.req('GET', '/v1/recipes/my-agent');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        name: 'my-agent',
        latest: '1.0.0',
        versions: { '1.0.0': { checksum: published.checksum, published_at: published.published_at } },
      });
      expect(r.body.versions['1.0.0'].checksum).toMatch(/^sha256:[a-f0-9]{64}$/);
    });

    it('GET /v1/recipes/my-agent/1.0.0 answers the version with its manifest', async () => {
      const r = await anon.req('GET', '/v1/recipes/my-agent/1.0.0');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        name: 'my-agent',
        version: '1.0.0',
        checksum: published.checksum,
        published_at: published.published_at,
        manifest: { description: 'A helpful AI agent', tags: ['agent', 'assistant'], author: 'praison' },
      });
    });

    it('GET …/download answers the bundle as application/gzip with ETag "sha256:…", and 304 on If-None-Match', async () => {
      const res = await fetch(`${server.url}/v1/recipes/my-agent/1.0.0/download`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/gzip');
      expect(res.headers.get('etag')).toBe(`"${published.checksum}"`);
      expect(Buffer.from(await res.arrayBuffer()).equals(bundle)).toBe(true);

      const again = await fetch(`${server.url}/v1/recipes/my-agent/1.0.0/download`, { headers: { 'if-none-match': `"${published.checksum}"` } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      const stale = await fetch(`${server.url}/v1/recipes/my-agent/1.0.0/download`, { headers: { 'if-none-match': '"sha256:0000"' } });
      expect(stale.status).toBe(200);
      await stale.arrayBuffer();
    });

    it('GET /v1/search?q=agent answers a list of matches', async () => {
      const r = await anon.req('GET', '/v1/search?q=agent');
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ name: 'my-agent', version: '1.0.0', description: 'A helpful AI agent', tags: ['agent', 'assistant'] }]);
      expect((await anon.req('GET', '/v1/search?q=nothingmatchesthis')).body).toEqual([]);
    });

    it('DELETE /v1/recipes/my-agent/1.0.0 answers ok and a message, and the recipe is gone', async () => {
      const r = await alice.req('DELETE', '/v1/recipes/my-agent/1.0.0');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ok: true, message: 'Deleted my-agent@1.0.0' });
      expect((await anon.req('GET', '/v1/recipes/my-agent/1.0.0')).status).toBe(404);
      expect((await anon.req('GET', '/v1/recipes')).body.recipes.map((x: { name: string }) => x.name)).not.toContain('my-agent');
    });

    it('answers errors as {"error": "...", "code": N}', async () => {
      const r = await anon.req('GET', '/v1/recipes/no-such-recipe');
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: 'Recipe not found: no-such-recipe', code: 404 });
      const v = await anon.req('GET', '/v1/recipes/my-agent/9.9.9');
      expect(v.status).toBe(404);
      expect(v.body).toEqual({ error: expect.any(String), code: 404 });
      const route = await anon.req('GET', '/v1/nothing-here');
      expect(route.body).toEqual({ error: expect.any(String), code: 404 });
    });
  });

  describe('publishing', () => {
    it('needs a token for publish and delete, and none for reads', async () => {
      const bundle = await praisonBundle({ name: 'guarded', version: '1.0.0' });
      const noToken = await publishJson(anon, 'guarded', '1.0.0', bundle);
      expect(noToken.status).toBe(401);
      expect(noToken.body).toEqual({ error: expect.stringMatching(/Authentication required/), code: 401 });
      const badToken = await publishJson(anon.with('agentry_not-a-real-token'), 'guarded', '1.0.0', bundle);
      expect(badToken.status).toBe(401);
      expect(badToken.body.code).toBe(401);
      expect((await publishJson(alice, 'guarded', '1.0.0', bundle)).status).toBe(201);
      const del = await anon.req('DELETE', '/v1/recipes/guarded/1.0.0');
      expect(del.status).toBe(401);
      expect(del.body.code).toBe(401);
      expect((await anon.req('GET', '/v1/recipes/guarded')).status).toBe(200);
      expect((await anon.req('GET', '/v1/recipes/guarded/1.0.0/download')).status).toBe(200);
    });

    it('refuses a user who may not write to the recipe scope (403), and lets an admin', async () => {
      const bundle = await praisonBundle({ name: 'scoped', version: '1.0.0' });
      const r = await publishJson(bob, 'scoped', '1.0.0', bundle);
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: expect.stringMatching(/only publish under/), code: 403 });
      expect((await publishJson(admin, 'scoped', '1.0.0', bundle)).status).toBe(201);
    });

    it('takes the multipart upload of the praisonai client (force field, bundle file)', async () => {
      const bundle = await praisonBundle({ name: 'multi', version: '0.1.0', tags: ['multipart'] });
      const r = await publishMultipart(alice, 'multi', '0.1.0', bundle, false);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toEqual({ ok: true, name: 'multi', version: '0.1.0', checksum: `sha256:${sha256Hex(bundle)}`, published_at: expect.stringMatching(ISO) });
      // A multipart text field with base64 is a bundle too (curl -F bundle=…).
      const other = await praisonBundle({ name: 'multi', version: '0.2.0' });
      const form = new FormData();
      form.set('bundle', other.toString('base64'));
      expect((await alice.req('POST', '/v1/recipes/multi/0.2.0', form)).status).toBe(201);
    });

    it('answers 409 for an existing version unless force, which replaces its content and is audited', async () => {
      const first = await praisonBundle({ name: 'forced', version: '1.0.0', description: 'First cut' });
      const second = await praisonBundle({ name: 'forced', version: '1.0.0', description: 'Second cut', tags: ['v2'] });
      expect((await publishJson(alice, 'forced', '1.0.0', first)).status).toBe(201);

      const conflict = await publishJson(alice, 'forced', '1.0.0', second);
      expect(conflict.status).toBe(409);
      expect(conflict.body).toEqual({ error: 'Recipe forced@1.0.0 already exists. Publish with force to replace its content, or bump the version number.', code: 409 });
      const conflictMp = await publishMultipart(alice, 'forced', '1.0.0', second, false);
      expect(conflictMp.status).toBe(409);
      expect((await publishJson(alice, 'forced', '1.0.0', second, false)).status).toBe(409);
      expect((await anon.req('GET', '/v1/recipes/forced/1.0.0')).body.checksum).toBe(`sha256:${sha256Hex(first)}`);

      const forced = await publishJson(alice, 'forced', '1.0.0', second, true);
      expect(forced.status, JSON.stringify(forced.body)).toBe(201);
      expect(forced.body.checksum).toBe(`sha256:${sha256Hex(second)}`);
      const info = await anon.req('GET', '/v1/recipes/forced');
      expect(info.body).toMatchObject({ latest: '1.0.0', description: 'Second cut', tags: ['v2'] });
      expect(Object.keys(info.body.versions)).toEqual(['1.0.0']);
      const dl = await fetch(`${server.url}/v1/recipes/forced/1.0.0/download`);
      expect(dl.headers.get('etag')).toBe(`"sha256:${sha256Hex(second)}"`);
      expect(Buffer.from(await dl.arrayBuffer()).equals(second)).toBe(true);
      // The old ETag no longer matches: a client holding the old bytes downloads the new ones.
      expect((await fetch(`${server.url}/v1/recipes/forced/1.0.0/download`, { headers: { 'if-none-match': `"sha256:${sha256Hex(first)}"` } })).status).toBe(200);

      const mp = await publishMultipart(alice, 'forced', '1.0.0', first, true);
      expect(mp.status).toBe(201);
      expect(mp.body.checksum).toBe(`sha256:${sha256Hex(first)}`);

      const audit = await admin.req('GET', '/api/v1/audit?action=package.republish');
      expect(audit.body.entries[0]).toMatchObject({
        actor: 'alice',
        action: 'package.republish',
        target: '@recipes/forced@1.0.0',
        details: { digest: `sha256:${sha256Hex(first)}`, previous_digest: `sha256:${sha256Hex(second)}` },
      });
      expect(audit.body.total).toBe(2);
    });

    it('never reuses a deleted version, even with force', async () => {
      const bundle = await praisonBundle({ name: 'burned', version: '1.0.0' });
      expect((await publishJson(alice, 'burned', '1.0.0', bundle)).status).toBe(201);
      expect((await alice.req('DELETE', '/v1/recipes/burned/1.0.0')).status).toBe(200);
      const again = await publishJson(alice, 'burned', '1.0.0', bundle, true);
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(/can never be reused/);
      expect((await alice.req('DELETE', '/v1/recipes/burned/1.0.0')).status).toBe(404);
    });

    it('deletes every version of a recipe with DELETE /v1/recipes/:name, numbers never reused', async () => {
      for (const v of ['1.0.0', '1.1.0']) {
        expect((await publishJson(alice, 'whole', v, await praisonBundle({ name: 'whole', version: v }))).status).toBe(201);
      }
      expect((await anon.req('DELETE', '/v1/recipes/whole')).status).toBe(401);
      expect((await bob.req('DELETE', '/v1/recipes/whole')).status).toBe(403);
      const r = await alice.req('DELETE', '/v1/recipes/whole');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ok: true, deleted: 'whole', message: 'Deleted whole (2 versions)' });
      expect((await anon.req('GET', '/v1/recipes/whole')).body).toEqual({ error: 'Recipe not found: whole', code: 404 });
      expect((await anon.req('GET', '/v1/recipes?limit=1000')).body.recipes.map((x: { name: string }) => x.name)).not.toContain('whole');
      expect((await alice.req('DELETE', '/v1/recipes/whole')).status).toBe(404);
      expect((await publishJson(alice, 'whole', '1.1.0', await praisonBundle({ name: 'whole', version: '1.1.0' }), true)).status).toBe(409);
      expect((await publishJson(alice, 'whole', '2.0.0', await praisonBundle({ name: 'whole', version: '2.0.0' }))).status).toBe(201);
      const info = await anon.req('GET', '/v1/recipes/whole');
      expect(info.body).toMatchObject({ latest: '2.0.0' });
      expect(Object.keys(info.body.versions)).toEqual(['2.0.0']);
    });

    it('answers latest as the highest semver, not the last published', async () => {
      for (const v of ['1.2.0', '1.10.0', '1.9.0', '2.0.0-rc.1']) {
        expect((await publishJson(alice, 'semver-order', v, await praisonBundle({ name: 'semver-order', version: v }))).status).toBe(201);
      }
      const info = await anon.req('GET', '/v1/recipes/semver-order');
      expect(info.body.latest).toBe('1.10.0');
      expect(Object.keys(info.body.versions)).toEqual(['2.0.0-rc.1', '1.10.0', '1.9.0', '1.2.0']);
      expect((await anon.req('GET', '/v1/search?q=semver')).body[0].version).toBe('1.10.0');
      expect((await alice.req('DELETE', '/v1/recipes/semver-order/1.10.0')).status).toBe(200);
      expect((await anon.req('GET', '/v1/recipes/semver-order')).body.latest).toBe('1.9.0');
    });

    it('takes names of up to 128 characters, as PraisonAI does', async () => {
      const name = `r${'x'.repeat(126)}9`;
      expect(name).toHaveLength(128);
      expect((await publishJson(alice, name, '1.0.0', await praisonBundle({ name, version: '1.0.0' }))).status).toBe(201);
      const info = await anon.req('GET', `/v1/recipes/${name}`);
      expect(info.status).toBe(200);
      expect(info.body.name).toBe(name);
      expect((await anon.req('GET', `/v1/recipes/${name}/1.0.0/download`)).status).toBe(200);
    });
  });

  describe('bad input, with nothing written', () => {
    const refused = async (r: { status: number; body: any }, status: number, pattern: RegExp, name: string) => {
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body).toEqual({ error: expect.stringMatching(pattern), code: status });
      expect((await anon.req('GET', `/v1/recipes/${name}`)).status).toBe(404);
    };

    it('bad base64', async () => {
      await refused(await publishJson(alice, 'bad-b64', '1.0.0', 'this is not base64!'), 400, /base64/, 'bad-b64');
      await refused(await publishJson(alice, 'bad-b64', '1.0.0', 'abc'), 400, /base64/, 'bad-b64');
      await refused(await publishJson(alice, 'bad-b64', '1.0.0', ''), 400, /./, 'bad-b64');
      await refused(await alice.req('POST', '/v1/recipes/bad-b64/1.0.0', { force: true }), 400, /bundle/, 'bad-b64');
      await refused(await alice.req('POST', '/v1/recipes/bad-b64/1.0.0', '{"bundle":', { 'content-type': 'application/json' }), 400, /JSON/, 'bad-b64');
    });

    it('a bundle that is not a gzip tarball, or has no manifest.json', async () => {
      await refused(await publishJson(alice, 'bad-bundle', '1.0.0', Buffer.from('plain text, not gzip')), 400, /gzip/, 'bad-bundle');
      const noManifest = await agentTarball({ name: 'bad-bundle', version: '1.0.0', scope: 'recipes' });
      await refused(await publishJson(alice, 'bad-bundle', '1.0.0', noManifest), 400, /manifest\.json/, 'bad-bundle');
      const notJson = await praisonBundle({ name: 'bad-bundle', version: '1.0.0', edit: (m) => Object.assign(m, { files: 'nope' }) });
      await refused(await publishJson(alice, 'bad-bundle', '1.0.0', notJson), 400, /files/, 'bad-bundle');
      const noCreated = await praisonBundle({ name: 'bad-bundle', version: '1.0.0', edit: (m) => delete m.created_at });
      await refused(await publishJson(alice, 'bad-bundle', '1.0.0', noCreated), 400, /created_at/, 'bad-bundle');
      const notSemver = await praisonBundle({ name: 'bad-bundle', version: '1.0' });
      await refused(await publishJson(alice, 'bad-bundle', '1.0', notSemver), 400, /semver/, 'bad-bundle');
    });

    it('a listed file whose sha256 differs, or that is missing', async () => {
      const mismatch = await praisonBundle({
        name: 'tampered',
        version: '1.0.0',
        edit: (m) => {
          (m.files as Array<{ checksum: string }>)[1].checksum = sha256Hex('something else');
        },
      });
      await refused(await publishJson(alice, 'tampered', '1.0.0', mismatch), 400, /checksum mismatch for 'prompts\/system\.md'/, 'tampered');
      const missing = await praisonBundle({
        name: 'tampered',
        version: '1.0.0',
        edit: (m) => (m.files as unknown[]).push({ path: 'tools.py', checksum: sha256Hex('x') }),
      });
      await refused(await publishJson(alice, 'tampered', '1.0.0', missing), 400, /'tools\.py' but the bundle has no such file/, 'tampered');
    });

    it('a manifest whose name or version disagrees with the URL', async () => {
      const bundle = await praisonBundle({ name: 'right-name', version: '1.0.0' });
      await refused(await publishJson(alice, 'wrong-name', '1.0.0', bundle), 400, /name 'right-name' does not match/, 'wrong-name');
      expect((await anon.req('GET', '/v1/recipes/right-name')).status).toBe(404);
      await refused(await publishJson(alice, 'right-name', '2.0.0', bundle), 400, /version: '2\.0\.0' was sent but manifest\.json says '1\.0\.0'/, 'right-name');
      await refused(await publishMultipart(alice, 'right-name', '2.0.0', bundle, true), 400, /version/, 'right-name');
    });

    it('an invalid recipe name in the URL, and a wrong Content-Type', async () => {
      const bundle = await praisonBundle({ name: 'ok-name', version: '1.0.0' });
      const r = await publishJson(alice, '-bad-', '1.0.0', bundle);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.stringMatching(/Invalid recipe name/), code: 400 });
      const raw = await alice.req('POST', '/v1/recipes/ok-name/1.0.0', bundle, { 'content-type': 'application/gzip' });
      expect(raw.status).toBe(415);
      expect(raw.body).toEqual({ error: expect.stringMatching(/application\/json|multipart/), code: 415 });
      expect((await anon.req('GET', '/v1/recipes/ok-name')).status).toBe(404);
      expect((await anon.req('GET', '/v1/search')).body).toEqual({ error: expect.stringMatching(/q/), code: 400 });
    });
  });

  describe('lists', () => {
    beforeAll(async () => {
      const seed: Array<[string, string[]]> = [
        ['list-a', ['alpha', 'shared']],
        ['list-b', ['beta', 'shared']],
        ['list-c', ['gamma']],
      ];
      for (const [name, t] of seed) {
        expect((await publishJson(alice, name, '1.0.0', await praisonBundle({ name, version: '1.0.0', tags: t, description: `Recipe ${name}` }))).status).toBe(201);
      }
    });

    it('filters by tags (any of a comma-separated list)', async () => {
      const shared = await anon.req('GET', '/v1/recipes?tags=shared');
      expect(shared.body.recipes.map((x: { name: string }) => x.name)).toEqual(['list-a', 'list-b']);
      expect(shared.body.total).toBe(2);
      const either = await anon.req('GET', '/v1/recipes?tags=alpha,gamma');
      expect(either.body.recipes.map((x: { name: string }) => x.name)).toEqual(['list-a', 'list-c']);
      expect((await anon.req('GET', '/v1/search?q=recipe&tags=beta')).body.map((x: { name: string }) => x.name)).toEqual(['list-b']);
    });

    it('pages with limit and offset and tells the total', async () => {
      const all = await anon.req('GET', '/v1/recipes?limit=1000');
      const total = all.body.total as number;
      expect(all.body.recipes).toHaveLength(total);
      const page = await anon.req('GET', '/v1/recipes?limit=2&offset=1');
      expect(page.body).toMatchObject({ total, limit: 2, offset: 1 });
      expect(page.body.recipes.map((x: { name: string }) => x.name)).toEqual(all.body.recipes.slice(1, 3).map((x: { name: string }) => x.name));
      // praisonai's own client pages with page/per_page.
      const legacy = await anon.req('GET', '/v1/recipes?page=2&per_page=2');
      expect(legacy.body.recipes.map((x: { name: string }) => x.name)).toEqual(all.body.recipes.slice(2, 4).map((x: { name: string }) => x.name));
      expect((await anon.req('GET', '/v1/recipes?limit=0')).body).toEqual({ error: expect.stringMatching(/limit/), code: 400 });
    });

    it('shows only recipes of the recipe scope, not other packages', async () => {
      const agent = await alice.publish('/api/v1/agents/@alice/list-agent', await agentTarball({ name: 'list-agent', version: '1.0.0', scope: 'alice' }));
      expect(agent.status).toBe(200);
      expect((await anon.req('GET', '/v1/recipes?limit=1000')).body.recipes.map((x: { name: string }) => x.name)).not.toContain('list-agent');
      expect((await anon.req('GET', '/v1/recipes/list-agent')).status).toBe(404);
      // And a recipe is a package of kind recipe in the native API.
      const native = await anon.req('GET', '/api/v1/recipes/@recipes/list-a');
      expect(native.body).toMatchObject({ kind: 'recipe', full_name: '@recipes/list-a', latest_version: '1.0.0' });
    });
  });
});

describe.each(testStores)('PraisonAI recipe door on a read-only server (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-ro-recipes-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  let server: TestServer;
  let admin: Api;
  let bundle: Buffer;

  beforeAll(async () => {
    // Publish on a writable server, then reopen the same store read-only.
    const writable = await startTestServer({ store, dataDir, postgresSchema: schema });
    const w = new Api(writable.url, writable.adminToken);
    bundle = await praisonBundle({ name: 'frozen', version: '1.0.0' });
    expect((await w.req('POST', '/v1/recipes/frozen/1.0.0', { bundle: bundle.toString('base64') })).status).toBe(201);
    await writable.close();
    server = await startTestServer({ store, dataDir, adminToken: writable.adminToken, postgresSchema: schema, readOnly: true });
    admin = new Api(server.url, server.adminToken);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('says read_only in /healthz and still serves reads and downloads', async () => {
    expect((await admin.req('GET', '/healthz')).body).toMatchObject({ ok: true, status: 'healthy', read_only: true, auth_required: true });
    expect((await admin.req('GET', '/v1/recipes/frozen')).body.latest).toBe('1.0.0');
    expect((await admin.req('GET', '/v1/search?q=frozen')).body).toHaveLength(1);
    const dl = await fetch(`${server.url}/v1/recipes/frozen/1.0.0/download`);
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(bundle)).toBe(true);
  });

  it('refuses publish (JSON and multipart, with or without a token) and delete with 403 in 001 shape', async () => {
    const next = await praisonBundle({ name: 'frozen', version: '1.1.0' });
    const mp = praisonMultipart(next, true);
    const refusals = [
      await admin.req('POST', '/v1/recipes/frozen/1.1.0', { bundle: next.toString('base64') }),
      await admin.req('POST', '/v1/recipes/frozen/1.0.0', { bundle: next.toString('base64'), force: true }),
      await admin.req('POST', '/v1/recipes/frozen/1.1.0', mp.body, { 'content-type': mp.contentType }),
      await new Api(server.url).req('POST', '/v1/recipes/frozen/1.1.0', { bundle: next.toString('base64') }),
      await admin.req('DELETE', '/v1/recipes/frozen/1.0.0'),
    ];
    for (const r of refusals) {
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body).toEqual({ error: expect.stringMatching(/read-only/), code: 403 });
    }
    const info = await admin.req('GET', '/v1/recipes/frozen');
    expect(Object.keys(info.body.versions)).toEqual(['1.0.0']);
    expect(info.body.versions['1.0.0'].checksum).toBe(`sha256:${sha256Hex(bundle)}`);
  });
});

describe('PraisonAI door: URLs the router refuses', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers an over-long name and bad percent-encoding in the door shape', async () => {
    const api = new Api(server.url, server.adminToken);
    const long = await api.req('GET', `/v1/recipes/${'a'.repeat(129)}`);
    expect(long.status).toBe(414);
    expect(long.body).toEqual({ error: expect.stringMatching(/too long/), code: 414 });
    const bad = await api.req('GET', '/v1/recipes/%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringMatching(/malformed/), code: 400 });
  });
});

/**
 * PraisonAI's own client (praisonai/recipe/registry.py, HttpRegistry) as it talks on the wire:
 * urllib's User-Agent, `Content-Type: application/json` even on GETs, multipart publish; it reads
 * `results` from search and compares the version's checksum with the bundle's bare-hex sha256.
 */
const urllib = (base: string, method: string, path: string, opts: { token?: string; body?: Buffer; contentType?: string; ifNoneMatch?: string; userAgent?: string } = {}) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const url = new URL(base + path);
    const headers: Record<string, string> = {
      'Accept-Encoding': 'identity',
      'User-Agent': opts.userAgent ?? 'Python-urllib/3.12',
      'Content-Type': opts.contentType ?? 'application/json',
      Connection: 'close',
    };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.ifNoneMatch) headers['If-None-Match'] = opts.ifNoneMatch;
    if (opts.body) headers['Content-Length'] = String(opts.body.length);
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });

describe.each(testStores)("praisonai's own HttpRegistry client against the /v1 door (%s)", (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store });
  });
  afterAll(async () => {
    await server.close();
  });

  it('publishes, lists, searches and pulls with its checksum check passing', async () => {
    const bundle = await praisonBundle({ name: 'py-client', version: '2.0.0', tags: ['python'] });
    const { body, contentType } = praisonMultipart(bundle, false, 'py-client-2.0.0.praison');
    const pub = await urllib(server.url, 'POST', '/v1/recipes/py-client/2.0.0', { token: server.adminToken, body, contentType });
    expect(pub.status).toBe(201);
    expect(JSON.parse(pub.body.toString())).toMatchObject({ ok: true, name: 'py-client', version: '2.0.0' });

    const list = JSON.parse((await urllib(server.url, 'GET', '/v1/recipes?page=1&per_page=50')).body.toString());
    expect(list.recipes.map((r: { name: string }) => r.name)).toEqual(['py-client']);

    const search = await urllib(server.url, 'GET', '/v1/search?q=py-client');
    expect(search.status).toBe(200);
    expect(JSON.parse(search.body.toString())).toEqual({ ok: true, query: 'py-client', count: 1, results: [expect.objectContaining({ name: 'py-client', version: '2.0.0' })] });

    // pull: info → latest, download, version info → checksum compared with the file's hex sha256.
    const info = JSON.parse((await urllib(server.url, 'GET', '/v1/recipes/py-client')).body.toString());
    expect(info.latest).toBe('2.0.0');
    const dl = await urllib(server.url, 'GET', '/v1/recipes/py-client/2.0.0/download');
    expect(dl.status).toBe(200);
    const version = JSON.parse((await urllib(server.url, 'GET', '/v1/recipes/py-client/2.0.0')).body.toString());
    expect(version.checksum).toBe(sha256Hex(dl.body));
    const cached = await urllib(server.url, 'GET', '/v1/recipes/py-client/2.0.0/download', { ifNoneMatch: String(dl.headers.etag) });
    expect(cached.status).toBe(304);

    const conflict = await urllib(server.url, 'POST', '/v1/recipes/py-client/2.0.0', { token: server.adminToken, body, contentType });
    expect(conflict.status).toBe(409);
    const forced = praisonMultipart(bundle, true, 'py-client-2.0.0.praison');
    expect((await urllib(server.url, 'POST', '/v1/recipes/py-client/2.0.0', { token: server.adminToken, body: forced.body, contentType: forced.contentType })).status).toBe(201);
    const del = await urllib(server.url, 'DELETE', '/v1/recipes/py-client/2.0.0', { token: server.adminToken });
    expect(del.status).toBe(200);
  });
});

describe.each(testStores)('PraisonAI door with AGENTRY_RECIPE_SCOPE (%s)', (store) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store, recipeScope: 'cookbook' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('maps recipe names onto the configured scope, an org its members may publish to', async () => {
    const admin = new Api(server.url, server.adminToken);
    expect((await admin.req('GET', '/api/v1/orgs/cookbook')).body).toMatchObject({ name: 'cookbook', members: [] });
    const dan = admin.with((await admin.req('POST', '/api/v1/users', { username: 'dan' })).body.token);
    const bundle = await praisonBundle({ name: 'soup', version: '1.0.0' });
    expect((await dan.req('POST', '/v1/recipes/soup/1.0.0', { bundle: bundle.toString('base64') })).status).toBe(403);
    expect((await admin.req('PUT', '/api/v1/orgs/cookbook/members/dan', { role: 'maintainer' })).status).toBe(200);
    expect((await dan.req('POST', '/v1/recipes/soup/1.0.0', { bundle: bundle.toString('base64') })).status).toBe(201);
    expect((await admin.req('GET', '/api/v1/recipes/@cookbook/soup')).body).toMatchObject({ full_name: '@cookbook/soup', kind: 'recipe' });
    expect((await admin.req('GET', '/api/v1/orgs/recipes')).status).toBe(404);
    const audit = await admin.req('GET', '/api/v1/audit?action=org.create');
    expect(audit.body.entries).toEqual([expect.objectContaining({ actor: null, target: '@cookbook' })]);
  });
});
