import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysAgo, recordPastDownloads } from '../helpers/backdate.js';
import { Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

const agent = (name: string, scope: string, category: string) =>
  makeTarball({ 'agent.yaml': `name: ${name}\nversion: 1.0.0\ndescription: The ${name} agent\nauthor: "@${scope}"\ncategory: ${category}\n` });

describe.each(testStores)('stars, trending, categories (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let ada: Api;
  let ben: Api;

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    ada = admin.with((await admin.req('POST', '/api/v1/users', { username: 'ada' })).body.token);
    ben = admin.with((await admin.req('POST', '/api/v1/users', { username: 'ben' })).body.token);
    for (const [name, category] of [
      ['alpha', 'devtools'],
      ['beta', 'devtools'],
      ['gamma', 'research'],
      ['delta', 'writing'],
    ]) {
      expect((await ada.publish(`/api/v1/agents/@ada/${name}`, await agent(name, 'ada', category))).status).toBe(200);
    }
    const skill = await makeTarball({ 'SKILL.md': '---\nname: notes\ndescription: Take notes\nmetadata:\n  version: 1.0.0\n---\nBody\n' });
    expect((await ben.publish('/api/v1/skills/@ben/notes', skill)).status).toBe(200);
  });
  afterAll(() => server.close());

  it('stars once per user, shows star_count in lists and details, and unstars', async () => {
    const s1 = await ben.req('PUT', '/api/v1/agents/@ada/beta/star');
    expect(s1.status).toBe(200);
    expect(s1.body).toEqual({ success: true, starred: true, star_count: 1 });
    expect((await ben.req('PUT', '/api/v1/agents/@ada/beta/star')).body.star_count).toBe(1);
    expect((await ada.req('PUT', '/api/v1/agents/@ada/beta/star')).body.star_count).toBe(2);
    expect((await ben.req('PUT', '/api/v1/agents/@ada/gamma/star')).body.star_count).toBe(1);

    expect((await anon.req('GET', '/api/v1/agents/@ada/beta')).body.star_count).toBe(2);
    const byStars = await anon.req('GET', '/api/v1/agents?sort=stars');
    expect(byStars.body.agents.map((a: { name: string; star_count: number }) => [a.name, a.star_count]).slice(0, 2)).toEqual([
      ['beta', 2],
      ['gamma', 1],
    ]);
    expect((await ben.req('GET', '/api/v1/agents/@ada/beta/star')).body).toEqual({ starred: true, star_count: 2 });
    expect((await anon.req('GET', '/api/v1/agents/@ada/beta/star')).body).toEqual({ starred: false, star_count: 2 });

    const starred = await anon.req('GET', '/api/v1/users/ben/stars');
    expect(starred.body.packages.map((p: { full_name: string }) => p.full_name).sort()).toEqual(['@ada/beta', '@ada/gamma']);
    expect(starred.body.total).toBe(2);

    const un = await ben.req('DELETE', '/api/v1/agents/@ada/beta/star');
    expect(un.body).toEqual({ success: true, starred: false, star_count: 1 });
    expect((await ben.req('DELETE', '/api/v1/agents/@ada/beta/star')).body.star_count).toBe(1);
    expect((await anon.req('GET', '/api/v1/agents/@ada/beta')).body.star_count).toBe(1);
  });

  it('needs a signed-in user with more than a read token to star, and a package that exists', async () => {
    const anonStar = await anon.req('PUT', '/api/v1/agents/@ada/alpha/star');
    expect(anonStar.status).toBe(401);
    const readToken = (await ben.req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' })).body.token;
    const ro = await anon.with(readToken).req('PUT', '/api/v1/agents/@ada/alpha/star');
    expect(ro.status).toBe(403);
    expect((await ben.req('PUT', '/api/v1/agents/@ada/nothing/star')).status).toBe(404);
    // A skill is starred through its own route, not the agents one.
    expect((await ada.req('PUT', '/api/v1/agents/@ben/notes/star')).status).toBe(404);
    expect((await ada.req('PUT', '/api/v1/skills/@ben/notes/star')).body.star_count).toBe(1);
    expect((await anon.req('GET', '/api/v1/agents/@ada/alpha')).body.star_count).toBe(0);
  });

  it('ranks trending by downloads inside the period, from the per-day counts', async () => {
    // Today: alpha 1, beta 3. Ten days ago: gamma 50. Forty days ago: delta 500.
    await anon.req('GET', '/api/v1/agents/@ada/alpha/download/1.0.0');
    for (let i = 0; i < 3; i++) await anon.req('GET', '/api/v1/agents/@ada/beta/download/latest');
    await recordPastDownloads(server, 'ada/gamma', daysAgo(10), 50);
    await recordPastDownloads(server, 'ada/delta', daysAgo(40), 500);
    await recordPastDownloads(server, 'ada/alpha', daysAgo(6), 5);

    const names = (r: { body: { agents: Array<{ name: string; period_downloads: number }> } }) => r.body.agents.map((a) => [a.name, a.period_downloads]);
    const day = await anon.req('GET', '/api/v1/trending?period=day');
    expect(names(day)).toEqual([
      ['beta', 3],
      ['alpha', 1],
    ]);
    expect(day.body.since).toBe(daysAgo(0));
    const week = await anon.req('GET', '/api/v1/trending?period=week');
    expect(names(week)).toEqual([
      ['alpha', 6],
      ['beta', 3],
    ]);
    expect(week.body.since).toBe(daysAgo(6));
    const month = await anon.req('GET', '/api/v1/trending?period=month&limit=2');
    expect(names(month)).toEqual([
      ['gamma', 50],
      ['alpha', 6],
    ]);
    expect(month.body).toMatchObject({ total: 3, limit: 2, page: 1 });
    const page2 = await anon.req('GET', '/api/v1/trending?period=month&limit=2&page=2');
    expect(names(page2)).toEqual([['beta', 3]]);
    // Lists sort by all-time downloads: delta's old 500 still counts there.
    expect((await anon.req('GET', '/api/v1/agents')).body.agents[0].name).toBe('delta');
    const devtools = await anon.req('GET', '/api/v1/trending?period=month&category=devtools');
    expect(names(devtools)).toEqual([
      ['alpha', 6],
      ['beta', 3],
    ]);
    expect((await anon.req('GET', '/api/v1/trending?limit=0')).status).toBe(400);
    expect((await anon.req('GET', '/api/v1/trending?limit=101')).status).toBe(400);
  });

  it('counts published agents per category (or another kind), every category listed', async () => {
    const r = await anon.req('GET', '/api/v1/categories');
    const counts = Object.fromEntries(r.body.categories.map((c: { slug: string; count: number }) => [c.slug, c.count]));
    expect(counts).toMatchObject({ devtools: 2, research: 1, writing: 1, productivity: 0, other: 0 });
    expect(r.body.categories).toHaveLength(12);
    expect((await ada.req('DELETE', '/api/v1/agents/@ada/delta/1.0.0')).status).toBe(200);
    const after = await anon.req('GET', '/api/v1/categories');
    expect(after.body.categories.find((c: { slug: string }) => c.slug === 'writing').count).toBe(0);
    const skills = await anon.req('GET', '/api/v1/categories?kind=skill');
    expect(skills.body.categories.every((c: { count: number }) => c.count === 0)).toBe(true);
  });

  it("lists a user's agents with the /agents format and pagination", async () => {
    const r = await anon.req('GET', '/api/v1/users/ada/agents?sort=name&limit=2');
    expect(r.body).toMatchObject({ total: 3, page: 1, limit: 2 });
    expect(r.body.agents.map((a: { name: string }) => a.name)).toEqual(['alpha', 'beta']);
    const ben = await anon.req('GET', '/api/v1/users/ben/agents');
    expect(ben.body).toMatchObject({ agents: [], total: 0 });
    const profile = await anon.req('GET', '/api/v1/users/ada');
    expect(profile.body).toMatchObject({ agent_count: 3, total_downloads: 1 + 3 + 50 + 5 });
  });
});
