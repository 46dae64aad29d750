import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startOAuthProvider, type LocalOAuthProvider } from '../helpers/oauth-provider.js';
import { Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * One test per documented request of agentx's registry API (seed 004), asserting the documented
 * status and every documented response field. Sign-in runs against a local OAuth2 provider.
 */

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const gmailYaml = (version: string) =>
  [
    'name: gmail-agent',
    `version: ${version}`,
    'description: AI email assistant',
    'author: "@agentx"',
    'license: MIT',
    'repository: https://github.com/agentx-dev/gmail-agent',
    'tags: [email, gmail, productivity]',
    'category: productivity',
    'permissions: { filesystem: false, network: true, execute_commands: false }',
    'mcp_servers:',
    '  gmail: { command: npx, args: [gmail-mcp], env: {} }',
    '  calendar: { command: npx, args: [calendar-mcp], env: {} }',
    'examples:',
    '  - prompt: summarize unread emails from today',
    '  - prompt: draft a reply to John about the deadline',
  ].join('\n');

const gmailTarball = (version: string) => makeTarball({ 'agent.yaml': gmailYaml(version), 'README.md': '# Gmail Agent\n\nReads your mail.\n' });

/** The list item fields 004 documents for `GET /agents`. */
const expectListItem = (a: Record<string, any>) => {
  expect(Object.keys(a)).toEqual(
    expect.arrayContaining(['scope', 'name', 'full_name', 'description', 'category', 'tags', 'latest_version', 'download_count', 'star_count', 'is_verified', 'author', 'updated_at']),
  );
  expect(typeof a.download_count).toBe('number');
  expect(typeof a.star_count).toBe('number');
  expect(typeof a.is_verified).toBe('boolean');
  expect(Object.keys(a.author)).toEqual(expect.arrayContaining(['username', 'avatar_url']));
  expect(a.updated_at).toMatch(ISO);
};

describe.each(testStores)('agentx registry API, as documented (%s)', (store) => {
  let server: TestServer;
  let provider: LocalOAuthProvider;
  let admin: Api;
  let anon: Api;
  let agentx: Api;
  let sinanToken: string;

  beforeAll(async () => {
    provider = await startOAuthProvider({ id: 12345, login: 'sinan', name: 'Sinan', avatar_url: 'https://avatars.example.test/u/12345', email: 'sinan@example.test' });
    server = await startTestServer({ store, egressAllow: '127.0.0.1', env: provider.env() });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    agentx = admin.with((await admin.req('POST', '/api/v1/users', { username: 'agentx', display_name: 'agentx' })).body.token);
    for (const v of ['1.1.0', '1.2.0']) expect((await agentx.publish('/api/v1/agents/@agentx/gmail-agent', await gmailTarball(v))).status).toBe(200);
  });
  afterAll(async () => {
    await server.close();
    await provider.close();
  });

  /** Plays the browser: opens the auth URL at the provider, which redirects to redirect_uri with code and state. */
  const authorize = async (authUrl: string): Promise<{ code: string; state: string; location: URL }> => {
    const res = await fetch(authUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    return { code: location.searchParams.get('code')!, state: location.searchParams.get('state')!, location };
  };

  it('POST /auth/github answers the provider authorize URL for the redirect_uri', async () => {
    const r = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: 'http://localhost:9876/callback' });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(['auth_url']);
    const u = new URL(r.body.auth_url);
    expect(`${u.origin}${u.pathname}`).toBe(`${provider.url}/login/oauth/authorize`);
    expect(u.searchParams.get('client_id')).toBe(provider.clientId);
    expect(u.searchParams.get('redirect_uri')).toBe('http://localhost:9876/callback');
    expect(u.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('GET /auth/callback exchanges the code, creates the user and answers an Agentry token', async () => {
    const start = await anon.req('POST', '/api/v1/auth/github', { redirect_uri: 'http://localhost:9876/callback' });
    const { code, state, location } = await authorize(start.body.auth_url);
    expect(`${location.origin}${location.pathname}`).toBe('http://localhost:9876/callback');
    const r = await anon.req('GET', `/api/v1/auth/callback?code=${code}&state=${encodeURIComponent(state)}`);
    expect(r.status).toBe(200);
    expect(r.body.token).toMatch(/^agentry_[A-Za-z0-9_-]{43}$/);
    expect(r.body.user).toEqual({ username: 'sinan', display_name: 'Sinan', avatar_url: 'https://avatars.example.test/u/12345', github_id: 12345 });
    sinanToken = r.body.token;
    const who = await anon.with(sinanToken).req('GET', '/api/v1/whoami');
    expect(who.body).toMatchObject({ username: 'sinan', display_name: 'Sinan', scopes: ['@sinan'], token: { permission: 'publish' } });
  });

  it('GET /agents lists agents with pagination in the documented shape', async () => {
    const r = await anon.req('GET', '/api/v1/agents?category=productivity&sort=downloads&page=1&limit=20');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 1, page: 1, limit: 20 });
    expect(r.body.agents).toHaveLength(1);
    const a = r.body.agents[0];
    expectListItem(a);
    expect(a).toMatchObject({
      scope: '@agentx',
      name: 'gmail-agent',
      full_name: '@agentx/gmail-agent',
      description: 'AI email assistant',
      category: 'productivity',
      tags: ['email', 'gmail', 'productivity'],
      latest_version: '1.2.0',
      download_count: 0,
      star_count: 0,
      is_verified: false,
      author: { username: 'agentx', avatar_url: null },
    });
    const q = await anon.req('GET', '/api/v1/agents?q=email');
    expect(q.body.agents.map((x: { full_name: string }) => x.full_name)).toEqual(['@agentx/gmail-agent']);
    const tooMany = await anon.req('GET', '/api/v1/agents?limit=101');
    expect(tooMany.status).toBe(400);
  });

  it('GET /search answers the same format', async () => {
    const r = await anon.req('GET', '/api/v1/search?q=gmail&limit=20');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 1, page: 1, limit: 20 });
    expectListItem(r.body.agents[0]);
    expect(r.body.agents[0].full_name).toBe('@agentx/gmail-agent');
  });

  it('GET /agents/:scope/:name answers every documented detail field, and 404 for an unknown agent', async () => {
    const r = await anon.req('GET', '/api/v1/agents/@agentx/gmail-agent');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      scope: '@agentx',
      name: 'gmail-agent',
      full_name: '@agentx/gmail-agent',
      description: 'AI email assistant',
      readme: '# Gmail Agent\n\nReads your mail.\n',
      category: 'productivity',
      tags: ['email', 'gmail', 'productivity'],
      license: 'MIT',
      repository: 'https://github.com/agentx-dev/gmail-agent',
      latest_version: '1.2.0',
      download_count: 0,
      star_count: 0,
      is_verified: false,
      is_featured: false,
      author: { username: 'agentx', display_name: 'agentx', avatar_url: null },
      permissions: { filesystem: false, network: true, execute_commands: false },
      mcp_servers: ['gmail', 'calendar'],
      examples: [{ prompt: 'summarize unread emails from today' }, { prompt: 'draft a reply to John about the deadline' }],
    });
    expect(r.body.created_at).toMatch(ISO);
    expect(r.body.updated_at).toMatch(ISO);
    const missing = await anon.req('GET', '/api/v1/agents/@agentx/no-such-agent');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'Agent not found' });
  });

  it('GET /agents/:scope/:name/versions answers the version history, newest first', async () => {
    const r = await anon.req('GET', '/api/v1/agents/@agentx/gmail-agent/versions');
    expect(r.status).toBe(200);
    expect(r.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.2.0', '1.1.0']);
    for (const v of r.body.versions) {
      expect(typeof v.tarball_size).toBe('number');
      expect(v.download_count).toBe(0);
      expect(v.published_at).toMatch(ISO);
    }
  });

  it('GET /agents/:scope/:name/download/:version answers tarball_url, sha256 and size, and 404 for an unknown version', async () => {
    const r = await anon.req('GET', '/api/v1/agents/@agentx/gmail-agent/download/1.2.0');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['sha256', 'size', 'tarball_url']);
    expect(r.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    const blob = Buffer.from(await (await fetch(r.body.tarball_url)).arrayBuffer());
    expect(blob.length).toBe(r.body.size);
    const missing = await anon.req('GET', '/api/v1/agents/@agentx/gmail-agent/download/9.9.9');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'Version not found' });
  });

  it('GET /trending ranks by downloads inside the period, in the /agents format', async () => {
    const r = await anon.req('GET', '/api/v1/trending?period=week&limit=20');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 1, page: 1, limit: 20, period: 'week' });
    expectListItem(r.body.agents[0]);
    expect(r.body.agents[0]).toMatchObject({ full_name: '@agentx/gmail-agent', download_count: 1, period_downloads: 1 });
    const byDefault = await anon.req('GET', '/api/v1/trending');
    expect(byDefault.body.period).toBe('week');
    const bad = await anon.req('GET', '/api/v1/trending?period=year');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: 'Validation failed', details: ['querystring.period: must be one of day, week, month'] });
  });

  it('GET /categories lists every valid category with its count', async () => {
    const r = await anon.req('GET', '/api/v1/categories');
    expect(r.status).toBe(200);
    expect(r.body.categories.slice(0, 3)).toEqual([
      { slug: 'productivity', name: 'Productivity', count: 1 },
      { slug: 'devtools', name: 'Developer Tools', count: 0 },
      { slug: 'communication', name: 'Communication', count: 0 },
    ]);
    expect(r.body.categories.map((c: { slug: string }) => c.slug)).toContain('other');
  });

  it('PUT /agents/:scope/:name publishes (multipart: tarball, agent_yaml, readme) and answers success', async () => {
    const text = gmailYaml('1.3.0').replace('@agentx', '@sinan');
    const tgz = await makeTarball({ 'agent.yaml': text, 'README.md': '# Gmail Agent\n' });
    const sinan = anon.with(sinanToken);
    const r = await sinan.publish('/api/v1/agents/@sinan/gmail-agent', tgz, { agent_yaml: JSON.stringify(YAML.parse(text)), readme: '# Gmail Agent\n' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, version: '1.3.0', full_name: '@sinan/gmail-agent' });
    expect(r.body.url).toMatch(/\/@sinan\/gmail-agent$/);
  });

  it('PUT answers 400 with the validation details', async () => {
    const tgz = await makeTarball({ 'agent.yaml': 'name: broken\nversion: "1.2"\nauthor: "@sinan"\n' });
    const r = await anon.with(sinanToken).publish('/api/v1/agents/@sinan/broken', tgz);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('Validation failed');
    expect(r.body.details).toEqual(expect.arrayContaining(["agent.yaml: missing required field 'description'", "agent.yaml: version '1.2' is not valid semver"]));
  });

  it("PUT answers 403 outside the caller's scope", async () => {
    const r = await anon.with(sinanToken).publish('/api/v1/agents/@agentx/gmail-agent', await gmailTarball('9.0.0'));
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: 'You can only publish under @sinan scope' });
  });

  it('PUT answers 409 for a version that exists', async () => {
    const r = await agentx.publish('/api/v1/agents/@agentx/gmail-agent', await gmailTarball('1.2.0'));
    expect(r.status).toBe(409);
    // The seed's body, plus what the live version is and whether these bytes are identical to it.
    expect(r.body).toEqual({
      error: 'Version 1.2.0 already exists. Bump the version number.',
      existing: { version: '1.2.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), identical: expect.any(Boolean) },
    });
  });

  it('DELETE /agents/:scope/:name/:version unpublishes', async () => {
    expect((await agentx.publish('/api/v1/agents/@agentx/gmail-agent', await gmailTarball('1.2.1'))).status).toBe(200);
    const r = await agentx.req('DELETE', '/api/v1/agents/@agentx/gmail-agent/1.2.1');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, message: 'Version 1.2.1 unpublished' });
  });

  it('GET /users/:username answers the public profile with agent_count and total_downloads', async () => {
    const r = await anon.req('GET', '/api/v1/users/sinan');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ username: 'sinan', display_name: 'Sinan', avatar_url: 'https://avatars.example.test/u/12345', bio: null, website: null, agent_count: 1, total_downloads: 0 });
    expect(r.body.created_at).toMatch(ISO);
    const a = await anon.req('GET', '/api/v1/users/agentx');
    expect(a.body).toMatchObject({ username: 'agentx', agent_count: 1, total_downloads: 1 });
    expect((await anon.req('GET', '/api/v1/users/nobody-here')).status).toBe(404);
  });

  it('GET /users/:username/agents answers the /agents format', async () => {
    const r = await anon.req('GET', '/api/v1/users/sinan/agents');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 1, page: 1, limit: 20 });
    expectListItem(r.body.agents[0]);
    expect(r.body.agents[0]).toMatchObject({ full_name: '@sinan/gmail-agent', author: { username: 'sinan', avatar_url: 'https://avatars.example.test/u/12345' } });
    const none = await anon.req('GET', '/api/v1/users/admin/agents');
    expect(none.body).toMatchObject({ agents: [], total: 0 });
    expect((await anon.req('GET', '/api/v1/users/nobody-here/agents')).status).toBe(404);
  });

  it('POST /telemetry takes an anonymous report and answers ok', async () => {
    const r = await anon.req('POST', '/api/v1/telemetry', { agent_name: 'gmail-agent', agent_version: '1.2.0', success: true, duration_ms: 3500, os: 'darwin', cli_version: '0.1.0' });
    // Two agents are called gmail-agent now (@agentx and @sinan): the bare name is ambiguous.
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual(["agent_name: 'gmail-agent' is published under several scopes (@agentx, @sinan); send '@scope/gmail-agent'"]);
    const ok = await anon.req('POST', '/api/v1/telemetry', { agent_name: '@agentx/gmail-agent', agent_version: '1.2.0', success: true, duration_ms: 3500, os: 'darwin', cli_version: '0.1.0' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true });
  });

  it('answers every error as {error, details?} and rate-limit headers on every response', async () => {
    for (const r of [await anon.req('GET', '/api/v1/agents'), await anon.req('GET', '/api/v1/agents/@x/y'), await anon.with(sinanToken).req('GET', '/api/v1/whoami')]) {
      expect(Number(r.headers.get('x-ratelimit-limit'))).toBeGreaterThan(0);
      expect(r.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    }
    const bad = await anon.req('PUT', '/api/v1/agents/@sinan/x');
    expect(Object.keys(bad.body).every((k) => ['error', 'details'].includes(k))).toBe(true);
  });
});
