import { createHash, randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { storeStatements } from '../helpers/on-store.js';
import { Api, makeTarball } from '../helpers/packages.js';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * An independent access-control campaign (issue 12, points 1–4 and 8), beside the visibility matrix,
 * the authorization matrix and the blob tests: private and internal objects of every kind (packages
 * of the four kinds, an agentspace published into this server's /v2/, a managed file, skill, agent,
 * memory store, vault and session) probed by every kind of caller the issue names — anonymous,
 * another account, another org's maintainer, an org member, read-only and scope-restricted tokens, a
 * runtime token of another account, a revoked and an expired token — through every door that can name
 * them. Who may not read an object gets exactly what a missing object gets (status and body, the name
 * aside; never a 403), and sees it in no list, count, search hit, card, catalog or metric.
 */

type Vis = 'private' | 'internal';
type Kind = 'agent' | 'skill' | 'mcp-server' | 'recipe';
const KINDS: Kind[] = ['agent', 'skill', 'mcp-server', 'recipe'];
const SEGMENT: Record<Kind, string> = { agent: 'agents', skill: 'skills', 'mcp-server': 'mcp-servers', recipe: 'recipes' };

/**
 * Every caller, and what it may read of the org `acme` (owner alice, member carol) and of alice's
 * own managed objects. `refused`: its token is refused as such (401 on every route, the same for a
 * missing object).
 */
interface Caller {
  name: string;
  private: boolean;
  internal: boolean;
  managed: boolean;
  refused?: boolean;
}
const CALLERS: Caller[] = [
  { name: 'anonymous', private: false, internal: false, managed: false },
  { name: 'another account (bob)', private: false, internal: true, managed: false },
  { name: "another org's maintainer (dave)", private: false, internal: true, managed: false },
  { name: 'read-only token of another account', private: false, internal: true, managed: false },
  { name: 'runtime token of another account', private: false, internal: false, managed: false },
  { name: 'org member (carol)', private: true, internal: true, managed: false },
  { name: 'org member with a token restricted to @carol', private: false, internal: false, managed: false },
  { name: 'read-only token of the owner', private: true, internal: true, managed: true },
  { name: 'revoked token of the owner', private: false, internal: false, managed: false, refused: true },
  { name: 'expired token of the owner', private: false, internal: false, managed: false, refused: true },
  { name: 'owner (alice)', private: true, internal: true, managed: true },
  { name: 'administrator', private: true, internal: true, managed: true },
];
const mayRead = (c: Caller, v: Vis): boolean => (v === 'private' ? c.private : c.internal);

const pkgName = (kind: Kind, v: Vis) => `cz-${kind === 'mcp-server' ? 'mcp' : kind}-${v}`;

const agentTar = (name: string) =>
  makeTarball({
    'agent.yaml': `name: ${name}\nversion: 1.0.0\ndescription: Campaign quagga ${name}\nauthor: "@acme"\ncategory: research\ntags: [quagga]\n`,
    'README.md': `# ${name}\n\nquagga\n`,
  });
const skillTar = (name: string) => makeTarball({ 'SKILL.md': `---\nname: ${name}\ndescription: Campaign quagga ${name}\nmetadata:\n  version: 1.0.0\n---\n# ${name}\n` });
const serverTar = (name: string) =>
  makeTarball({
    'server.json': JSON.stringify({
      name: `acme/${name}`,
      description: `Campaign quagga ${name}`,
      version: '1.0.0',
      packages: [{ registryType: 'oci', identifier: `ghcr.io/acme/${name}:1.0.0`, transport: { type: 'stdio' } }],
    }),
    'README.md': `# ${name}\n\nquagga\n`,
  });

/** A body as a client compares it: request ids, digests and the object's name made neutral. */
const neutral = (body: unknown, names: string[]): string =>
  names
    .reduce((s, n) => s.split(n).join('<X>'), typeof body === 'string' ? body : JSON.stringify(body ?? null))
    .replace(/req_[A-Za-z0-9]+/g, '<req>')
    .replace(/sha256:[0-9a-f]{64}/g, '<digest>');

/** Names of campaign objects (cz-…) that appear anywhere in a body. */
const campaignNames = (body: unknown): string[] => [...new Set((JSON.stringify(body ?? null).match(/cz-[a-z]+-(?:private|internal)/g) ?? []).sort())];

describe.each(testStores)('access-control campaign (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  const as = new Map<string, Api>();
  const tokenOf = new Map<string, string | undefined>();
  const sha = new Map<string, string>();
  const managed: Record<string, string> = {};
  let fileDigest = '';
  let cases = 0;

  const api = (c: Caller): Api => as.get(c.name)!;

  beforeAll(async () => {
    server = await startTestServer({ store, recipeScope: 'acme' });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    const user = async (name: string) => {
      const r = await admin.req('POST', '/api/v1/users', { username: name });
      expect(r.status).toBe(201);
      return r.body.token as string;
    };
    const alice = admin.with(await user('alice'));
    const bob = admin.with(await user('bob'));
    const carol = admin.with(await user('carol'));
    const dave = admin.with(await user('dave'));
    // The recipe scope makes the org acme; alice owns it.
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/alice', { role: 'owner' })).status).toBe(200);
    expect((await admin.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(200);
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'globex', owner: 'dave' })).status).toBe(201);
    expect((await admin.req('PUT', '/api/v1/orgs/globex/members/bob', { role: 'maintainer' })).status).toBe(200);
    const token = async (who: Api, body: Record<string, unknown>) => {
      const r = await who.req('POST', '/api/v1/tokens', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body as { id: number; token: string };
    };
    const revoked = await token(alice, { name: 'revoked', permission: 'read' });
    expect((await alice.req('DELETE', `/api/v1/tokens/${revoked.id}`)).status).toBe(200);
    const expired = await token(alice, { name: 'expired', permission: 'read', expires_in_days: 1 });
    await storeStatements(server, [['UPDATE tokens SET expires_at = ? WHERE id = ?', [new Date(Date.now() - 60_000).toISOString(), expired.id]]]);
    const set = (name: string, t: string | undefined) => {
      tokenOf.set(name, t);
      as.set(name, admin.with(t));
    };
    set('anonymous', undefined);
    set('another account (bob)', bob.token);
    set("another org's maintainer (dave)", dave.token);
    set('read-only token of another account', (await token(bob, { name: 'ro', permission: 'read' })).token);
    set('runtime token of another account', (await token(admin, { name: 'rt-bob', permission: 'runtime', account: 'bob' })).token);
    set('org member (carol)', carol.token);
    set('org member with a token restricted to @carol', (await token(carol, { name: 'narrow', permission: 'read', scopes: ['carol'] })).token);
    set('read-only token of the owner', (await token(alice, { name: 'ro', permission: 'read' })).token);
    set('revoked token of the owner', revoked.token);
    set('expired token of the owner', expired.token);
    set('owner (alice)', alice.token);
    set('administrator', server.adminToken);

    // Packages of every kind, private and internal, in the org's scope; one public agent beside them.
    for (const v of ['private', 'internal'] as Vis[]) {
      const put = async (kind: Kind, tar: Buffer) => {
        const r = await alice.publish(`/api/v1/${SEGMENT[kind]}/@acme/${pkgName(kind, v)}`, tar, { access: v });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        sha.set(pkgName(kind, v), createHash('sha256').update(tar).digest('hex'));
      };
      await put('agent', await agentTar(pkgName('agent', v)));
      await put('skill', await skillTar(pkgName('skill', v)));
      await put('mcp-server', await serverTar(pkgName('mcp-server', v)));
      const bundle = await praisonBundle({ name: pkgName('recipe', v), version: '1.0.0', description: `Campaign quagga ${pkgName('recipe', v)}` });
      const r = await alice.req('POST', `/v1/recipes/${pkgName('recipe', v)}/1.0.0`, { bundle: bundle.toString('base64'), access: v });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const d = await alice.req('GET', `/api/v1/recipes/@acme/${pkgName('recipe', v)}/download/1.0.0`);
      expect(d.status).toBe(200);
      sha.set(pkgName('recipe', v), d.body.sha256);
      // Downloads and a star, so that counts and trending have something to leak.
      for (const kind of KINDS) expect((await alice.req('GET', `/api/v1/packages/@acme/${pkgName(kind, v)}/download/1.0.0`)).status).toBe(200);
      expect((await alice.req('PUT', `/api/v1/agents/@acme/${pkgName('agent', v)}/star`)).status).toBe(200);
    }
    const open = await alice.publish('/api/v1/agents/@acme/cz-open', await agentTar('cz-open'), { access: 'public' });
    expect(open.status).toBe(200);
    expect((await alice.req('GET', '/api/v1/agents/@acme/cz-open/download/1.0.0')).status).toBe(200);

    // A private agentspace, published into the org's repository on this server's /v2/.
    const space = await alice.req('POST', '/registry/', { agentspace_id: 'czspace', name: 'Campaign space', namespace: 'prod', visibility: 'private' });
    expect(space.status, JSON.stringify(space.body)).toBeLessThan(300);
    expect((await alice.req('POST', '/registry/agent?agentspace_id=czspace', exampleAgent('cz-helper'))).status).toBeLessThan(300);
    expect((await alice.req('POST', '/registry/validate?agentspace_id=czspace', {})).status).toBeLessThan(300);
    const pub = await alice.req('PUT', '/registry/publish?agentspace_id=czspace&tag=1.0.0&repository=acme/cz-space-private', {});
    expect(pub.status, JSON.stringify(pub.body)).toBe(200);

    // Alice's managed objects: always private to her account.
    const made = async (path: string, body: unknown) => {
      const r = await alice.req('POST', path, body);
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body.id as string;
    };
    managed.environment = await made('/v1/environments', { name: 'cz-env' });
    managed.agent = await made('/v1/agents', { name: 'cz-agent', model: 'claude-sonnet-4-6', environment_id: managed.environment });
    managed.vault = await made('/v1/vaults', { name: 'cz-vault', secret: 'sk-vault-secret-campaign' });
    managed.store = await made('/v1/memory_stores', { name: 'cz-memories' });
    managed.session = await made('/v1/sessions', { agent: managed.agent, environment_id: managed.environment });
    const bytes = `campaign file ${randomUUID()}`;
    fileDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const file = new FormData();
    file.set('file', new Blob([bytes]), 'cz.txt');
    managed.file = await made('/v1/files', file);
    const skill = new FormData();
    skill.append('files', new Blob(['---\nname: cz-uploaded\ndescription: An uploaded campaign skill\n---\n\n# cz\n']), 'SKILL.md');
    managed.skill = await made('/v1/skills', skill);

    // An administrator's workloads (a remote MCP server nobody answers at: its state does not matter here), private and internal.
    for (const v of ['private', 'internal'] as Vis[]) {
      const w = await admin.req('POST', '/api/v1beta/workloads', { name: `cz-wl-${v}`, url: 'http://127.0.0.1:9/mcp', transport: 'streamable-http', visibility: v });
      expect(w.status, JSON.stringify(w.body)).toBe(201);
    }
  });
  afterAll(() => server?.close());

  /**
   * Compares `hidden` with `missing` for caller `c`: equal (status and neutral body) when `c` may
   * not read the object, a success when it may. Both are 401 for a refused token, never a 403.
   */
  const probe = async (c: Caller, may: boolean, hidden: string, missing: string, names: string[], method = 'GET', body?: unknown) => {
    const h = await api(c).req(method, hidden, body);
    cases++;
    if (may && !c.refused) {
      expect.soft(h.status, `${c.name} ${method} ${hidden}: ${JSON.stringify(h.body).slice(0, 200)}`).toBeLessThan(300);
      return;
    }
    const m = await api(c).req(method, missing, body);
    expect.soft(h.status, `${c.name} ${method} ${hidden} must not be a 403`).not.toBe(403);
    expect.soft([401, 404], `${c.name} ${method} ${hidden}: ${h.status} ${JSON.stringify(h.body).slice(0, 200)}`).toContain(h.status);
    expect.soft({ status: h.status, body: neutral(h.body, names) }, `${c.name} ${method} ${hidden} vs ${missing}`).toEqual({ status: m.status, body: neutral(m.body, names) });
  };

  /** Every read route that names one package, with the route of a package that does not exist. */
  const packageRoutes = (kind: Kind, n: string): Array<[string, string]> => {
    const seg = SEGMENT[kind];
    const ghost = n.replace('cz-', 'cz-ghost-');
    const both = (f: (x: string) => string): [string, string] => [f(n), f(ghost)];
    const out: Array<[string, string]> = [
      both((x) => `/api/v1/${seg}/@acme/${x}`),
      both((x) => `/api/v1/packages/@acme/${x}`),
      both((x) => `/api/v1/${seg}/@acme/${x}/versions`),
      both((x) => `/api/v1/${seg}/@acme/${x}/downloads`),
      both((x) => `/api/v1/${seg}/@acme/${x}/versions/1.0.0/files`),
      both((x) => `/api/v1/${seg}/@acme/${x}/versions/1.0.0/signatures`),
      both((x) => `/api/v1/${seg}/@acme/${x}/download/1.0.0`),
      both((x) => `/api/v1/${seg}/@acme/${x}/download/latest`),
      both((x) => `/api/v1/${seg}/@acme/${x}/dist-tags`),
      both((x) => `/api/v1/${seg}/@acme/${x}/star`),
      both((x) => `/api/v1/access/@acme/${x}`),
      [`/api/v1/blobs/sha256:${sha.get(n)}`, `/api/v1/blobs/sha256:${'0'.repeat(64)}`],
      // The package as an OCI repository of this server's /v2/.
      both((x) => `/v2/acme/${x}/tags/list`),
      both((x) => `/v2/acme/${x}/manifests/1.0.0`),
      both((x) => `/v2/acme/${x}/manifests/latest`),
      both((x) => `/v2/acme/${x}/blobs/sha256:${sha.get(n)}`),
    ];
    if (kind === 'agent') out.push(both((x) => `/a2a/@acme/${x}/.well-known/agent-card.json`));
    if (kind === 'mcp-server') {
      out.push(
        both((x) => `/v0/servers/${encodeURIComponent(`acme/${x}`)}/versions`),
        both((x) => `/v0.1/servers/${encodeURIComponent(`acme/${x}`)}/versions/1.0.0`),
        both((x) => `/v0.1/servers/${encodeURIComponent(`acme/${x}`)}/versions/latest`),
        both((x) => `/api/v1beta/registry/default/servers/${x}`),
        both((x) => `/registry/default/v0.1/servers/${encodeURIComponent(`acme/${x}`)}/versions/latest`),
      );
    }
    if (kind === 'skill') {
      out.push(
        both((x) => `/registry/default/v0.1/x/dev.toolhive/skills/acme/${x}`),
        both((x) => `/api/v1beta/skills/content?ref=${encodeURIComponent(`@acme/${x}`)}`),
      );
    }
    if (kind === 'recipe')
      out.push(
        both((x) => `/v1/recipes/${x}`),
        both((x) => `/v1/recipes/${x}/1.0.0`),
        both((x) => `/v1/recipes/${x}/1.0.0/download`),
      );
    return out;
  };

  describe.each(CALLERS)('as $name', (c) => {
    it('reads a private or internal package of every kind through every door exactly when allowed, else as a missing one', async () => {
      for (const kind of KINDS) {
        for (const v of ['private', 'internal'] as Vis[]) {
          const n = pkgName(kind, v);
          for (const [hidden, missing] of packageRoutes(kind, n)) await probe(c, mayRead(c, v), hidden, missing, [n, n.replace('cz-', 'cz-ghost-')]);
        }
      }
    });

    it('reports a run of a package it may not read exactly as one of a missing package', async () => {
      for (const v of ['private', 'internal'] as Vis[]) {
        const n = pkgName('agent', v);
        const run = (x: string) => ({ agent_name: `@acme/${x}`, agent_version: '1.0.0', success: true, duration_ms: 12 });
        if (mayRead(c, v) && !c.refused) continue;
        const h = await api(c).req('POST', '/api/v1/telemetry', run(n));
        const m = await api(c).req('POST', '/api/v1/telemetry', run(`cz-ghost-agent-${v}`));
        cases++;
        expect.soft({ status: h.status, body: neutral(h.body, [n, `cz-ghost-agent-${v}`]) }, `${c.name} POST /api/v1/telemetry (${v})`).toEqual({
          status: m.status,
          body: neutral(m.body, [n, `cz-ghost-agent-${v}`]),
        });
      }
    });

    it('changes nothing of a package it may not write, and learns nothing of one it may not read', async () => {
      for (const v of ['private', 'internal'] as Vis[]) {
        const n = pkgName('agent', v);
        const ghost = `cz-ghost-agent-${v}`;
        const names = [n, ghost];
        const writes: Array<[string, string, unknown?]> = [
          ['PUT', `/api/v1/agents/@acme/X/dist-tags/beta`, { version: '1.0.0' }],
          ['DELETE', `/api/v1/agents/@acme/X/dist-tags/beta`],
          ['POST', `/api/v1/agents/@acme/X/versions/1.0.0/deprecate`, { message: 'campaign' }],
          ['DELETE', `/api/v1/agents/@acme/X/1.0.0`],
          ['PUT', `/api/v1/access/@acme/X`, { visibility: 'public' }],
        ];
        // The owner and the administrator may; they are not asked here (the objects must stay as they are).
        if (c.name === 'owner (alice)' || c.name === 'administrator') return;
        for (const [method, path, body] of writes) {
          const h = await api(c).req(method, path.replace('X', n), body);
          cases++;
          if (!mayRead(c, v)) {
            // Exactly what a missing package gets: a 404, or the token's own refusal (401, or 403 for what
            // the token may never do, whatever the object), never a refusal that confirms the package.
            const m = await api(c).req(method, path.replace('X', ghost), body);
            expect.soft({ status: h.status, body: neutral(h.body, names) }, `${c.name} ${method} ${path} (${v})`).toEqual({ status: m.status, body: neutral(m.body, names) });
          } else {
            expect.soft([401, 403], `${c.name} ${method} ${path} (${v}): ${h.status}`).toContain(h.status);
          }
        }
        // An MCP server's status (the MCP registry's write) the same way.
        const s = pkgName('mcp-server', v);
        const h = await api(c).req('PATCH', `/v0.1/servers/${encodeURIComponent(`acme/${s}`)}/status`, { status: 'deprecated' });
        cases++;
        if (!mayRead(c, v)) {
          const m = await api(c).req('PATCH', `/v0.1/servers/${encodeURIComponent(`acme/cz-ghost-mcp-${v}`)}/status`, { status: 'deprecated' });
          expect
            .soft({ status: h.status, body: neutral(h.body, [s, `cz-ghost-mcp-${v}`]) }, `${c.name} PATCH status (${v})`)
            .toEqual({ status: m.status, body: neutral(m.body, [s, `cz-ghost-mcp-${v}`]) });
        } else expect.soft([401, 403], `${c.name} PATCH status (${v}): ${h.status}`).toContain(h.status);
      }
      // Nothing changed: the owner still sees every package as published.
      const owner = as.get('owner (alice)')!;
      for (const v of ['private', 'internal'] as Vis[]) {
        const d = await owner.req('GET', `/api/v1/agents/@acme/${pkgName('agent', v)}`);
        expect(d.status).toBe(200);
        expect((await owner.req('GET', `/api/v1/access/@acme/${pkgName('agent', v)}`)).body.visibility).toBe(v);
        expect((await owner.req('GET', `/api/v1/agents/@acme/${pkgName('agent', v)}/dist-tags`)).body).toEqual({ dist_tags: { latest: '1.0.0' } });
        const versions = (await owner.req('GET', `/api/v1/agents/@acme/${pkgName('agent', v)}/versions`)).body;
        expect(JSON.stringify(versions)).not.toMatch(/campaign/);
      }
    });

    it('sees private and internal objects in no list, count, search hit, trending, card or catalog unless it may read them', async () => {
      if (c.refused) {
        for (const path of ['/api/v1/packages', '/v0.1/servers', '/api/v1/search?q=quagga']) {
          cases++;
          expect.soft((await api(c).req('GET', path)).status, `${c.name} ${path}`).toBe(401);
        }
        return;
      }
      const expected = (kinds: Kind[]) =>
        (['internal', 'private'] as Vis[])
          .filter((v) => mayRead(c, v))
          .flatMap((v) => kinds.map((k) => pkgName(k, v)))
          .sort();
      const seen = async (path: string, kinds: Kind[]) => {
        const r = await api(c).req('GET', path);
        cases++;
        expect.soft(r.status, `${c.name} GET ${path}`).toBe(200);
        expect.soft(campaignNames(r.body), `${c.name} GET ${path}`).toEqual(expected(kinds));
        return r.body;
      };
      const count = (vs: number) => (['internal', 'private'] as Vis[]).filter((v) => mayRead(c, v)).length * vs;
      for (const kind of KINDS) {
        const body = await seen(`/api/v1/${SEGMENT[kind]}?scope=acme&limit=100`, [kind]);
        expect.soft(body.total, `${c.name} total of ${kind}`).toBe(count(1) + (kind === 'agent' ? 1 : 0));
        const t = await seen(`/api/v1/trending?period=week&kind=${kind}&limit=100`, [kind]);
        expect.soft(t.total, `${c.name} trending total of ${kind}`).toBe(count(1) + (kind === 'agent' ? 1 : 0));
      }
      const all = await seen('/api/v1/packages?scope=acme&limit=100', KINDS);
      expect.soft(all.total).toBe(count(4) + 1);
      const search = await seen('/api/v1/search?q=quagga&kind=all&limit=100', KINDS);
      expect.soft(search.total, `${c.name} search total`).toBe(count(4) + 1);
      const cats = (await api(c).req('GET', '/api/v1/categories?kind=agent')).body;
      cases++;
      expect.soft(cats.categories.find((x: { slug: string }) => x.slug === 'research').count, `${c.name} research count`).toBe(count(1) + 1);
      const profile = (await api(c).req('GET', '/api/v1/users/acme')).body;
      cases++;
      expect.soft(profile.agent_count, `${c.name} acme agent_count`).toBe(count(4) + 1);
      // The downloads of the packages it may read, as the administrator's list counts them (probes download too).
      const rows = (await admin.req('GET', '/api/v1/packages?scope=acme&limit=100')).body.packages as Array<{ name: string; download_count: number }>;
      const readable = rows.filter((r) => !/-(private|internal)$/.test(r.name) || mayRead(c, r.name.endsWith('private') ? 'private' : 'internal'));
      expect.soft(profile.total_downloads, `${c.name} acme total_downloads`).toBe(readable.reduce((n, r) => n + r.download_count, 0));
      await seen('/api/v1/users/acme/agents?limit=100', ['agent']);
      await seen('/api/v1/users/alice/stars?limit=100', ['agent']);
      await seen('/v0/servers?limit=100', ['mcp-server']);
      await seen('/v0.1/servers?limit=100', ['mcp-server']);
      await seen('/api/v1beta/registry/default/servers', ['mcp-server']);
      const reg = await api(c).req('GET', '/api/v1beta/registry');
      cases++;
      expect.soft(reg.body.registries[0].server_count, `${c.name} ToolHive server_count`).toBe(count(1));
      await seen('/registry/default/v0.1/servers?limit=100', ['mcp-server']);
      await seen('/registry/default/v0.1/x/dev.toolhive/skills?limit=100', ['skill']);
      await seen('/v1/recipes?limit=100', ['recipe']);
      await seen('/v1/search?q=quagga', ['recipe']);
      // The server's own A2A card lists public agents only, whoever asks.
      const card = await api(c).req('GET', '/.well-known/agent-card.json');
      cases++;
      expect.soft(campaignNames(card.body), `${c.name} server card`).toEqual([]);
      expect.soft(JSON.stringify(card.body)).toContain('cz-open');
      // OCI: the catalog, and the agentspace's repository.
      const catalog = await api(c).req('GET', '/v2/_catalog?n=1000');
      cases++;
      if (catalog.status === 200) {
        expect
          .soft(
            catalog.body.repositories.filter((r: string) => r.startsWith('acme/cz-space')),
            `${c.name} _catalog`,
          )
          .toEqual(c.private ? ['acme/cz-space-private'] : []);
        expect
          .soft(
            campaignNames(catalog.body).filter((x) => !mayRead(c, x.endsWith('private') ? 'private' : 'internal')),
            `${c.name} _catalog`,
          )
          .toEqual([]);
      } else expect.soft(catalog.status, `${c.name} _catalog`).toBe(401);
    });

    it("reads the org's private agentspace through /v2/ and Alquimia exactly when allowed", async () => {
      const routes: Array<[string, string]> = [
        ['/v2/acme/cz-space-private/tags/list', '/v2/acme/cz-space-ghost/tags/list'],
        ['/v2/acme/cz-space-private/manifests/1.0.0', '/v2/acme/cz-space-ghost/manifests/1.0.0'],
      ];
      for (const [hidden, missing] of routes) await probe(c, c.private, hidden, missing, ['cz-space-private', 'cz-space-ghost']);
      if (c.refused || c.name === 'anonymous') return;
      const host = new URL(server.url).host;
      const tags = await api(c).req('GET', `/registry/tags?repo_id=${encodeURIComponent(`${host}/acme/cz-space-private`)}`);
      cases++;
      if (c.private) expect.soft(tags.status, `${c.name} /registry/tags`).toBe(200);
      else {
        // As for a repository that does not exist (a runtime token is refused the route altogether).
        const ghost = await api(c).req('GET', `/registry/tags?repo_id=${encodeURIComponent(`${host}/acme/cz-space-ghost`)}`);
        expect.soft([403, 404], `${c.name} /registry/tags: ${JSON.stringify(tags.body).slice(0, 200)}`).toContain(tags.status);
        expect.soft({ status: tags.status, body: neutral(tags.body, ['cz-space-private', 'cz-space-ghost']) }, `${c.name} /registry/tags`).toEqual({
          status: ghost.status,
          body: neutral(ghost.body, ['cz-space-private', 'cz-space-ghost']),
        });
      }
    });

    it("reads the owner's managed objects only as the owner (or an administrator), through every door", async () => {
      const ghost = (id: string) => id.slice(0, -4) + 'zzzz';
      const routes = (): Array<[string, string]> => {
        const both = (f: (id: string) => string, id: string): [string, string] => [f(id), f(ghost(id))];
        return [
          both((id) => `/v1/files/${id}`, managed.file),
          both((id) => `/v1/files/${id}/content`, managed.file),
          both((id) => `/v1/skills/${id}`, managed.skill),
          both((id) => `/v1/skills/${id}/versions`, managed.skill),
          both((id) => `/v1/agents/${id}`, managed.agent),
          both((id) => `/v1/agents/${id}/versions`, managed.agent),
          both((id) => `/a2a/agents/${id}/.well-known/agent-card.json`, managed.agent),
          both((id) => `/v1/memory_stores/${id}`, managed.store),
          both((id) => `/v1/memory_stores/${id}/memories`, managed.store),
          both((id) => `/v1/vaults/${id}`, managed.vault),
          both((id) => `/v1/vaults/${id}/credentials`, managed.vault),
          both((id) => `/v1/environments/${id}`, managed.environment),
          both((id) => `/v1/sessions/${id}`, managed.session),
          both((id) => `/v1/sessions/${id}/events`, managed.session),
          both((id) => `/v1/sessions/${id}/resources`, managed.session),
          [`/api/v1/blobs/${fileDigest}`, `/api/v1/blobs/sha256:${'1'.repeat(64)}`],
        ];
      };
      for (const [hidden, missing] of routes()) {
        // A runtime token is refused every managed read, its own account's too (403 before any object is looked up).
        if (c.name === 'runtime token of another account' && !hidden.startsWith('/api/v1/blobs')) {
          const h = await api(c).req('GET', hidden);
          const m = await api(c).req('GET', missing);
          cases++;
          expect.soft({ status: h.status, body: neutral(h.body, []) }, `${c.name} GET ${hidden}`).toEqual({ status: m.status, body: neutral(m.body, []) });
          continue;
        }
        await probe(
          c,
          c.managed,
          hidden,
          missing,
          Object.values(managed).flatMap((id) => [id, ghost(id)]),
        );
      }
      // Nor in a list of theirs.
      if (!c.managed && !c.refused && c.name !== 'anonymous' && c.name !== 'runtime token of another account') {
        for (const path of ['/v1/files', '/v1/skills', '/v1/agents', '/v1/memory_stores', '/v1/vaults', '/v1/sessions', '/v1/environments']) {
          const r = await api(c).req('GET', path);
          cases++;
          expect.soft(r.status, `${c.name} GET ${path}`).toBe(200);
          expect.soft(JSON.stringify(r.body), `${c.name} GET ${path}`).not.toMatch(/cz-(agent|env|vault|memories|uploaded)|cz\.txt/);
        }
      }
    });

    it("reads an administrator's private and internal workloads, and their MCP proxy, exactly when allowed", async () => {
      for (const v of ['private', 'internal'] as Vis[]) {
        const may = v === 'private' ? c.name === 'administrator' : c.internal;
        const n = `cz-wl-${v}`;
        const g = `cz-wl-ghost-${v}`;
        for (const f of [(x: string) => `/api/v1beta/workloads/${x}`, (x: string) => `/api/v1beta/workloads/${x}/status`, (x: string) => `/api/v1beta/workloads/${x}/export`]) {
          await probe(c, may, f(n), f(g), [n, g]);
        }
        // The proxy: a readable workload answers (here 503: nothing runs behind it), a hidden one as a missing one.
        const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'campaign', version: '1' } } };
        const h = await api(c).req('POST', `/workloads/${n}/mcp`, init, { accept: 'application/json, text/event-stream' });
        cases++;
        if (!may || c.refused) {
          const m = await api(c).req('POST', `/workloads/${g}/mcp`, init, { accept: 'application/json, text/event-stream' });
          expect.soft({ status: h.status, body: neutral(h.body, [n, g]) }, `${c.name} POST /workloads/${n}/mcp`).toEqual({ status: m.status, body: neutral(m.body, [n, g]) });
          expect.soft([401, 404], `${c.name} POST /workloads/${n}/mcp`).toContain(h.status);
        } else expect.soft(h.status, `${c.name} POST /workloads/${n}/mcp`).not.toBe(404);
      }
      if (!c.refused) {
        const list = await api(c).req('GET', '/api/v1beta/workloads?all=true');
        cases++;
        const shown = ((list.body?.workloads ?? []) as Array<{ name: string }>).map((w) => w.name).filter((x) => x.startsWith('cz-wl-'));
        const want = [...(c.internal ? ['cz-wl-internal'] : []), ...(c.name === 'administrator' ? ['cz-wl-private'] : [])].sort();
        expect.soft(shown.sort(), `${c.name} workloads list`).toEqual(want);
      }
    });

    it('finds through /mcp only what it may read (tools and resources)', async () => {
      if (c.refused) return;
      const client = new Client({ name: 'campaign', version: '1' });
      const t = tokenOf.get(c.name);
      try {
        await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: t ? { authorization: `Bearer ${t}` } : {} } }));
      } catch (e) {
        // A caller the endpoint refuses altogether reads nothing through it.
        cases++;
        expect.soft(String(e), `${c.name} /mcp connect`).toMatch(/401/);
        return;
      }
      try {
        const search = (await client.callTool({ name: 'search_packages', arguments: { query: 'quagga', limit: 50 } })) as { structuredContent?: unknown };
        cases++;
        const want = (['internal', 'private'] as Vis[])
          .filter((v) => mayRead(c, v))
          .flatMap((v) => KINDS.map((k) => pkgName(k, v)))
          .sort();
        expect.soft(campaignNames(search.structuredContent), `${c.name} /mcp search_packages`).toEqual(want);
        const workloads = (await client.callTool({ name: 'list_workloads', arguments: { all: true } })) as { structuredContent?: { workloads?: Array<{ name: string }> } };
        cases++;
        const shown = (workloads.structuredContent?.workloads ?? []).map((w) => w.name).filter((x) => x.startsWith('cz-wl-'));
        expect.soft(shown.sort(), `${c.name} /mcp list_workloads`).toEqual([...(c.internal ? ['cz-wl-internal'] : []), ...(c.name === 'administrator' ? ['cz-wl-private'] : [])].sort());
        for (const v of ['private', 'internal'] as Vis[]) {
          for (const kind of KINDS) {
            const n = pkgName(kind, v);
            const got = (await client.callTool({ name: 'get_package', arguments: { package: `@acme/${n}` } })) as { isError?: boolean; content: Array<{ text?: string }> };
            const none = (await client.callTool({ name: 'get_package', arguments: { package: `@acme/cz-ghost-${kind}` } })) as { isError?: boolean; content: Array<{ text?: string }> };
            cases++;
            if (mayRead(c, v)) expect.soft(got.isError ?? false, `${c.name} /mcp get_package ${n}`).toBe(false);
            else expect.soft(neutral(got.content, [n, `cz-ghost-${kind}`]), `${c.name} /mcp get_package ${n}`).toBe(neutral(none.content, [n, `cz-ghost-${kind}`]));
          }
          const uri = `agentry://packages/acme/${pkgName('agent', v)}/readme`;
          const read = await client.readResource({ uri }).then(
            () => 'read',
            (e: unknown) => String(e),
          );
          cases++;
          expect.soft(read === 'read', `${c.name} /mcp resources/read ${uri}: ${read}`).toBe(mayRead(c, v));
        }
        let listed: unknown[] = [];
        let cursor: string | undefined;
        do {
          const page = await client.listResources(cursor ? { cursor } : {});
          listed = listed.concat(page.resources);
          cursor = page.nextCursor;
        } while (cursor);
        cases++;
        expect
          .soft(
            campaignNames(listed).every((x) => mayRead(c, x.endsWith('private') ? 'private' : 'internal')),
            `${c.name} /mcp resources/list ${campaignNames(listed).join(',')}`,
          )
          .toBe(true);
      } finally {
        await client.close();
      }
    });
  });

  it('counts in the open /metrics only the packages an anonymous caller may read', async () => {
    const text = (await anon.req('GET', '/metrics')).body as string;
    cases++;
    const line = text.split('\n').find((l) => l.startsWith('agentry_packages '));
    expect(line).toBe('agentry_packages 1');
  });

  it('parses every numeric id in a path strictly: 1.0, 01, 1e0, -1, 0x1 and huge ones are 400 or 404, and change nothing', async () => {
    const alice = as.get('owner (alice)')!;
    const t = await alice.req('POST', '/api/v1/tokens', { name: 'strict', permission: 'read' });
    const id = t.body.id as number;
    const key = await alice.req('POST', '/v1/api_keys', { name: 'strict-key' });
    const keyNumber = Number(String(key.body.id).replace(/^key_/, ''));
    const mirror = await admin.req('POST', '/api/v1/mirrors', { name: 'czm', kind: 'agentry', url: 'https://upstream.example.com' });
    expect(mirror.status, JSON.stringify(mirror.body)).toBe(201);
    const forms = (n: number) => [
      `${n}.0`,
      `0${n}`,
      `${n}e0`,
      `-${n}`,
      `0x${n.toString(16)}`,
      `+${n}`,
      `${n}%20`,
      `%20${n}`,
      '99999999999999999999999',
      '9007199254740993',
      '2147483648',
      '0',
      `${n}n`,
    ];
    const routes: Array<[Api, string, (x: string) => string]> = [
      [alice, 'DELETE', (x) => `/api/v1/tokens/${x}`],
      [alice, 'DELETE', (x) => `/v1/api_keys/key_${x}`],
      [admin, 'GET', (x) => `/api/v1/mirrors/czm/syncs/${x}`],
      [alice, 'GET', (x) => `/v1/agents/${managed.agent}/versions/${x}`],
    ];
    for (const [who, method, path] of routes) {
      const n = path === routes[1][2] ? keyNumber : path === routes[0][2] ? id : 1;
      for (const form of forms(n)) {
        const r = await who.req(method, path(form));
        cases++;
        expect.soft([400, 404], `${method} ${path(form)}: ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`).toContain(r.status);
      }
    }
    const tokens = (await alice.req('GET', '/api/v1/tokens')).body.tokens as Array<{ id: number; revoked_at: string | null }>;
    expect(tokens.find((x) => x.id === id)?.revoked_at).toBeNull();
    const keys = (await alice.req('GET', '/v1/api_keys')).body.data as Array<{ id: string }>;
    expect(keys.map((k) => k.id)).toContain(key.body.id);
  });

  it("loses the org's private packages the moment it leaves the org, through every door, and gets them back on joining", async () => {
    const carol = as.get('org member (carol)')!;
    const doors = (n: string) => [`/api/v1/agents/@acme/${n}`, `/v2/acme/${n}/tags/list`, `/a2a/@acme/${n}/.well-known/agent-card.json`, `/api/v1/access/@acme/${n}`];
    for (const path of doors('cz-agent-private')) expect((await carol.req('GET', path)).status, path).toBe(200);
    expect((await admin.req('DELETE', '/api/v1/orgs/acme/members/carol')).status).toBe(200);
    try {
      for (const path of doors('cz-agent-private')) {
        cases++;
        const h = await carol.req('GET', path);
        const m = await carol.req('GET', path.replace('cz-agent-private', 'cz-ghost-agent-private'));
        expect.soft({ status: h.status, body: neutral(h.body, ['cz-agent-private', 'cz-ghost-agent-private']) }, `former member GET ${path}`).toEqual({
          status: m.status,
          body: neutral(m.body, ['cz-agent-private', 'cz-ghost-agent-private']),
        });
      }
      for (const path of ['/api/v1/packages?scope=acme&limit=100', '/v0.1/servers?limit=100', '/v2/_catalog', '/api/v1/search?q=quagga&kind=all&limit=100']) {
        cases++;
        expect
          .soft(
            campaignNames((await carol.req('GET', path)).body).filter((x) => x.endsWith('private')),
            `former member GET ${path}`,
          )
          .toEqual([]);
      }
    } finally {
      expect((await admin.req('PUT', '/api/v1/orgs/acme/members/carol', { role: 'member' })).status).toBe(200);
    }
    for (const path of doors('cz-agent-private')) expect((await carol.req('GET', path)).status, path).toBe(200);
  });

  afterAll(() => {
    // How many cases this store ran (the report's figure).
    console.log(`access-control campaign (${store}): ${cases} cases`);
  });
});

