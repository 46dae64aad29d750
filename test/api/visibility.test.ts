import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, makeTarball } from '../helpers/packages.js';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * The visibility matrix (issue 12, point 1): public, internal and private packages of every kind,
 * read by every kind of caller through every read route of the native, MCP registry, ToolHive and
 * PraisonAI doors. A package a caller may not read is exactly as absent as one that does not exist:
 * missing from lists, totals, search, trending and counts, and a 404 in the door's own shape.
 */

type Vis = 'public' | 'internal' | 'private';
type Caller = 'anonymous' | 'outsider' | 'member' | 'owner' | 'admin';
type Kind = 'agent' | 'skill' | 'mcp-server' | 'recipe';

const VIS: Vis[] = ['public', 'internal', 'private'];
const CALLERS: Caller[] = ['anonymous', 'outsider', 'member', 'owner', 'admin'];
const KINDS: Kind[] = ['agent', 'skill', 'mcp-server', 'recipe'];
const SEGMENT: Record<Kind, string> = { agent: 'agents', skill: 'skills', 'mcp-server': 'mcp-servers', recipe: 'recipes' };

/** The one rule, as the issue states it: who may read an object of the org `acme`. */
const mayRead = (v: Vis, c: Caller): boolean => v === 'public' || (v === 'internal' ? c !== 'anonymous' : c === 'member' || c === 'owner' || c === 'admin');
const visibleTo = (c: Caller): Vis[] => VIS.filter((v) => mayRead(v, c));

const nameOf = (kind: Kind, v: Vis): string => `${kind === 'mcp-server' ? 'mcp' : kind}-${v}`;

const agentTar = (name: string, scope: string, category = 'productivity') =>
  makeTarball({ 'agent.yaml': `name: ${name}\nversion: 1.0.0\ndescription: Visibility probe ${name}\nauthor: "@${scope}"\ncategory: ${category}\ntags: [vprobe]\n` });
const skillTar = (name: string) => makeTarball({ 'SKILL.md': `---\nname: ${name}\ndescription: Visibility probe ${name}\nmetadata:\n  version: 1.0.0\n---\n# ${name}\n` });
const serverTar = (name: string) =>
  makeTarball({
    'server.json': JSON.stringify({
      name: `acme/${name}`,
      description: `Visibility probe ${name}`,
      version: '1.0.0',
      packages: [{ registryType: 'oci', identifier: `ghcr.io/acme/${name}:1.0.0`, transport: { type: 'stdio' } }],
    }),
  });

const names = (rows: Array<{ name: string }> | undefined): string[] => (rows ?? []).map((r) => r.name).sort();
const expected = (kind: Kind, c: Caller): string[] =>
  visibleTo(c)
    .map((v) => nameOf(kind, v))
    .sort();

