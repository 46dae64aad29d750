import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTarball, Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** What the console's package and search pages read: downloads per day, files of a version, status facets. */
describe.each(testStores)('package insights (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let anon: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    anon = admin.with(undefined);
    for (const v of ['1.0.0', '1.1.0']) expect((await alice.publish('/api/v1/agents/@alice/tool', await agentTarball({ name: 'tool', version: v, scope: 'alice' }))).status).toBe(200);
    expect(
      (await alice.publish('/api/v1/skills/@alice/pdf', await makeTarball({ 'SKILL.md': '---\nname: pdf\ndescription: PDFs\nmetadata:\n  version: 1.0.0\n---\n# PDF\n', 'scripts/a.sh': 'echo a\n' })))
        .status,
    ).toBe(200);
    expect((await alice.publish('/api/v1/agents/@alice/hidden', await agentTarball({ name: 'hidden', version: '1.0.0', scope: 'alice' }), { access: 'private' })).status).toBe(200);
    expect((await alice.publish('/api/v1/agents/@alice/old', await agentTarball({ name: 'old', version: '1.0.0', scope: 'alice' }))).status).toBe(200);
    await alice.req('POST', '/api/v1/agents/@alice/old/versions/1.0.0/deprecate', { message: 'Use @alice/tool' });
    await alice.req('POST', '/api/v1/agents/@alice/tool/versions/1.0.0/deprecate', { message: 'old' });
    for (let i = 0; i < 3; i++) await anon.req('GET', '/api/v1/agents/@alice/tool/download/latest');
    await alice.req('GET', '/api/v1/agents/@alice/hidden/download/1.0.0');
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('counts downloads per UTC day, every day of the window listed, oldest first', async () => {
    const r = await anon.req('GET', '/api/v1/agents/@alice/tool/downloads?days=7');
    expect(r.status).toBe(200);
    expect(r.body.days).toHaveLength(7);
    const today = new Date().toISOString().slice(0, 10);
    expect(r.body.days[6]).toEqual({ day: today, downloads: 3 });
    expect(r.body.days.slice(0, 6).every((d: { downloads: number }) => d.downloads === 0)).toBe(true);
    expect(r.body.since).toBe(r.body.days[0].day);
    expect(r.body.total).toBe(3);
    expect((await anon.req('GET', '/api/v1/packages/@alice/tool/downloads')).body.days).toHaveLength(30);
  });

  it('refuses a window outside 1..365 days, and a package the caller may not read is the same 404 as a missing one', async () => {
    for (const days of ['0', '366', '1.5', 'x', '-1']) expect((await anon.req('GET', `/api/v1/agents/@alice/tool/downloads?days=${days}`)).status, days).toBe(400);
    const missing = await anon.req('GET', '/api/v1/agents/@alice/nope/downloads');
    const hidden = await bob.req('GET', '/api/v1/agents/@alice/hidden/downloads');
    expect([missing.status, hidden.status]).toEqual([404, 404]);
    expect(hidden.body).toEqual(missing.body);
    expect((await alice.req('GET', '/api/v1/agents/@alice/hidden/downloads?days=1')).body.total).toBe(1);
    // Another kind's segment does not find it.
    expect((await anon.req('GET', '/api/v1/skills/@alice/tool/downloads')).status).toBe(404);
  });

  it("lists a version's files (by version or dist-tag), sorted, with their sizes", async () => {
    const r = await anon.req('GET', '/api/v1/agents/@alice/tool/versions/latest/files');
    expect(r.status).toBe(200);
    expect(r.body.version).toBe('1.1.0');
    expect(r.body.files.map((f: { path: string }) => f.path)).toEqual(['README.md', 'agent.yaml', 'prompts/system.md']);
    expect(r.body.files[2]).toEqual({ path: 'prompts/system.md', size: 'You are helpful.'.length });
    expect((await anon.req('GET', '/api/v1/packages/@alice/pdf/versions/1.0.0/files')).body.files.map((f: { path: string }) => f.path)).toEqual(['SKILL.md', 'scripts/a.sh']);
    expect((await anon.req('GET', '/api/v1/agents/@alice/tool/versions/9.9.9/files')).status).toBe(404);
    expect((await anon.req('GET', '/api/v1/agents/@alice/hidden/versions/1.0.0/files')).status).toBe(404);
    expect((await alice.req('GET', '/api/v1/agents/@alice/hidden/versions/1.0.0/files')).status).toBe(200);
    expect((await anon.req('GET', `/api/v1/agents/@alice/tool/versions/${'1'.repeat(65)}/files`)).status).toBe(400);
  });

  it('filters lists by verified and by whether the latest version is deprecated, totals included', async () => {
    const names = async (q: string, api = anon) => {
      const r = await api.req('GET', `/api/v1/agents?sort=name&${q}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.total).toBe(r.body.agents.length);
      return r.body.agents.map((a: { name: string }) => a.name);
    };
    // tool's 1.0.0 is deprecated but its latest (1.1.0) is not.
    expect(await names('deprecated=true')).toEqual(['old']);
    expect(await names('deprecated=false')).toEqual(['tool']);
    expect(await names('deprecated=false', alice)).toEqual(['hidden', 'tool']);
    expect(await names('verified=true')).toEqual([]);
    expect(await names('verified=false')).toEqual(['old', 'tool']);
    expect((await anon.req('GET', '/api/v1/packages?deprecated=false&kind=skill')).body.packages.map((p: { name: string }) => p.name)).toEqual(['pdf']);
    for (const bad of ['deprecated=maybe', 'verified=2', 'verified=']) expect((await anon.req('GET', `/api/v1/agents?${bad}`)).status, bad).toBe(400);
  });
});
