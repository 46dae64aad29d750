import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, makeTarball } from '../helpers/packages.js';
import { rawTarGz } from '../helpers/raw-tar.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/** ToolHive's registry API (003) and skills routes, over packages published through the native API. */

const serverJson = (o: Record<string, unknown>) => makeTarball({ 'server.json': JSON.stringify(o) });
const skillMd = (name: string, extra = '', version = '1.0.0') =>
  `---\nname: ${name}\ndescription: Work with ${name} files.\nlicense: MIT\ncompatibility: Needs python3\nallowed-tools: Bash(python:*) Read\nmetadata:\n  version: "${version}"\n  author: acme${extra}\n---\n# ${name}\n\nRun scripts/run.py.\n`;

const WEATHER = {
  $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
  name: 'acme/weather',
  title: 'Weather',
  description: 'Weather forecasts for any city',
  version: '1.2.0',
  repository: { url: 'https://github.com/acme/weather', source: 'github' },
  packages: [
    {
      registryType: 'oci',
      identifier: 'ghcr.io/acme/weather:1.2.0',
      transport: { type: 'streamable-http', url: 'http://localhost:8081/mcp' },
      environmentVariables: [
        { name: 'WEATHER_API_KEY', description: 'API key', isRequired: true, isSecret: true },
        { name: 'UNITS', description: 'metric or imperial', default: 'metric' },
      ],
    },
  ],
  _meta: {
    'io.modelcontextprotocol.registry/publisher-provided': {
      'io.github.stacklok': {
        'ghcr.io/acme/weather:1.2.0': {
          tier: 'Official',
          status: 'Active',
          tools: ['get_forecast', 'get_alerts'],
          tags: ['weather', 'forecast'],
          permissions: { network: { outbound: { allow_host: ['api.weather.example'], allow_port: [443] } } },
          provenance: { repository_uri: 'https://github.com/acme/weather', signer_identity: '/.github/workflows/release.yml' },
        },
      },
    },
  },
};

const NOTES = {
  name: 'acme/notes',
  description: 'Take notes from any MCP client',
  version: '0.3.0',
  packages: [{ registryType: 'npm', identifier: '@acme/notes-mcp', version: '0.3.0', transport: { type: 'stdio' }, packageArguments: [{ type: 'positional', value: '--stdio' }] }],
};

const DOCS = {
  name: 'acme/docs',
  description: 'Search the docs, hosted',
  version: '2.0.0',
  remotes: [{ type: 'streamable-http', url: 'https://docs.example.com/mcp', headers: [{ name: 'X-API-Key', description: 'Your key', isRequired: true, isSecret: true }] }],
};