describe.each(testStores)('visibility (%s)', (store) => {
  let server: TestServer;
  const as = {} as Record<Caller, Api>;
  let ownerToken = '';

  beforeAll(async () => {
    // Recipes map onto @acme, so every kind lives in the one org scope.
    server = await startTestServer({ store, recipeScope: 'acme' });
    const admin = new Api(server.url, server.adminToken);
    as.admin = admin;
    as.anonymous = new Api(server.url);
    const user = async (name: string) => {
      const r = await admin.req('POST', '/api/v1/users', { username: name });
      expect(r.status).toBe(201);
      return r.body.token as string;
    };
    ownerToken = await user('alice');
    as.owner = admin.with(ownerToken);
    as.outsider = admin.with(await user('bob'));
    as.member = admin.with(await user('carol'));
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/alice', { role: 'owner' })).status).toBe(200);
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(200);

    for (const v of VIS) {
      const pub = async (path: string, tar: Buffer) => {
        const r = await as.owner.publish(path, tar, { access: v });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      };
      await pub(`/api/v1/agents/@acme/${nameOf('agent', v)}`, await agentTar(nameOf('agent', v), 'acme'));
      await pub(`/api/v1/skills/@acme/${nameOf('skill', v)}`, await skillTar(nameOf('skill', v)));
      await pub(`/api/v1/mcp-servers/@acme/${nameOf('mcp-server', v)}`, await serverTar(nameOf('mcp-server', v)));
      const bundle = await praisonBundle({ name: nameOf('recipe', v), version: '1.0.0', description: `Visibility probe ${nameOf('recipe', v)}` });
      const r = await as.owner.req('POST', `/v1/recipes/${nameOf('recipe', v)}/1.0.0`, { bundle: bundle.toString('base64'), access: v });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      for (const kind of KINDS) {
        expect((await as.owner.req('GET', `/api/v1/packages/@acme/${nameOf(kind, v)}/download/1.0.0`)).status).toBe(200);
      }
      expect((await as.owner.req('PUT', `/api/v1/agents/@acme/${nameOf('agent', v)}/star`)).status).toBe(200);
    }
    // A private package of a user (not an org): its owner reads it, the org's members do not.
    const solo = await as.owner.publish('/api/v1/agents/@alice/solo', await agentTar('solo', 'alice', 'research'), { access: 'private' });
    expect(solo.status).toBe(200);
  });
  afterAll(() => server?.close());

  it('records the visibility each package was published with', async () => {
    for (const kind of KINDS) {
      for (const v of VIS) {
        const r = await as.owner.req('GET', `/api/v1/access/@acme/${nameOf(kind, v)}`);
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ package: `@acme/${nameOf(kind, v)}`, kind, visibility: v });
      }
    }
  });

  describe.each(CALLERS)('as %s', (caller) => {
    const api = () => as[caller];

    it('native API: details, versions, download, dist-tags, stars and access are 404 exactly when hidden', async () => {
      const missing = await api().req('GET', '/api/v1/packages/@acme/no-such-package');
      for (const kind of KINDS) {
        for (const v of VIS) {
          const n = nameOf(kind, v);
          const ok = mayRead(v, caller);
          for (const path of [
            `/api/v1/${SEGMENT[kind]}/@acme/${n}`,
            `/api/v1/packages/@acme/${n}`,
            `/api/v1/${SEGMENT[kind]}/@acme/${n}/versions`,
            `/api/v1/${SEGMENT[kind]}/@acme/${n}/download/1.0.0`,
            `/api/v1/${SEGMENT[kind]}/@acme/${n}/download/latest`,
            `/api/v1/${SEGMENT[kind]}/@acme/${n}/dist-tags`,
            `/api/v1/${SEGMENT[kind]}/@acme/${n}/star`,
            `/api/v1/access/@acme/${n}`,
          ]) {
            const r = await api().req('GET', path);
            expect(r.status, `${caller} GET ${path}`).toBe(ok ? 200 : 404);
            if (!ok && path.startsWith('/api/v1/packages/') && !path.includes('/download')) expect(r.body).toEqual(missing.body);
          }
        }
      }
      const solo = await api().req('GET', '/api/v1/agents/@alice/solo');
      expect(solo.status).toBe(caller === 'owner' || caller === 'admin' ? 200 : 404);
    });

    it('native API: lists, search, totals, trending, categories and user pages count only what the caller may read', async () => {
      for (const kind of KINDS) {
        const list = await api().req('GET', `/api/v1/${SEGMENT[kind]}?scope=acme&limit=100`);
        expect(list.status).toBe(200);
        const rows = list.body[kind === 'agent' ? 'agents' : 'packages'];
        expect(names(rows), `${caller} list ${kind}`).toEqual(expected(kind, caller));
        expect(list.body.total).toBe(visibleTo(caller).length);
        // A small page: the total still counts every readable row, and the page is full.
        const page = await api().req('GET', `/api/v1/${SEGMENT[kind]}?scope=acme&limit=1&page=2`);
        expect(page.body.total).toBe(visibleTo(caller).length);
        expect(page.body[kind === 'agent' ? 'agents' : 'packages']).toHaveLength(visibleTo(caller).length >= 2 ? 1 : 0);
      }
      const all = await api().req('GET', '/api/v1/packages?scope=acme&limit=100');
      expect(all.body.total).toBe(visibleTo(caller).length * KINDS.length);

      const search = await api().req('GET', '/api/v1/search?q=visibility%20probe&kind=all&limit=100');
      expect(search.status).toBe(200);
      const soloVisible = caller === 'owner' || caller === 'admin' ? 1 : 0;
      expect(search.body.total).toBe(visibleTo(caller).length * KINDS.length + soloVisible);
      expect(names(search.body.agents).filter((n) => n.startsWith('agent-'))).toEqual(expected('agent', caller));

      for (const kind of KINDS) {
        const t = await api().req('GET', `/api/v1/trending?period=day&kind=${kind}&limit=100`);
        expect(t.status).toBe(200);
        expect(names(t.body.agents), `${caller} trending ${kind}`).toEqual(expected(kind, caller));
        expect(t.body.total).toBe(visibleTo(caller).length);
      }

      const cats = await api().req('GET', '/api/v1/categories?kind=agent');
      const count = (slug: string) => cats.body.categories.find((c: { slug: string }) => c.slug === slug).count;
      expect(count('productivity')).toBe(visibleTo(caller).length);
      expect(count('research')).toBe(soloVisible);

      const profile = await api().req('GET', '/api/v1/users/acme');
      expect(profile.status).toBe(200);
      expect(profile.body.agent_count).toBe(visibleTo(caller).length * KINDS.length);
      const aliceProfile = await api().req('GET', '/api/v1/users/alice');
      expect(aliceProfile.body.agent_count).toBe(soloVisible);
      const agents = await api().req('GET', '/api/v1/users/acme/agents');
      expect(names(agents.body.agents)).toEqual(expected('agent', caller));
      expect(agents.body.total).toBe(visibleTo(caller).length);

      const stars = await api().req('GET', '/api/v1/users/alice/stars');
      expect(names(stars.body.packages)).toEqual(expected('agent', caller));
      expect(stars.body.total).toBe(visibleTo(caller).length);
    });

    it('MCP registry: lists, cursor pages, versions and one version hide what the caller may not read', async () => {
      const missing = await api().req('GET', `/v0.1/servers/${encodeURIComponent('acme/mcp-nothing')}/versions`);
      expect(missing.status).toBe(404);
      for (const prefix of ['/v0', '/v0.1']) {
        const list = await api().req('GET', `${prefix}/servers?search=acme/mcp-&limit=100`);
        expect(list.status).toBe(200);
        const listed = list.body.servers.map((s: { server: { name: string } }) => s.server.name).sort();
        expect(listed).toEqual(expected('mcp-server', caller).map((n) => `acme/${n}`));
        // Page by one: every readable server once, no gap, no hidden one, no empty page.
        const walked: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await api().req('GET', `${prefix}/servers?search=acme/mcp-&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect(page.status).toBe(200);
          walked.push(...page.body.servers.map((s: { server: { name: string } }) => s.server.name));
          cursor = page.body.metadata.nextCursor;
          if (!cursor) break;
        }
        expect(walked.sort()).toEqual(listed);
      }
      for (const v of VIS) {
        const full = encodeURIComponent(`acme/${nameOf('mcp-server', v)}`);
        for (const path of [`/v0.1/servers/${full}/versions`, `/v0/servers/${full}/versions/latest`, `/v0.1/servers/${full}/versions/1.0.0`]) {
          const r = await api().req('GET', path);
          expect(r.status, `${caller} GET ${path}`).toBe(mayRead(v, caller) ? 200 : 404);
          if (!mayRead(v, caller)) {
            expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
            expect(r.body.title).toBe(missing.body.title);
          }
        }
      }
    });

    it('ToolHive: registry views, the v0.1 catalogue, skills and skill content hide what the caller may not read', async () => {
      const servers = await api().req('GET', '/api/v1beta/registry/default/servers');
      expect(servers.status).toBe(200);
      const shown = [...servers.body.servers, ...servers.body.remote_servers].map((s: { name: string }) => s.name).sort();
      expect(shown).toEqual(expected('mcp-server', caller));
      const reg = await api().req('GET', '/api/v1beta/registry');
      expect(reg.body.registries[0].server_count).toBe(visibleTo(caller).length);

      const catalogue = await api().req('GET', '/registry/default/v0.1/servers?limit=100');
      expect(catalogue.body.metadata.total).toBe(visibleTo(caller).length);
      expect(catalogue.body.servers.map((s: { name: string }) => s.name).sort()).toEqual(expected('mcp-server', caller).map((n) => `acme/${n}`));
      const skills = await api().req('GET', '/registry/default/v0.1/x/dev.toolhive/skills?limit=100');
      expect(skills.body.metadata.total).toBe(visibleTo(caller).length);
      expect(names(skills.body.skills)).toEqual(expected('skill', caller));

      for (const v of VIS) {
        const ok = mayRead(v, caller);
        const mcp = nameOf('mcp-server', v);
        const skill = nameOf('skill', v);
        for (const path of [
          `/api/v1beta/registry/default/servers/${mcp}`,
          `/registry/default/v0.1/servers/${encodeURIComponent(`acme/${mcp}`)}/versions/latest`,
          `/registry/default/v0.1/x/dev.toolhive/skills/acme/${skill}`,
          `/api/v1beta/skills/content?ref=${encodeURIComponent(`@acme/${skill}`)}`,
        ]) {
          const r = await api().req('GET', path);
          expect(r.status, `${caller} GET ${path}`).toBe(ok ? 200 : 404);
        }
        if (!ok) {
          // The door's own not-found, word for word as for a server or skill that does not exist.
          const hidden = await api().req('GET', `/api/v1beta/registry/default/servers/${mcp}`);
          const missing = await api().req('GET', '/api/v1beta/registry/default/servers/mcp-nothing');
          expect(JSON.stringify(hidden.body).replace(mcp, 'X')).toBe(JSON.stringify(missing.body).replace('mcp-nothing', 'X'));
          const hiddenSkill = await api().req('GET', `/registry/default/v0.1/x/dev.toolhive/skills/acme/${skill}`);
          const missingSkill = await api().req('GET', '/registry/default/v0.1/x/dev.toolhive/skills/acme/skill-nothing');
          expect(JSON.stringify(hiddenSkill.body).replace(skill, 'X')).toBe(JSON.stringify(missingSkill.body).replace('skill-nothing', 'X'));
        }
      }
    });

    it('PraisonAI recipes: list, search, info, version and download hide what the caller may not read', async () => {
      const list = await api().req('GET', '/v1/recipes?limit=100');
      expect(list.status).toBe(200);
      expect(names(list.body.recipes)).toEqual(expected('recipe', caller));
      expect(list.body.total).toBe(visibleTo(caller).length);
      const search = await api().req('GET', '/v1/search?q=visibility');
      expect(names(search.body)).toEqual(expected('recipe', caller));
      const missing = await api().req('GET', '/v1/recipes/recipe-nothing');
      for (const v of VIS) {
        const n = nameOf('recipe', v);
        for (const path of [`/v1/recipes/${n}`, `/v1/recipes/${n}/1.0.0`, `/v1/recipes/${n}/1.0.0/download`]) {
          const r = await api().req('GET', path);
          expect(r.status, `${caller} GET ${path}`).toBe(mayRead(v, caller) ? 200 : 404);
        }
        if (!mayRead(v, caller)) {
          const r = await api().req('GET', `/v1/recipes/${n}`);
          expect(JSON.stringify(r.body).replace(n, 'X')).toBe(JSON.stringify(missing.body).replace('recipe-nothing', 'X'));
        }
      }
    });
  });

  it('refuses to star, deprecate or tag a package to whom it is hidden with the same 404', async () => {
    const bob = as.outsider;
    expect((await bob.req('PUT', '/api/v1/agents/@acme/agent-private/star')).status).toBe(404);
    expect((await bob.req('DELETE', '/api/v1/agents/@acme/agent-private/star')).status).toBe(404);
    expect((await bob.req('PUT', '/api/v1/agents/@acme/agent-internal/star')).status).toBe(200);
    expect((await bob.req('POST', '/api/v1/agents/@acme/agent-private/versions/1.0.0/deprecate', { message: 'x' })).status).toBe(404);
    expect((await bob.req('PUT', '/api/v1/agents/@acme/agent-private/dist-tags/beta', { version: '1.0.0' })).status).toBe(404);
    expect((await bob.req('DELETE', '/api/v1/agents/@acme/agent-private/1.0.0')).status).toBe(404);
    expect((await bob.req('PUT', '/api/v1/access/@acme/agent-private', { visibility: 'public' })).status).toBe(404);
    // Readable but not his: 403, and nothing changes.
    expect((await bob.req('PUT', '/api/v1/access/@acme/agent-public', { visibility: 'private' })).status).toBe(403);
    expect((await as.anonymous.req('GET', '/api/v1/agents/@acme/agent-public')).status).toBe(200);
  });

  it('changes a package and a scope default with access set, audited, for the scope writers only', async () => {
    const owner = as.owner;
    const tar = await agentTar('switch', 'acme');
    expect((await owner.publish('/api/v1/agents/@acme/switch', tar)).status).toBe(200);
    expect((await owner.req('GET', '/api/v1/access/@acme/switch')).body.visibility).toBe('public');

    const set = await owner.req('PUT', '/api/v1/access/@acme/switch', { visibility: 'private' });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ package: '@acme/switch', kind: 'agent', visibility: 'private' });
    expect((await as.anonymous.req('GET', '/api/v1/agents/@acme/switch')).status).toBe(404);
    expect((await as.outsider.req('GET', '/api/v1/agents/@acme/switch')).status).toBe(404);

    // A later publish keeps the visibility unless it sends one.
    const tar2 = await makeTarball({ 'agent.yaml': 'name: switch\nversion: 1.1.0\ndescription: Switch\nauthor: "@acme"\n' });
    expect((await owner.publish('/api/v1/agents/@acme/switch', tar2)).status).toBe(200);
    expect((await owner.req('GET', '/api/v1/access/@acme/switch')).body.visibility).toBe('private');
    const tar3 = await makeTarball({ 'agent.yaml': 'name: switch\nversion: 1.2.0\ndescription: Switch\nauthor: "@acme"\n' });
    expect((await owner.publish('/api/v1/agents/@acme/switch', tar3, { access: 'internal' })).status).toBe(200);
    expect((await owner.req('GET', '/api/v1/access/@acme/switch')).body.visibility).toBe('internal');
    expect((await as.outsider.req('GET', '/api/v1/agents/@acme/switch')).status).toBe(200);

    // Bad values are 400s that change nothing.
    expect((await owner.req('PUT', '/api/v1/access/@acme/switch', { visibility: 'secret' })).status).toBe(400);
    expect((await owner.req('PUT', '/api/v1/access/@acme/switch', {})).status).toBe(400);
    expect((await owner.publish('/api/v1/agents/@acme/switch', tar3, { access: 'hidden' })).status).toBe(400);
    expect((await owner.req('GET', '/api/v1/access/@acme/switch')).body.visibility).toBe('internal');

    // The scope default: only for new packages.
    expect((await owner.req('GET', '/api/v1/access/@acme')).body).toEqual({ scope: '@acme', visibility: 'public' });
    expect((await as.outsider.req('PUT', '/api/v1/access/@acme', { visibility: 'private' })).status).toBe(403);
    expect((await as.anonymous.req('PUT', '/api/v1/access/@acme', { visibility: 'private' })).status).toBe(401);
    expect((await owner.req('PUT', '/api/v1/access/@acme', { visibility: 'private' })).body).toEqual({ scope: '@acme', visibility: 'private' });
    expect((await owner.publish('/api/v1/agents/@acme/fresh', await agentTar('fresh', 'acme'))).status).toBe(200);
    expect((await owner.req('GET', '/api/v1/access/@acme/fresh')).body.visibility).toBe('private');
    expect((await as.anonymous.req('GET', '/api/v1/agents/@acme/fresh')).status).toBe(404);
    expect((await as.anonymous.req('GET', '/api/v1/agents/@acme/agent-public')).status).toBe(200);
    expect((await owner.req('PUT', '/api/v1/access/@acme', { visibility: 'public' })).status).toBe(200);
    expect((await as.anonymous.req('GET', '/api/v1/access/@nobody-here')).status).toBe(404);

    const audit = await as.admin.req('GET', '/api/v1/audit?action=package.access');
    expect(audit.body.entries.map((e: { target: string; details: { to: string } }) => [e.target, e.details.to])).toEqual(
      expect.arrayContaining([
        ['@acme/switch', 'private'],
        ['@acme/switch', 'internal'],
      ]),
    );
    const scopeAudit = await as.admin.req('GET', '/api/v1/audit?action=scope.access');
    expect(scopeAudit.body.entries.map((e: { actor: string; details: { to: string } }) => [e.actor, e.details.to])).toEqual([
      ['alice', 'public'],
      ['alice', 'private'],
    ]);
  });

  it('documents the access routes and the access field in the OpenAPI document', async () => {
    const doc = (await as.anonymous.req('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/api/v1/access/{scope}/{name}']).sort()).toEqual(['get', 'put']);
    expect(Object.keys(doc.paths['/api/v1/access/{scope}']).sort()).toEqual(['get', 'put']);
    const publishBody = doc.paths['/api/v1/agents/{scope}/{name}'].put.requestBody.content['multipart/form-data'].schema;
    expect(JSON.stringify(publishBody.properties.access)).toMatch(/internal/);
  });

  it('narrows internal and private reads of a scope-restricted token to its scopes', async () => {
    const carol = as.member;
    const t = await carol.req('POST', '/api/v1/tokens', { name: 'carol-only', permission: 'read', scopes: ['carol'] });
    expect(t.status).toBe(201);
    const narrow = carol.with(t.body.token);
    expect((await narrow.req('GET', '/api/v1/agents/@acme/agent-public')).status).toBe(200);
    expect((await narrow.req('GET', '/api/v1/agents/@acme/agent-private')).status).toBe(404);
    expect((await narrow.req('GET', '/api/v1/agents/@acme/agent-internal')).status).toBe(404);
    const list = await narrow.req('GET', '/api/v1/agents?scope=acme&limit=100');
    expect(names(list.body.agents)).toEqual(['agent-public']);
  });

  it("reads only public packages of other accounts with a runtime token, even an administrator's", async () => {
    const t = await as.admin.req('POST', '/api/v1/tokens', { name: 'runner', permission: 'runtime' });
    expect(t.status).toBe(201);
    const runtime = as.admin.with(t.body.token);
    expect((await runtime.req('GET', '/api/v1/agents/@acme/agent-public')).status).toBe(200);
    expect((await runtime.req('GET', '/api/v1/agents/@acme/agent-internal')).status).toBe(404);
    expect((await runtime.req('GET', '/api/v1/agents/@acme/agent-private')).status).toBe(404);
    const list = await runtime.req('GET', '/api/v1/agents?scope=acme&limit=100');
    expect(names(list.body.agents)).toEqual(['agent-public']);
  });
});

describe.each(testStores)('--auth-required-for-reads and --default-visibility (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;

  beforeAll(async () => {
    server = await startTestServer({ store, authRequiredForReads: true, defaultVisibility: 'internal' });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    expect((await admin.publish('/api/v1/agents/@admin/closed', await agentTar('closed', 'admin'))).status).toBe(200);
  });
  afterAll(() => server?.close());

  it('answers 401 in each door shape to every read without a token, and keeps /healthz open', async () => {
    const health = await anon.req('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ ok: true, auth_required: true, auth_required_for_reads: true });
    expect((await anon.req('GET', '/livez')).status).toBe(200);
    expect((await anon.req('GET', '/readyz')).status).toBe(200);
    const native = await anon.req('GET', '/api/v1/agents');
    expect(native.status).toBe(401);
    expect(native.body.error).toMatch(/token/);
    for (const path of ['/api/v1/agents/@admin/closed', '/api/v1/search?q=closed', '/api/v1/trending', '/api/v1/categories', '/api/v1/users/admin', '/api/v1/access/@admin', '/openapi.json']) {
      expect((await anon.req('GET', path)).status, path).toBe(401);
    }
    const mcp = await anon.req('GET', '/v0.1/servers');
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const praison = await anon.req('GET', '/v1/recipes');
    expect(praison.status).toBe(401);
    expect(praison.body).toMatchObject({ code: 401 });
    expect((await anon.req('GET', '/api/v1beta/registry')).status).toBe(401);
    const managed = await anon.req('GET', '/v1/agents');
    expect(managed.status).toBe(401);
    expect(managed.body.type).toBe('error');
    expect((await anon.req('GET', '/registry/default/v0.1/servers')).status).toBe(401);
    // An integration's webhook and OAuth callback carry no token (the core checks their signature or state); its other routes stay closed.
    expect((await anon.req('POST', '/v1/integrations/intg_none/events', {})).status).toBe(404);
    expect((await anon.req('GET', '/v1/integrations/intg_none/oauth/callback?code=x&state=y')).status).toBe(404);
    expect((await anon.req('GET', '/v1/integrations/intg_none/events/more')).status).toBe(401);
    expect((await anon.req('GET', '/v1/integrations/intg_none')).status).toBe(401);
    // A wrong token is no better than none.
    expect((await anon.with('agentry_not-a-token').req('GET', '/api/v1/agents')).status).toBe(401);
  });

  it('serves every read to a signed-in caller, and new scopes start with the default visibility', async () => {
    expect((await admin.req('GET', '/api/v1/agents/@admin/closed')).status).toBe(200);
    const user = await admin.req('POST', '/api/v1/users', { username: 'dora' });
    const dora = admin.with(user.body.token);
    expect((await dora.req('GET', '/api/v1/access/@dora')).body).toEqual({ scope: '@dora', visibility: 'internal' });
    expect((await dora.publish('/api/v1/agents/@dora/mine', await agentTar('mine', 'dora'))).status).toBe(200);
    expect((await dora.req('GET', '/api/v1/access/@dora/mine')).body.visibility).toBe('internal');
    expect((await admin.req('GET', '/api/v1/agents/@dora/mine')).status).toBe(200);
    const list = await dora.req('GET', '/api/v1/agents?limit=100');
    expect(names(list.body.agents)).toEqual(['closed', 'mine']);
    expect((await dora.req('GET', '/v0.1/servers')).status).toBe(200);
    expect((await dora.req('GET', '/v1/recipes')).status).toBe(200);
  });
});
