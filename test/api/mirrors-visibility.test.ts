import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient as RegistryClient } from '../../src/adapters/oci-client/index.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { OciClient, sha256 } from '../helpers/oci.js';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { publish as publishMcp } from './mcp/helpers.js';
import { assertBuilt } from '../cli/cli-harness.js';

/**
 * A mirror's visibility (docs/mirrors.md): what a mirror with private visibility brings in (an
 * Agentry upstream's agents and skills, an OCI upstream's images, an MCP upstream's servers) is read
 * by members of the organisation agentry-mirrors and administrators only; anonymous callers and
 * outsiders are answered as for an object that does not exist (404; 401 with a challenge for an
 * anonymous OCI pull, as for any repository it may not read), and no upstream is asked for them.
 * The upstream is a second Agentry process requiring a token for every read.
 */

const skillMd = (name: string, version: string) => `---\nname: ${name}\ndescription: Work with ${name} files.\nlicense: MIT\nmetadata:\n  version: "${version}"\n---\n# ${name}\n`;
const ociRun = dockerRegistryAvailable() || dockerRegistryRequired();

describe.each(testStores)('mirror visibility (%s)', (store) => {
  let upstream: ChildServer;
  let upDir: string;
  const upAdminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  let readToken: string;
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let outsider: Api;
  let member: Api;

  /** The reads of a mirrored package, each as `who` would make it: their statuses. */
  const reads = async (who: Api, path: string) => [(await who.req('GET', path)).status, (await who.req('GET', `${path}/versions`)).status, (await who.req('GET', `${path}/download/latest`)).status];

  beforeAll(async () => {
    assertBuilt();
    upDir = mkdtempSync(join(tmpdir(), 'agentry-vis-upstream-'));
    [upstream, server] = await Promise.all([
      startChildServer({ dataDir: upDir, adminToken: upAdminToken, extra: { AGENTRY_AUTH_REQUIRED_FOR_READS: 'true' } }),
      startTestServer({ store, egressAllow: '127.0.0.1' }),
    ]);
    const up = new Api(upstream.url, upAdminToken);
    const secretToken = (await up.req('POST', '/api/v1/users', { username: 'secret' })).body.token;
    readToken = (await up.req('POST', '/api/v1/users', { username: 'reader' })).body.token;
    const secretOnUp = new Api(upstream.url, secretToken);
    expect((await secretOnUp.publish('/api/v1/agents/@secret/helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'secret' }))).status).toBe(200);
    expect((await secretOnUp.publish('/api/v1/skills/@secret/summarize', await makeTarball({ 'SKILL.md': skillMd('summarize', '0.1.0') }))).status).toBe(200);
    expect((await up.req('POST', '/api/v1/scopes', { name: 'io.github.secret', owner: 'secret' })).status).toBe(201);
    const srv = {
      name: 'io.github.secret/tool',
      description: 'Behind a login',
      version: '1.0.0',
      packages: [{ registryType: 'npm', identifier: '@secret/tool', version: '1.0.0', transport: { type: 'stdio' } }],
    };
    expect((await publishMcp(secretOnUp, srv)).status).toBe(200);

    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    outsider = admin.with((await admin.req('POST', '/api/v1/users', { username: 'outsider' })).body.token);
    member = admin.with((await admin.req('POST', '/api/v1/users', { username: 'member' })).body.token);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await upstream?.kill();
    if (upDir) rmSync(upDir, { recursive: true, force: true });
  });

  it('defaults to private with a login and public without; refuses an unknown visibility with a clear 400; only administrators change it', async () => {
    const withLogin = await admin.req('POST', '/api/v1/mirrors', { kind: 'agentry', name: 'priv', url: upstream.url, username: 'token', password: readToken });
    expect(withLogin.status, JSON.stringify(withLogin.body)).toBe(201);
    expect(withLogin.body).toMatchObject({ name: 'priv', has_password: true, visibility: 'private' });
    const without = await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'open', url: 'https://mcp.example.com' });
    expect(without.body.visibility).toBe('public');
    expect((await admin.req('GET', '/api/v1/mirrors/priv')).body.visibility).toBe('private');
    expect((await admin.req('GET', '/api/v1/mirrors')).body.mirrors.map((m: { name: string; visibility: string }) => [m.name, m.visibility])).toEqual([
      ['open', 'public'],
      ['priv', 'private'],
    ]);
    // The organisation owning what mirrors bring in exists from the first mirror: members can be added before any fetch.
    expect((await admin.req('PUT', '/api/v1/orgs/agentry-mirrors/members/member', { role: 'member' })).status).toBe(200);

    for (const [method, path, body] of [
      ['POST', '/api/v1/mirrors', { kind: 'oci', name: 'x', url: 'https://example.com', visibility: 'secret' }],
      ['POST', '/api/v1/mirrors', { kind: 'oci', name: 'x', url: 'https://example.com', visibility: '' }],
      ['PATCH', '/api/v1/mirrors/open', { visibility: 'everyone' }],
    ] as const) {
      const r = await admin.req(method, path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body)).toContain('visibility must be one of public, internal, private');
    }
    expect((await admin.req('GET', '/api/v1/mirrors/x')).status).toBe(404);
    const empty = await admin.req('PATCH', '/api/v1/mirrors/open', {});
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.body)).toContain('nothing to change');
    // An unknown field is refused by adding as by changing (a misspelt setting is not silently ignored).
    for (const [method, path] of [
      ['POST', '/api/v1/mirrors'],
      ['PATCH', '/api/v1/mirrors/open'],
    ] as const) {
      const r = await admin.req(method, path, { kind: 'mcp', name: 'typo', url: 'https://mcp.example.com', visibility: 'public', ttl: 60 });
      expect(r.status, method).toBe(400);
      expect(r.body.details, method).toContain("body: unknown field 'ttl'");
    }
    expect((await admin.req('GET', '/api/v1/mirrors/typo')).status).toBe(404);
    expect((await admin.req('PATCH', '/api/v1/mirrors/open', { ttl_seconds: 0 })).status).toBe(400);
    expect((await admin.req('PATCH', '/api/v1/mirrors/nope', { visibility: 'private' })).status).toBe(404);
    expect((await anon.req('PATCH', '/api/v1/mirrors/open', { visibility: 'private' })).status).toBe(401);
    expect((await outsider.req('PATCH', '/api/v1/mirrors/open', { visibility: 'private' })).status).toBe(403);
    const changed = await admin.req('PATCH', '/api/v1/mirrors/open', { visibility: 'internal', ttl_seconds: 60 });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ name: 'open', visibility: 'internal', ttl_seconds: 60 });
    expect((await admin.req('DELETE', '/api/v1/mirrors/open')).status).toBe(200);
  });

  it('a private Agentry mirror: its agents and skills are 404 to anonymous callers and outsiders (no upstream asked for them), read by members', async () => {
    // Outsiders first: nothing is fetched for them, so nothing is stored (the administrator's listing has nothing yet).
    for (const who of [anon, outsider]) {
      expect(await reads(who, '/api/v1/agents/@secret/helper')).toEqual([404, 404, 404]);
      expect(await reads(who, '/api/v1/skills/@secret/summarize')).toEqual([404, 404, 404]);
      expect((await who.req('GET', '/api/v1/packages/@secret/helper')).status).toBe(404);
    }
    expect((await admin.req('GET', '/api/v1/packages?q=helper')).body.packages.map((p: { full_name: string }) => p.full_name)).not.toContain('@secret/helper');

    // A member of agentry-mirrors reads them (fetched then), as does an administrator.
    expect(await reads(member, '/api/v1/agents/@secret/helper')).toEqual([200, 200, 200]);
    expect(await reads(member, '/api/v1/skills/@secret/summarize')).toEqual([200, 200, 200]);
    expect((await member.req('GET', '/api/v1/agents/@secret/helper')).body.mirror).toEqual({ upstream: upstream.url });
    expect(await reads(admin, '/api/v1/skills/@secret/summarize')).toEqual([200, 200, 200]);

    // Now stored here, still 404 to the others, through every door, and left out of their listings and searches.
    for (const who of [anon, outsider]) {
      expect(await reads(who, '/api/v1/agents/@secret/helper')).toEqual([404, 404, 404]);
      expect(await reads(who, '/api/v1/skills/@secret/summarize')).toEqual([404, 404, 404]);
      expect((await who.req('GET', '/api/v1/packages/@secret/summarize')).status).toBe(404);
      expect((await who.req('GET', '/api/v1/packages?q=summarize')).body.packages.map((p: { full_name: string }) => p.full_name)).not.toContain('@secret/summarize');
      expect(JSON.stringify((await who.req('GET', '/api/v1/skills?q=summarize')).body)).not.toContain('@secret/summarize');
    }
    expect((await member.req('GET', '/api/v1/packages?q=summarize')).body.packages.map((p: { full_name: string }) => p.full_name)).toContain('@secret/summarize');
    expect(JSON.stringify((await member.req('GET', '/api/v1/skills?q=summarize')).body)).toContain('@secret/summarize');
  });

  it('a new visibility applies at once to what the mirror fetched before', async () => {
    expect((await admin.req('PATCH', '/api/v1/mirrors/priv', { visibility: 'public' })).body.visibility).toBe('public');
    expect(await reads(anon, '/api/v1/agents/@secret/helper')).toEqual([200, 200, 200]);
    expect(await reads(anon, '/api/v1/skills/@secret/summarize')).toEqual([200, 200, 200]);
    expect((await admin.req('PATCH', '/api/v1/mirrors/priv', { visibility: 'internal' })).body.visibility).toBe('internal');
    expect(await reads(anon, '/api/v1/agents/@secret/helper')).toEqual([404, 404, 404]);
    expect(await reads(outsider, '/api/v1/agents/@secret/helper')).toEqual([200, 200, 200]);
    expect((await admin.req('PATCH', '/api/v1/mirrors/priv', { visibility: 'private' })).body.visibility).toBe('private');
    expect(await reads(outsider, '/api/v1/skills/@secret/summarize')).toEqual([404, 404, 404]);
    expect(await reads(member, '/api/v1/skills/@secret/summarize')).toEqual([200, 200, 200]);
    // The access route says so too (to those who may read it).
    expect((await member.req('GET', '/api/v1/access/@secret/helper')).body.visibility).toBe('private');
  });

  it('a private MCP mirror: its servers are left out of every view for anonymous callers and outsiders, shown to members', async () => {
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'mcp-priv', url: upstream.url, username: 'token', password: readToken })).body.visibility).toBe('private');
    const names = async (who: Api) => ((await who.req('GET', '/v0.1/servers?search=secret')).body.servers as Array<{ server: { name: string } }>).map((s) => s.server.name);
    expect(await names(member)).toEqual(['io.github.secret/tool']);
    expect(await names(admin)).toEqual(['io.github.secret/tool']);
    for (const who of [anon, outsider]) {
      expect(await names(who)).toEqual([]);
      expect((await who.req('GET', `/v0.1/servers/${encodeURIComponent('io.github.secret/tool')}/versions/latest`)).status).toBe(404);
      expect((await who.req('GET', '/api/v1/mirrors/mcp-priv/servers')).status).toBe(404);
      const th = (await who.req('GET', '/api/v1beta/registry/default/servers')).body;
      expect(JSON.stringify(th)).not.toContain('io.github.secret/tool');
    }
    expect((await member.req('GET', '/api/v1/mirrors/mcp-priv/servers')).body.servers.map((s: { name: string }) => s.name)).toEqual(['io.github.secret/tool']);
    expect((await member.req('GET', `/v0.1/servers/${encodeURIComponent('io.github.secret/tool')}/versions/latest`)).status).toBe(200);
    expect((await admin.req('PATCH', '/api/v1/mirrors/mcp-priv', { visibility: 'public' })).status).toBe(200);
    expect(await names(anon)).toEqual(['io.github.secret/tool']);
    expect((await admin.req('DELETE', '/api/v1/mirrors/mcp-priv')).status).toBe(200);
  });

  describe.skipIf(!ociRun)('OCI', () => {
    let registry: DockerRegistry;
    beforeAll(async () => {
      registry = await startDockerRegistry();
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('a private OCI mirror: anonymous pulls are challenged and outsiders get NAME_UNKNOWN, as for a repository that does not exist; members pull', async () => {
      const layer = Buffer.from('private image layer');
      const pushed = await new RegistryClient({ retry: { retries: 0, baseDelayMs: 10, maxDelayMs: 100 } }).pushArtifact({
        ref: `${registry.host}/team/app:1.0`,
        artifactType: 'application/vnd.example.vis-test.v1',
        layers: [{ mediaType: 'text/plain', data: layer, title: 'content.txt' }],
      });
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'oci', name: 'hidden', url: registry.url, visibility: 'private' })).body.visibility).toBe('private');
      const v2 = new OciClient(server.url);
      const tokenOf = (api: Api) => api.token;
      const manifest = (c: OciClient, repo = 'hidden/team/app') => c.req('GET', `/v2/${repo}/manifests/1.0`, undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });

      // Anonymous: exactly what a repository that does not exist answers (a challenge to log in).
      const anonPull = await manifest(v2);
      const anonMissing = await manifest(v2, 'nowhere/team/app');
      expect(anonPull.status).toBe(401);
      expect(anonMissing.status).toBe(401);
      // An outsider: 404 NAME_UNKNOWN, the manifest and the blob alike (nothing is fetched for it).
      const outsiderPull = await manifest(v2.withToken(tokenOf(outsider)));
      expect(outsiderPull.status).toBe(404);
      expect(outsiderPull.body.toString()).toContain('NAME_UNKNOWN');
      expect((await v2.withToken(tokenOf(outsider)).req('GET', `/v2/hidden/team/app/blobs/${sha256(layer)}`)).status).toBe(404);
      // A member pulls (fetched now), and the blob.
      const memberPull = await manifest(v2.withToken(tokenOf(member)));
      expect(memberPull.status).toBe(200);
      expect(memberPull.headers.get('docker-content-digest')).toBe(pushed.digest);
      expect((await v2.withToken(tokenOf(member)).req('GET', `/v2/hidden/team/app/blobs/${sha256(layer)}`)).body.toString()).toBe('private image layer');
      // Stored now: still hidden from the outsider, through the OCI door and the blob route.
      expect((await manifest(v2.withToken(tokenOf(outsider)))).status).toBe(404);
      expect((await outsider.req('GET', `/api/v1/blobs/${sha256(layer)}`)).status).toBe(404);
      // Public: anyone pulls.
      expect((await admin.req('PATCH', '/api/v1/mirrors/hidden', { visibility: 'public' })).status).toBe(200);
      expect((await manifest(v2)).status).toBe(200);
    });
  });
});