describe.each(testStores)('ToolHive registry API and skills (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let anon: Api;
  const rootBase = mkdtempSync(join(tmpdir(), 'agentry-th-'));
  const skillsRoot = join(rootBase, 'skills');

  beforeAll(async () => {
    mkdirSync(join(skillsRoot, 'pdf-tools', 'scripts'), { recursive: true });
    writeFileSync(join(skillsRoot, 'pdf-tools', 'SKILL.md'), skillMd('pdf-tools'));
    writeFileSync(join(skillsRoot, 'pdf-tools', 'scripts', 'run.py'), 'print(1)\n');
    mkdirSync(join(skillsRoot, 'broken'), { recursive: true });
    writeFileSync(join(skillsRoot, 'broken', 'SKILL.md'), '---\nname: Broken--Name\n---\n');
    mkdirSync(join(rootBase, 'outside', 'evil'), { recursive: true });
    writeFileSync(join(rootBase, 'outside', 'evil', 'SKILL.md'), skillMd('evil'));
    symlinkSync(join(rootBase, 'outside', 'evil'), join(skillsRoot, 'evil'));

    server = await startTestServer({ store, skillsRoot });
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'alice' })).status).toBe(201);
    for (const s of [WEATHER, NOTES, DOCS]) expect((await alice.publish(`/api/v1/mcp-servers/@${s.name}`, await serverJson(s))).status).toBe(200);
    // An older version, published after the newer one: latest stays 1.2.0.
    expect((await alice.publish('/api/v1/mcp-servers/@acme/weather', await serverJson({ ...WEATHER, version: '1.1.0', description: 'Old weather' }))).status).toBe(200);
    // A server ToolHive cannot run (no OCI/npm/PyPI package, no remote) and a name shared by two namespaces.
    expect(
      (
        await alice.publish(
          '/api/v1/mcp-servers/@acme/nuget-only',
          await serverJson({ name: 'acme/nuget-only', description: 'A .NET tool', version: '1.0.0', packages: [{ registryType: 'nuget', identifier: 'Acme.Tool', transport: { type: 'stdio' } }] }),
        )
      ).status,
    ).toBe(200);
    expect((await alice.publish('/api/v1/mcp-servers/@alice/notes', await serverJson({ ...NOTES, name: 'alice/notes', description: "Alice's notes" }))).status).toBe(200);
    const skill = await makeTarball({ 'SKILL.md': skillMd('pdf-tools'), 'scripts/run.py': 'print("pdf")\n', 'references/spec.md': '# spec\n' });
    expect((await alice.publish('/api/v1/skills/@acme/pdf-tools', skill)).status).toBe(200);
    const skill2 = await makeTarball({ 'SKILL.md': skillMd('pdf-tools', '', '1.1.0'), 'scripts/run.py': 'print("pdf 1.1")\n' });
    expect((await alice.publish('/api/v1/skills/@acme/pdf-tools', skill2)).status).toBe(200);
    expect((await alice.publish('/api/v1/skills/@alice/csv-helper', await makeTarball({ 'SKILL.md': skillMd('csv-helper') }))).status).toBe(200);
  });
  afterAll(async () => {
    await server.close();
    rmSync(rootBase, { recursive: true, force: true });
  });

  describe('/api/v1beta/registry', () => {
    it('lists one registry, default', async () => {
      const r = await anon.req('GET', '/api/v1beta/registry');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        registries: [
          {
            name: 'default',
            type: 'api',
            source: `${server.url}/registry/default`,
            version: '1.0.0',
            last_updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            server_count: 4,
            auth_status: 'none',
            auth_type: 'none',
          },
        ],
      });
    });

    it('gets the default registry with servers, remote_servers and groups in 003 shapes', async () => {
      const r = await anon.req('GET', '/api/v1beta/registry/default');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'default', type: 'api', server_count: 4, registry: { version: '1.0.0', groups: [] } });
      const reg = r.body.registry;
      expect(Object.keys(reg.servers).sort()).toEqual(['acme/notes', 'alice/notes', 'weather']);
      expect(Object.keys(reg.remote_servers)).toEqual(['docs']);
      expect(reg.servers.weather).toEqual({
        name: 'weather',
        title: 'Weather',
        description: 'Weather forecasts for any city',
        tier: 'Official',
        status: 'Active',
        transport: 'streamable-http',
        tools: ['get_forecast', 'get_alerts'],
        tags: ['weather', 'forecast'],
        repository_url: 'https://github.com/acme/weather',
        metadata: { stars: 0, pulls: 0, last_updated: expect.any(String) },
        image: 'ghcr.io/acme/weather:1.2.0',
        target_port: 8081,
        env_vars: [
          { name: 'WEATHER_API_KEY', description: 'API key', required: true, secret: true },
          { name: 'UNITS', description: 'metric or imperial', required: false, default: 'metric' },
        ],
        permissions: { network: { outbound: { allow_host: ['api.weather.example'], allow_port: [443] } } },
        provenance: { repository_uri: 'https://github.com/acme/weather', signer_identity: '/.github/workflows/release.yml' },
      });
      expect(reg.servers['acme/notes']).toMatchObject({
        name: 'acme/notes',
        image: 'npx://@acme/notes-mcp@0.3.0',
        transport: 'stdio',
        args: ['--stdio'],
        tier: 'Community',
        status: 'Active',
        tools: [],
      });
      expect(reg.remote_servers.docs).toMatchObject({
        name: 'docs',
        url: 'https://docs.example.com/mcp',
        transport: 'streamable-http',
        headers: [{ name: 'X-API-Key', description: 'Your key', required: true, secret: true }],
      });
    });

    it('lists the servers of a registry as two arrays', async () => {
      const r = await anon.req('GET', '/api/v1beta/registry/default/servers');
      expect(r.status).toBe(200);
      expect(r.body.servers.map((s: { name: string }) => s.name).sort()).toEqual(['acme/notes', 'alice/notes', 'weather']);
      expect(r.body.remote_servers.map((s: { name: string }) => s.name)).toEqual(['docs']);
    });

    it('gets one server by its registry name or reverse-DNS name', async () => {
      const local = await anon.req('GET', '/api/v1beta/registry/default/servers/weather');
      expect(local.status).toBe(200);
      expect(local.body).toMatchObject({ is_remote: false, server: { name: 'weather', image: 'ghcr.io/acme/weather:1.2.0' } });
      expect(local.body.remote_server).toBeUndefined();
      const remote = await anon.req('GET', '/api/v1beta/registry/default/servers/docs');
      expect(remote.body).toMatchObject({ is_remote: true, remote_server: { name: 'docs', url: 'https://docs.example.com/mcp' } });
      const byFullName = await anon.req('GET', '/api/v1beta/registry/default/servers/alice%2Fnotes');
      expect(byFullName.body).toMatchObject({ is_remote: false, server: { name: 'alice/notes', description: "Alice's notes" } });
    });

    it('answers 404 for any registry but default, and for unknown servers, in plain text', async () => {
      for (const path of ['/api/v1beta/registry/other', '/api/v1beta/registry/other/servers', '/api/v1beta/registry/other/servers/weather', '/api/v1beta/registry/Default']) {
        const r = await anon.req('GET', path);
        expect(r.status, path).toBe(404);
        expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(r.body).toMatch(/^Registry not found/);
      }
      const missing = await anon.req('GET', '/api/v1beta/registry/default/servers/nope');
      expect(missing.status).toBe(404);
      expect(missing.body).toBe("Server not found: 'nope'\n");
      // A server ToolHive cannot run is not listed.
      expect((await anon.req('GET', '/api/v1beta/registry/default/servers/nuget-only')).status).toBe(404);
    });

    it('answers PUT (upstream source) from a non-administrator with 403 and says why; 404 for another registry (docs/mirrors.md has the rest)', async () => {
      const r = await alice.req('PUT', '/api/v1beta/registry/default', { url: 'https://example.com/registry.json' });
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(r.body).toMatch(/admin/i);
      expect((await alice.req('PUT', '/api/v1beta/registry/other', { url: 'https://example.com/r.json' })).status).toBe(404);
      const bad = await alice.req('PUT', '/api/v1beta/registry/default', { url: { not: 'a string' } });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatch(/^Validation failed: body\.url/);
    });

    it('answers add (501, as ToolHive), remove (403 for default, 404 otherwise) and refresh (200) with their documented statuses', async () => {
      const add = await alice.req('POST', '/api/v1beta/registry', { name: 'x' });
      expect(add.status).toBe(501);
      expect(typeof add.body).toBe('string');
      expect((await alice.req('DELETE', '/api/v1beta/registry/default')).status).toBe(403);
      expect((await alice.req('DELETE', '/api/v1beta/registry/other')).status).toBe(404);
      const refresh = await alice.req('POST', '/api/v1beta/registry/default/refresh');
      expect(refresh.status).toBe(200);
      expect(typeof refresh.body.message).toBe('string');
      expect((await alice.req('POST', '/api/v1beta/registry/other/refresh')).status).toBe(404);
    });
  });

  describe('/registry/{registryName}/v0.1 catalogue', () => {
    it('lists server.json documents, page-based, 1-based, with metadata', async () => {
      const r = await anon.req('GET', '/registry/default/v0.1/servers');
      expect(r.status).toBe(200);
      expect(r.body.metadata).toEqual({ total: 5, page: 1, limit: 50 });
      const weather = r.body.servers.find((s: { name: string }) => s.name === 'acme/weather');
      const { _meta, ...published } = weather;
      const { _meta: publishedMeta, ...expected } = WEATHER;
      expect(published).toEqual(expected);
      expect(_meta).toEqual({
        ...publishedMeta,
        'io.modelcontextprotocol.registry/official': { status: 'active', publishedAt: expect.any(String), updatedAt: expect.any(String), isLatest: true },
      });
      const p1 = await anon.req('GET', '/registry/anything/v0.1/servers?limit=2&page=1');
      const p2 = await anon.req('GET', '/registry/anything/v0.1/servers?limit=2&page=2');
      const p3 = await anon.req('GET', '/registry/anything/v0.1/servers?limit=2&page=3');
      const p4 = await anon.req('GET', '/registry/anything/v0.1/servers?limit=2&page=4');
      expect([p1, p2, p3].map((p) => p.body.servers.length)).toEqual([2, 2, 1]);
      expect(p4.body).toEqual({ metadata: { total: 5, page: 4, limit: 2 }, servers: [] });
      const names = [p1, p2, p3].flatMap((p) => p.body.servers.map((s: { name: string }) => s.name));
      expect(new Set(names).size).toBe(5);
      expect((await anon.req('GET', '/registry/default/v0.1/servers?limit=200')).status).toBe(200);
    });

    it('searches names and descriptions with q', async () => {
      const r = await anon.req('GET', '/registry/default/v0.1/servers?q=forecasts');
      expect(r.body.metadata.total).toBe(1);
      expect(r.body.servers.map((s: { name: string }) => s.name)).toEqual(['acme/weather']);
      const notes = await anon.req('GET', '/registry/default/v0.1/servers?q=notes');
      expect(notes.body.servers.map((s: { name: string }) => s.name).sort()).toEqual(['acme/notes', 'alice/notes']);
      expect((await anon.req('GET', '/registry/default/v0.1/servers?q=zzzunknown')).body).toEqual({ metadata: { total: 0, page: 1, limit: 50 }, servers: [] });
    });

    it('defaults bad paging values and caps limit at 200, as ToolHive does', async () => {
      const cases: [string, { page: number; limit: number }][] = [
        ['limit=0', { page: 1, limit: 50 }],
        ['limit=-1', { page: 1, limit: 50 }],
        ['limit=abc', { page: 1, limit: 50 }],
        ['limit=2.5', { page: 1, limit: 50 }],
        ['limit=201', { page: 1, limit: 200 }],
        ['limit=99999999999999999999', { page: 1, limit: 50 }],
        ['page=0', { page: 1, limit: 50 }],
        ['page=abc', { page: 1, limit: 50 }],
        ['page=-3&limit=2', { page: 1, limit: 2 }],
        ['page=2&limit=2', { page: 2, limit: 2 }],
        ['page=999999999999', { page: 42949672, limit: 50 }],
      ];
      for (const [q, expected] of cases) {
        const r = await anon.req('GET', `/registry/default/v0.1/servers?${q}`);
        expect(r.status, q).toBe(200);
        expect(r.body.metadata, q).toMatchObject(expected);
      }
      const skills = await anon.req('GET', '/registry/default/v0.1/x/dev.toolhive/skills?limit=500');
      expect(skills.status).toBe(200);
      expect(skills.body.metadata.limit).toBe(200);
    });

    it('gets the latest version of a server by its URL-encoded reverse-DNS name', async () => {
      const r = await anon.req('GET', '/registry/default/v0.1/servers/acme%2Fweather/versions/latest');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'acme/weather', version: '1.2.0', description: 'Weather forecasts for any city', packages: WEATHER.packages });
      const remote = await anon.req('GET', '/registry/x/v0.1/servers/acme%2Fdocs/versions/latest');
      expect(remote.body).toMatchObject({ name: 'acme/docs', remotes: DOCS.remotes });
    });

    it('answers 404 and 400 for servers with {code, message}', async () => {
      const missing = await anon.req('GET', '/registry/default/v0.1/servers/acme%2Fnope/versions/latest');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ code: 'not_found', message: 'MCP server not found' });
      const noSlash = await anon.req('GET', '/registry/default/v0.1/servers/weather/versions/latest');
      expect(noSlash.status).toBe(400);
      expect(noSlash.body).toEqual({ code: 'bad_request', message: "Server name 'weather' is not '<namespace>/<name>' (send the '/' as %2F)" });
      const badName = await anon.req('GET', '/registry/default/v0.1/servers/ac%20me%2Fx/versions/latest');
      expect(badName.status).toBe(404);
      const badEncoding = await anon.req('GET', '/registry/default/v0.1/servers/acme%ZZweather/versions/latest');
      expect(badEncoding.status).toBe(400);
      // A skill is not a server.
      expect((await anon.req('GET', '/registry/default/v0.1/servers/acme%2Fpdf-tools/versions/latest')).status).toBe(404);
    });

    it('lists and gets skills (x/dev.toolhive)', async () => {
      const r = await anon.req('GET', '/registry/default/v0.1/x/dev.toolhive/skills');
      expect(r.status).toBe(200);
      expect(r.body.metadata).toEqual({ total: 2, page: 1, limit: 50 });
      const pdf = r.body.skills.find((s: { name: string }) => s.name === 'pdf-tools');
      expect(pdf).toEqual({
        namespace: 'acme',
        name: 'pdf-tools',
        description: 'Work with pdf-tools files.',
        version: '1.1.0',
        status: 'active',
        license: 'MIT',
        compatibility: 'Needs python3',
        allowedTools: ['Bash(python:*)', 'Read'],
        metadata: { version: '1.1.0', author: 'acme' },
        icons: [],
        packages: [
          {
            registryType: 'oci',
            identifier: `${new URL(server.url).host}/acme/pdf-tools:1.1.0`,
            digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            url: expect.stringMatching(new RegExp(`^${server.url}/v2/acme/pdf-tools/manifests/sha256:`)),
            ref: '1.1.0',
          },
          {
            registryType: 'agentry',
            identifier: '@acme/pdf-tools',
            digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
            mediaType: 'application/gzip',
            url: expect.stringMatching(new RegExp(`^${server.url}/api/v1/blobs/sha256:`)),
            ref: '@acme/pdf-tools@1.1.0',
          },
        ],
        _meta: { 'dev.agentry': { publishedAt: expect.any(String), updatedAt: expect.any(String), downloads: 0 } },
      });
      const manifest = await fetch(pdf.packages[0].url, { headers: { accept: pdf.packages[0].mediaType } });
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get('docker-content-digest')).toBe(pdf.packages[0].digest);
      const blob = await fetch(pdf.packages[1].url);
      expect(blob.status).toBe(200);
      expect((await anon.req('GET', `/api/v1beta/skills/content?ref=${encodeURIComponent(pdf.packages[0].identifier)}`)).body.version).toBe('1.1.0');
      const one = await anon.req('GET', '/registry/default/v0.1/x/dev.toolhive/skills/acme/pdf-tools');
      expect(one.status).toBe(200);
      expect(one.body).toEqual(pdf);
      const q = await anon.req('GET', '/registry/default/v0.1/x/dev.toolhive/skills?q=csv&limit=1');
      expect(q.body).toMatchObject({ metadata: { total: 1, page: 1, limit: 1 }, skills: [{ namespace: 'alice', name: 'csv-helper' }] });
      const page2 = await anon.req('GET', '/registry/default/v0.1/x/dev.toolhive/skills?limit=1&page=2');
      expect(page2.body.skills).toHaveLength(1);
      for (const path of ['acme/nope', 'nobody/pdf-tools', 'acme/weather', 'a%20b/c']) {
        const missing = await anon.req('GET', `/registry/default/v0.1/x/dev.toolhive/skills/${path}`);
        expect(missing.status, path).toBe(404);
        expect(missing.body.code, path).toBe('not_found');
      }
    });

    it('keeps apart from the other /registry/... routes (Alquimia agentspaces)', async () => {
      // registryName 'agent' is any name to this door.
      const mine = await anon.req('GET', '/registry/agent/v0.1/servers');
      expect(mine.status).toBe(200);
      expect(mine.body.metadata.total).toBe(5);
      // Paths without v0.1 as their third segment are never answered by this door.
      for (const path of [
        '/registry',
        '/registry/',
        '/registry/agent',
        '/registry/agent/x',
        '/registry/agent/servers',
        '/registry/query',
        '/registry/tags',
        '/registry/default/v0/servers',
        '/registry/default/servers',
      ]) {
        const r = await anon.req('GET', path);
        expect(r.body?.metadata, path).toBeUndefined();
        expect(r.body?.servers, path).toBeUndefined();
        expect(r.body?.code, path).toBeUndefined();
      }
    });
  });

  it('serves reverse-DNS namespaces and deprecation status', async () => {
    expect((await admin.req('POST', '/api/v1/scopes', { name: 'io.github.acme', owner: 'acme' })).status).toBe(201);
    const rdns = { ...WEATHER, name: 'io.github.acme/forecast', description: 'Reverse-DNS forecasts', version: '3.0.0', _meta: undefined };
    expect((await alice.publish('/api/v1/mcp-servers/@io.github.acme/forecast', await serverJson(rdns))).status).toBe(200);
    const latest = await anon.req('GET', '/registry/default/v0.1/servers/io.github.acme%2Fforecast/versions/latest');
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ name: 'io.github.acme/forecast', version: '3.0.0', _meta: { 'io.modelcontextprotocol.registry/official': { status: 'active', isLatest: true } } });
    const th = await anon.req('GET', '/api/v1beta/registry/default/servers/forecast');
    expect(th.body).toMatchObject({ is_remote: false, server: { name: 'forecast', status: 'Active', image: 'ghcr.io/acme/weather:1.2.0' } });
    expect((await alice.req('POST', '/api/v1/mcp-servers/@io.github.acme/forecast/versions/3.0.0/deprecate', { message: 'Use weather' })).status).toBe(200);
    const deprecated = await anon.req('GET', '/registry/default/v0.1/servers/io.github.acme%2Fforecast/versions/latest');
    expect(deprecated.body._meta['io.modelcontextprotocol.registry/official']).toMatchObject({ status: 'deprecated', statusMessage: 'Use weather' });
    expect((await anon.req('GET', '/api/v1beta/registry/default/servers/forecast')).body.server.status).toBe('Deprecated');
  });

  describe('publishing a skill', () => {
    it('runs the whole Agent Skills check on the tarball, with the package name as the folder name', async () => {
      const caseOnly = await alice.publish('/api/v1/skills/@acme/PDF-Tools2', await makeTarball({ 'SKILL.md': skillMd('pdf-tools2') }));
      expect(caseOnly.status).toBe(400);
      expect(caseOnly.body.details).toEqual(["SKILL.md: name 'pdf-tools2' must equal the skill's folder name 'PDF-Tools2'"]);
      const fileNotFolder = await alice.publish('/api/v1/skills/@acme/pdf-tools3', await makeTarball({ 'SKILL.md': skillMd('pdf-tools3'), scripts: '#!/bin/sh\n' }));
      expect(fileNotFolder.status).toBe(400);
      expect(fileNotFolder.body.details).toEqual(["scripts: must be a folder (the specification's optional scripts/ directory), not a file"]);
      const many = await alice.publish(
        '/api/v1/skills/@acme/pdf-tools4',
        await makeTarball({ 'SKILL.md': `---\nname: other\ndescription: d\ncompatibility: ${'c'.repeat(501)}\nmetadata:\n  version: "1.0.0"\n---\n`, assets: 'x' }),
      );
      expect(many.body.details).toEqual([
        "SKILL.md: field 'compatibility' is longer than 500 characters",
        "SKILL.md: name 'other' must equal the skill's folder name 'pdf-tools4'",
        "assets: must be a folder (the specification's optional assets/ directory), not a file",
      ]);
      const mismatch = await alice.publish('/api/v1/skills/@acme/pdf-tools4', await makeTarball({ 'SKILL.md': skillMd('other'), assets: 'x' }));
      expect(mismatch.body.details).toEqual([
        "SKILL.md: name 'other' must equal the skill's folder name 'pdf-tools4'",
        "assets: must be a folder (the specification's optional assets/ directory), not a file",
      ]);
      expect((await anon.req('GET', '/api/v1/skills/@acme/pdf-tools4')).status).toBe(404);
    });
  });

  describe('/api/v1beta/skills', () => {
    it('gets the content of a stored skill by reference', async () => {
      const r = await anon.req('GET', `/api/v1beta/skills/content?ref=${encodeURIComponent('@acme/pdf-tools')}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        name: 'pdf-tools',
        description: 'Work with pdf-tools files.',
        version: '1.1.0',
        license: 'MIT',
        body: '# pdf-tools\n\nRun scripts/run.py.',
        files: [
          { path: 'SKILL.md', size: Buffer.byteLength(skillMd('pdf-tools', '', '1.1.0')) },
          { path: 'scripts/run.py', size: 17 },
        ],
      });
      const old = await anon.req('GET', `/api/v1beta/skills/content?ref=${encodeURIComponent('acme/pdf-tools@1.0.0')}`);
      expect(old.body).toMatchObject({ version: '1.0.0', files: [{ path: 'SKILL.md' }, { path: 'references/spec.md', size: 7 }, { path: 'scripts/run.py', size: 13 }] });
    });

    it('refuses content for unknown, non-skill, OCI and malformed references', async () => {
      const cases: Array<[string, number, RegExp]> = [
        ['@acme/nope', 404, /^Skill not found/],
        ['@acme/pdf-tools@9.9.9', 404, /^Version not found/],
        ['@acme/weather', 404, /^Skill not found/],
        ['ghcr.io/acme/skills/pdf:1.0.0', 400, /^'ghcr\.io' is another registry; this server reads only the skills it holds/],
        ['https://github.com/acme/skills', 400, /git or URL reference/],
        ['@acme', 400, /not a skill reference/],
      ];
      for (const [ref, status, message] of cases) {
        const r = await anon.req('GET', `/api/v1beta/skills/content?ref=${encodeURIComponent(ref)}`);
        expect(r.status, ref).toBe(status);
        expect(r.headers.get('content-type'), ref).toMatch(/^text\/plain/);
        expect(r.body, ref).toMatch(message);
      }
      expect((await anon.req('GET', '/api/v1beta/skills/content')).status).toBe(400);
    });

    it('reads a skill by an OCI reference to this server (/v2/), by tag, dist-tag or digest', async () => {
      const host = new URL(server.url).host;
      const content = (ref: string) => anon.req('GET', `/api/v1beta/skills/content?ref=${encodeURIComponent(ref)}`);
      const byTag = await content(`${host}/acme/pdf-tools:1.0.0`);
      expect(byTag.status).toBe(200);
      expect(byTag.body).toMatchObject({ name: 'pdf-tools', version: '1.0.0', files: [{ path: 'SKILL.md' }, { path: 'references/spec.md' }, { path: 'scripts/run.py' }] });
      expect((await content(`${host}/acme/pdf-tools`)).body.version).toBe('1.1.0');
      const manifest = await anon.req('HEAD', '/v2/acme/pdf-tools/manifests/1.0.0', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
      const digest = manifest.headers.get('docker-content-digest');
      expect(digest).toMatch(/^sha256:/);
      expect((await content(`${host}/acme/pdf-tools@${digest}`)).body).toMatchObject({ version: '1.0.0' });
      expect((await anon.req('POST', '/api/v1beta/skills/validate', { ref: `${host}/acme/pdf-tools:1.0.0` })).body).toEqual({ valid: true, errors: [], warnings: [] });
      const notSkill = await content(`${host}/acme/weather:1.2.0`);
      expect(notSkill.status).toBe(404);
      expect(notSkill.body).toMatch(/is an artifact of type application\/vnd\.agentry\.mcp-server\.v1, not a skill/);
      expect((await content(`${host}/acme/pdf-tools:9.9.9`)).status).toBe(404);
      expect((await content(`${host}/acme/nope:1.0.0`)).status).toBe(404);
      const deep = await content(`${host}/acme/skills/pdf-tools:1.0.0`);
      expect(deep.status).toBe(400);
      expect(deep.body).toMatch(/OCI repositories here are <scope>\/<name>/);
    });

    it('validates a stored skill by reference', async () => {
      expect((await anon.req('POST', '/api/v1beta/skills/validate', { ref: '@acme/pdf-tools@1.0.0' })).body).toEqual({ valid: true, errors: [], warnings: [] });
      expect((await anon.req('POST', '/api/v1beta/skills/validate', { ref: '@acme/missing' })).status).toBe(404);
    });

    it('validates an uploaded archive (multipart or raw gzip) and reports every violation', async () => {
      const good = await makeTarball({ 'pdf-tools/SKILL.md': skillMd('pdf-tools'), 'pdf-tools/scripts/run.py': 'x' });
      const form = new FormData();
      form.set('archive', new Blob([good], { type: 'application/gzip' }), 'pdf-tools.tgz');
      expect((await anon.req('POST', '/api/v1beta/skills/validate', form)).body).toEqual({ valid: true, errors: [], warnings: [] });

      const bad = await makeTarball({
        'SKILL.md': `---\nname: Bad--Name\ndescription: ""\ncompatibility: ${'c'.repeat(501)}\nmetadata:\n  stars: 5\nversion: 1.0.0\n---\n`,
        assets: 'not a folder',
      });
      const raw = await anon.req('POST', '/api/v1beta/skills/validate?name=my-skill', bad, { 'content-type': 'application/gzip' });
      expect(raw.status).toBe(200);
      expect(raw.body).toEqual({
        valid: false,
        errors: [
          "SKILL.md: unknown field 'version'",
          "SKILL.md: field 'name' value 'Bad--Name' must be lower-case letters (a-z), digits and single hyphens, not starting or ending with a hyphen",
          "SKILL.md: missing required field 'description'",
          "SKILL.md: field 'compatibility' is longer than 500 characters",
          'SKILL.md: metadata.stars must be a string (quote it: "5")',
          "SKILL.md: name 'Bad--Name' must equal the skill's folder name 'my-skill'",
          "assets: must be a folder (the specification's optional assets/ directory), not a file",
        ],
        warnings: ['SKILL.md: has no instructions after the front matter', 'SKILL.md: no metadata.version; publishing to Agentry needs one (or a version sent with the upload)'],
      });
      const bare = await anon.req('POST', '/api/v1beta/skills/validate', await makeTarball({ 'SKILL.md': skillMd('x') }), { 'content-type': 'application/gzip' });
      expect(bare.body).toEqual({ valid: true, errors: [], warnings: ["SKILL.md: the folder name is unknown, so 'name' could not be compared with it"] });
    });

    it('refuses hostile or broken archives with a clear 400', async () => {
      const escape = rawTarGz([
        { path: 'SKILL.md', body: skillMd('x') },
        { path: '../../etc/cron.d/x', body: 'x' },
      ]);
      const r = await anon.req('POST', '/api/v1beta/skills/validate', escape, { 'content-type': 'application/gzip' });
      expect(r.status).toBe(400);
      expect(r.body).toMatch(/escapes the package with '\.\.'/);
      const notGzip = await anon.req('POST', '/api/v1beta/skills/validate', 'plain text', { 'content-type': 'application/gzip' });
      expect(notGzip.status).toBe(400);
      expect(notGzip.body).toMatch(/not gzip-compressed/);
    });

    it('validates a server-side path only under the skills root', async () => {
      expect((await anon.req('POST', '/api/v1beta/skills/validate', { path: 'pdf-tools' })).body).toEqual({ valid: true, errors: [], warnings: [] });
      expect((await anon.req('POST', '/api/v1beta/skills/validate', { path: join(skillsRoot, 'pdf-tools') })).body.valid).toBe(true);
      const broken = await anon.req('POST', '/api/v1beta/skills/validate', { path: 'broken' });
      expect(broken.body).toMatchObject({
        valid: false,
        errors: expect.arrayContaining(["SKILL.md: missing required field 'description'", "SKILL.md: name 'Broken--Name' must equal the skill's folder name 'broken'"]),
      });
      const refusals: Array<[string, number, RegExp]> = [
        ['../outside/evil', 403, /outside the server's skills root/],
        ['pdf-tools/../../outside/evil', 403, /outside the server's skills root/],
        [join(rootBase, 'outside', 'evil'), 403, /outside the server's skills root/],
        ['/etc', 403, /outside the server's skills root/],
        ['evil', 403, /through a symbolic link/],
        ['missing', 404, /No skill folder/],
      ];
      for (const [path, status, message] of refusals) {
        const r = await anon.req('POST', '/api/v1beta/skills/validate', { path });
        expect(r.status, path).toBe(status);
        expect(r.body, path).toMatch(message);
      }
    });

    it('refuses an empty, ambiguous or unknown validate body', async () => {
      for (const body of [{}, { path: 'pdf-tools', ref: '@acme/pdf-tools' }]) {
        const r = await anon.req('POST', '/api/v1beta/skills/validate', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body).toMatch(/^Send exactly one skill to validate/);
      }
      expect((await anon.req('POST', '/api/v1beta/skills/validate', { folder: 'x' })).status).toBe(400);
      expect((await anon.req('POST', '/api/v1beta/skills/validate', 'text', { 'content-type': 'text/plain' })).status).toBe(415);
    });
  });

  it('documents every route in /openapi.json', async () => {
    const doc = (await anon.req('GET', '/openapi.json')).body;
    for (const path of [
      '/api/v1beta/registry',
      '/api/v1beta/registry/{name}',
      '/api/v1beta/registry/{name}/servers',
      '/api/v1beta/registry/{name}/servers/{serverName}',
      '/api/v1beta/skills/validate',
      '/api/v1beta/skills/content',
      '/registry/{registryName}/v0.1/servers',
      '/registry/{registryName}/v0.1/servers/{serverName}/versions/latest',
      '/registry/{registryName}/v0.1/x/dev.toolhive/skills',
      '/registry/{registryName}/v0.1/x/dev.toolhive/skills/{namespace}/{skillName}',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/api/v1beta/registry/{name}'].put).toBeDefined();
  });
});

describe('skills validate without a skills root', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('refuses every path with 403 and says how to enable it', async () => {
    const r = await new Api(server.url).req('POST', '/api/v1beta/skills/validate', { path: '/tmp' });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/no skills root \(set AGENTRY_SKILLS_ROOT\)/);
  });
});