describe.each(testStores)('/metrics counts packages through the read rule (%s)', (store) => {
  const METRICS_TOKEN = 'metrics-token-of-the-campaign-0001';
  const packagesLine = async (url: string, headers: Record<string, string> = {}) =>
    (await (await fetch(`${url}/metrics`, { headers })).text()).split('\n').find((l) => l.startsWith('agentry_packages '));
  const seed = async (server: TestServer) => {
    const admin = new Api(server.url, server.adminToken);
    for (const [name, access] of [
      ['shown', 'public'],
      ['inside', 'internal'],
      ['hidden', 'private'],
    ]) {
      const tar = await makeTarball({ 'agent.yaml': `name: ${name}\nversion: 1.0.0\ndescription: Metrics ${name}\nauthor: "@admin"\n` });
      expect((await admin.publish(`/api/v1/agents/@admin/${name}`, tar, { access })).status).toBe(200);
    }
  };

  it('behind the metrics token: every package of every visibility (the operator)', async () => {
    const server = await startTestServer({ store, env: { AGENTRY_METRICS_TOKEN: METRICS_TOKEN } });
    try {
      await seed(server);
      expect(await packagesLine(server.url, { authorization: `Bearer ${METRICS_TOKEN}` })).toBe('agentry_packages 3');
    } finally {
      await server.close();
    }
  });

  it('open, on a server that needs a token for every read: none (and the A2A server card lists public agents to signed-in callers)', async () => {
    const server = await startTestServer({ store, authRequiredForReads: true });
    try {
      await seed(server);
      expect(await packagesLine(server.url)).toBe('agentry_packages 0');
      // The server's own A2A card on a closed server: a 401 without a token, its public agents (only) with one.
      expect((await fetch(`${server.url}/.well-known/agent-card.json`)).status).toBe(401);
      const card = await new Api(server.url, server.adminToken).req('GET', '/.well-known/agent-card.json');
      expect(card.status, JSON.stringify(card.body)).toBe(200);
      const listed = JSON.stringify(card.body.skills);
      expect(listed).toContain('@admin/shown');
      expect(listed).not.toMatch(/inside|hidden/);
    } finally {
      await server.close();
    }
  });
});
