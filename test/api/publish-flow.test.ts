import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

describe.each(testStores)('publish → find → pull (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'alice', display_name: 'Alice' });
    expect(created.status).toBe(201);
    alice = admin.with(created.body.token);
  });
  afterAll(() => server.close());

  it('publishes an agent and serves it in agentx shapes', async () => {
    const tgz = await agentTarball({ name: 'gmail-agent', version: '1.2.0', scope: 'alice', description: 'AI email assistant' });
    const r = await alice.publish('/api/v1/agents/@alice/gmail-agent', tgz);
    expect(r.body).toMatchObject({ success: true });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, version: '1.2.0', full_name: '@alice/gmail-agent' });

    const d = await alice.with(undefined).req('GET', '/api/v1/agents/@alice/gmail-agent');
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ scope: '@alice', name: 'gmail-agent', latest_version: '1.2.0', description: 'AI email assistant', readme: '# gmail-agent\n' });
    expect(d.body.author.username).toBe('alice');

    const v = await alice.req('GET', '/api/v1/agents/alice/gmail-agent/versions');
    expect(v.body.versions).toHaveLength(1);
    expect(v.body.versions[0]).toMatchObject({ version: '1.2.0', tarball_size: tgz.length, download_count: 0 });

    const dl = await alice.req('GET', '/api/v1/agents/@alice/gmail-agent/download/1.2.0');
    expect(dl.status).toBe(200);
    expect(dl.body.size).toBe(tgz.length);
    const blob = await fetch(dl.body.tarball_url);
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).equals(tgz)).toBe(true);
    const etag = blob.headers.get('etag')!;
    expect(etag).toBe(`"sha256:${dl.body.sha256}"`);
    const again = await fetch(dl.body.tarball_url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    const after = await alice.req('GET', '/api/v1/agents/@alice/gmail-agent');
    expect(after.body.download_count).toBe(1);
  });

  it('finds packages by full-text search', async () => {
    const s = await alice.req('GET', '/api/v1/search?q=email');
    expect(s.status).toBe(200);
    expect(s.body.agents.map((a: { full_name: string }) => a.full_name)).toContain('@alice/gmail-agent');
    const none = await alice.req('GET', '/api/v1/search?q=zzzznotthere');
    expect(none.body).toMatchObject({ agents: [], total: 0 });
  });

  it('keeps latest on the highest release, not the last published', async () => {
    for (const version of ['2.0.0', '1.5.0', '3.0.0-beta.1']) {
      const r = await alice.publish('/api/v1/agents/@alice/gmail-agent', await agentTarball({ name: 'gmail-agent', version, scope: 'alice' }));
      expect(r.status).toBe(200);
    }
    const d = await alice.req('GET', '/api/v1/agents/@alice/gmail-agent');
    expect(d.body.latest_version).toBe('2.0.0');
    const v = await alice.req('GET', '/api/v1/agents/@alice/gmail-agent/versions');
    expect(v.body.versions.map((x: { version: string }) => x.version)).toEqual(['3.0.0-beta.1', '2.0.0', '1.5.0', '1.2.0']);
  });

  it('gives a first publish its latest as it creates the package: the pinned one, or the only one beside another tag', async () => {
    // A scope of its own: the listings of alice's scope below stay as they are.
    const made = await admin.req('POST', '/api/v1/users', { username: 'fresh', display_name: 'Fresh' });
    expect(made.status).toBe(201);
    const fresh = admin.with(made.body.token);
    const at = (name: string) => `/api/v1/agents/@fresh/${name}`;
    const pinned = await fresh.publish(at('first-pin'), await agentTarball({ name: 'first-pin', version: '2.0.0-rc.1', scope: 'fresh' }), { tag: 'latest' });
    expect(pinned.status).toBe(200);
    expect(pinned.body).toMatchObject({ version: '2.0.0-rc.1' });
    expect((await fresh.req('GET', at('first-pin'))).body).toMatchObject({ latest_version: '2.0.0-rc.1', dist_tags: { latest: '2.0.0-rc.1' } });
    // Pinned by the first publish: a higher release does not move it.
    expect((await fresh.publish(at('first-pin'), await agentTarball({ name: 'first-pin', version: '2.0.0', scope: 'fresh' }))).status).toBe(200);
    expect((await fresh.req('GET', at('first-pin'))).body.latest_version).toBe('2.0.0-rc.1');

    const beta = await fresh.publish(at('first-beta'), await agentTarball({ name: 'first-beta', version: '1.0.0-beta.1', scope: 'fresh', description: 'Beta first' }), { tag: 'beta' });
    expect(beta.status).toBe(200);
    const d = await fresh.req('GET', at('first-beta'));
    expect(d.body).toMatchObject({ latest_version: '1.0.0-beta.1', description: 'Beta first', dist_tags: { beta: '1.0.0-beta.1', latest: '1.0.0-beta.1' } });
    // Not pinned: the first release takes latest, the beta tag stays.
    expect((await fresh.publish(at('first-beta'), await agentTarball({ name: 'first-beta', version: '1.0.0', scope: 'fresh' }))).status).toBe(200);
    expect((await fresh.req('GET', at('first-beta'))).body).toMatchObject({ latest_version: '1.0.0', dist_tags: { beta: '1.0.0-beta.1', latest: '1.0.0' } });
    expect((await fresh.req('GET', '/api/v1/search?q=first-beta')).body.agents.map((a: { full_name: string }) => a.full_name)).toContain('@fresh/first-beta');
  });

  it('refuses the same version again with 409', async () => {
    const r = await alice.publish('/api/v1/agents/@alice/gmail-agent', await agentTarball({ name: 'gmail-agent', version: '1.2.0', scope: 'alice' }));
    expect(r.status).toBe(409);
    expect(r.body.error).toBe('Version 1.2.0 already exists. Bump the version number.');
  });

  it('publishes the other kinds through their own routes and the generic one', async () => {
    const skill = await makeTarball({ 'SKILL.md': '---\nname: pdf-tools\ndescription: Work with PDF files\nmetadata:\n  version: 0.1.0\n---\n# PDF tools\nUse pdftotext.\n' });
    expect((await alice.publish('/api/v1/skills/@alice/pdf-tools', skill)).status).toBe(200);
    const server = await makeTarball({ 'server.json': JSON.stringify({ name: 'alice/weather', description: 'Weather MCP server', version: '1.0.0' }) });
    expect((await alice.publish('/api/v1/mcp-servers/@alice/weather', server)).status).toBe(200);
    const recipe = await makeTarball({ 'recipe.yaml': 'name: summarize\nversion: 0.2.0\ndescription: Summarize documents\n' });
    expect((await alice.publish('/api/v1/packages/@alice/summarize', recipe)).status).toBe(200);
    const all = await alice.req('GET', '/api/v1/packages?scope=alice&sort=name');
    expect(all.body.packages.map((p: { full_name: string; kind: string }) => `${p.kind}:${p.full_name}`)).toEqual([
      'agent:@alice/gmail-agent',
      'skill:@alice/pdf-tools',
      'recipe:@alice/summarize',
      'mcp-server:@alice/weather',
    ]);
    const wrongDoor = await alice.req('GET', '/api/v1/agents/@alice/pdf-tools');
    expect(wrongDoor.status).toBe(404);
  });

  it('filters, sorts and paginates search results with a total', async () => {
    const cats = ['devtools', 'finance', 'devtools', 'research', 'devtools'];
    for (const [i, category] of cats.entries()) {
      const extra = `tags: [zeta${i % 2 === 0 ? ', even' : ''}]`;
      const tgz = await makeTarball({
        'agent.yaml': `name: zeta-${i}\nversion: 1.0.${i}\ndescription: Zeta helper number ${i}\nauthor: "@alice"\ncategory: ${category}\n${extra}\n`,
      });
      expect((await alice.publish(`/api/v1/agents/@alice/zeta-${i}`, tgz)).status).toBe(200);
    }
    const page1 = await alice.req('GET', '/api/v1/search?q=zeta&limit=2&sort=name');
    expect(page1.body).toMatchObject({ total: 5, page: 1, limit: 2 });
    expect(page1.body.agents.map((a: { name: string }) => a.name)).toEqual(['zeta-0', 'zeta-1']);
    const page3 = await alice.req('GET', '/api/v1/search?q=zeta&limit=2&page=3&sort=name');
    expect(page3.body.agents.map((a: { name: string }) => a.name)).toEqual(['zeta-4']);
    const beyond = await alice.req('GET', '/api/v1/search?q=zeta&limit=2&page=9');
    expect(beyond.body).toMatchObject({ agents: [], total: 5 });
    const devtools = await alice.req('GET', '/api/v1/agents?q=zeta&category=devtools');
    expect(devtools.body.total).toBe(3);
    const even = await alice.req('GET', '/api/v1/agents?tag=even&sort=name');
    expect(even.body.agents.map((a: { name: string }) => a.name)).toEqual(['zeta-0', 'zeta-2', 'zeta-4']);
    const prefix = await alice.req('GET', '/api/v1/search?q=hel%20numb');
    expect(prefix.body.total).toBe(5);
    const bad = await alice.req('GET', '/api/v1/search?q=zeta&sort=sideways');
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual(['querystring.sort: must be one of downloads, stars, newest, relevance, name']);
    const missing = await alice.req('GET', '/api/v1/search');
    expect(missing.status).toBe(400);
  });
});
