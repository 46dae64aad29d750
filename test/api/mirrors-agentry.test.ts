import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAgentryUpstream } from '../../src/adapters/mirrors/agentry-upstream.js';
import { syncAgentryMirror, type AgentrySyncDeps } from '../../src/core/mirrors/agentry-sync.js';
import type { MirrorRecord } from '../../src/core/mirrors/mirror.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { Api, agentTarball, agentYaml, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { expireMirrorChecks } from '../helpers/backdate.js';
import { CliWorkspace, assertBuilt } from '../cli/cli-harness.js';

/**
 * Agentry upstreams (issue 18 part 1, "another Agentry"): a second Agentry process on 127.0.0.1 as
 * the upstream (it requires a token for every read; the mirror logs in with one), allow-listed in
 * the egress policy as a user would; signatures made on the upstream verify on the mirror.
 */

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const skillMd = (name: string, version: string) => `---\nname: ${name}\ndescription: Work with ${name} files.\nlicense: MIT\nmetadata:\n  version: "${version}"\n---\n# ${name}\n`;
const recipeYaml = (name: string, version: string) => `name: ${name}\nversion: ${version}\ndescription: A test recipe\n`;

/** The file under `dir` named `name` (the fs blob store keeps a blob under its hex digest). */
const findFiles = (dir: string, name: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? findFiles(p, name) : e.name === name ? [p] : [];
  });

/**
 * A man in the middle between the mirror and the upstream: forwards everything, but for one
 * version serves other bytes and announces their sha256 (so only the signature can tell).
 */
const startTamperingProxy = async (upstream: string, swap: { realSha: string; fake: Buffer }, garbageFor?: string): Promise<{ url: string; close(): Promise<void> }> => {
  const fakeSha = sha(swap.fake);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '/';
      if (garbageFor && path.startsWith(garbageFor)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{not json');
        return;
      }
      if (path === `/api/v1/blobs/sha256:${fakeSha}`) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(swap.fake);
        return;
      }
      const up = await fetch(upstream + path, { headers: { authorization: req.headers.authorization ?? '' } });
      let body = Buffer.from(await up.arrayBuffer());
      if (path.endsWith('/versions')) {
        const json = JSON.parse(body.toString()) as { versions: Array<{ sha256: string; tarball_size: number }> };
        for (const v of json.versions) if (v.sha256 === swap.realSha) Object.assign(v, { sha256: fakeSha, tarball_size: swap.fake.length });
        body = Buffer.from(JSON.stringify(json));
      }
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' }).end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
};

describe.each(testStores)('Agentry mirrors (%s)', (store) => {
  let upstream: ChildServer;
  let upDir: string;
  const upAdminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  let up: Api;
  let acmeOnA: Api;
  let acmeToken: string;
  /** A read token on the upstream: the mirror's password. */
  let readToken: string;
  let server: TestServer;
  let admin: Api;
  let anon: Api;
  let ws: CliWorkspace;
  let upWs: CliWorkspace;
  let stopped = false;

  /** Starts a sync job of the mirror `up` and waits for it to finish. */
  const syncJob = async (body: { filter: string }) => {
    const started = await admin.req('POST', '/api/v1/mirrors/up/sync', body);
    expect(started.status).toBe(202);
    let job = started.body;
    for (let i = 0; i < 300 && job.progress.phase !== 'finished'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await admin.req('GET', `/api/v1/mirrors/up/syncs/${started.body.id}`)).body;
    }
    return job;
  };

  beforeAll(async () => {
    assertBuilt();
    upDir = mkdtempSync(join(tmpdir(), 'agentry-upstream-'));
    [upstream, server] = await Promise.all([
      startChildServer({ dataDir: upDir, adminToken: upAdminToken, extra: { AGENTRY_AUTH_REQUIRED_FOR_READS: 'true' } }),
      startTestServer({ store, egressAllow: '127.0.0.1' }),
    ]);
    up = new Api(upstream.url, upAdminToken);
    acmeToken = (await up.req('POST', '/api/v1/users', { username: 'acme' })).body.token;
    readToken = (await up.req('POST', '/api/v1/users', { username: 'reader' })).body.token;
    acmeOnA = new Api(upstream.url, acmeToken);
    admin = new Api(server.url, server.adminToken);
    anon = new Api(server.url);
    ws = new CliWorkspace(server.url);
    upWs = new CliWorkspace(upstream.url);
    await upWs.ok(['login', '--token', acmeToken]);
  }, 60_000);
  afterAll(async () => {
    ws?.cleanup();
    upWs?.cleanup();
    await server?.close();
    await upstream?.kill();
    if (upDir) rmSync(upDir, { recursive: true, force: true });
  });

  it('without the token, the upstream refuses: a 502 that never shows the password, nothing stored', async () => {
    expect((await acmeOnA.publish('/api/v1/agents/@acme/helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'acme' }))).status).toBe(200);
    // With a wrong password: the upstream answers 401; the mirror says the upstream failed.
    const wrong = `agentry_${randomBytes(32).toString('base64url')}`;
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'agentry', name: 'anon', url: upstream.url, username: 'token', password: wrong })).status).toBe(201);
    // A mirror with a login is private by default: an anonymous read does not make it ask its upstream.
    expect((await anon.req('GET', '/api/v1/agents/@acme/helper')).status).toBe(404);
    const refused = await admin.req('GET', '/api/v1/agents/@acme/helper');
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatch(/answered 401/);
    expect(JSON.stringify(refused.body)).not.toContain(wrong);
    expect((await admin.req('DELETE', '/api/v1/mirrors/anon')).status).toBe(200);
    // No mirror: an unknown package is a plain 404 again.
    expect((await anon.req('GET', '/api/v1/agents/@acme/helper')).status).toBe(404);
  });

  it('fetches an agent, a skill and a recipe on demand, through every read, marked as mirrored and read-only', async () => {
    expect((await acmeOnA.publish('/api/v1/agents/@acme/helper', await agentTarball({ name: 'helper', version: '1.1.0', scope: 'acme' }))).status).toBe(200);
    expect((await acmeOnA.req('PUT', '/api/v1/agents/@acme/helper/dist-tags/stable', { version: '1.0.0' })).status).toBe(200);
    expect((await acmeOnA.req('POST', '/api/v1/agents/@acme/helper/versions/1.0.0/deprecate', { message: 'use 1.1' })).status).toBe(200);
    const skill = await makeTarball({ 'SKILL.md': skillMd('summarize', '0.3.0') });
    expect((await acmeOnA.publish('/api/v1/skills/@acme/summarize', skill)).status).toBe(200);
    const recipe = await makeTarball({ 'recipe.yaml': recipeYaml('cook', '2.0.0') });
    expect((await acmeOnA.publish('/api/v1/recipes/@acme/cook', recipe)).status).toBe(200);
    expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'agentry', name: 'up', url: upstream.url, username: 'token', password: readToken, ttl_seconds: 2, visibility: 'public' })).status).toBe(
      201,
    );

    const agent = await anon.req('GET', '/api/v1/agents/@acme/helper');
    expect(agent.status).toBe(200);
    expect(agent.body).toMatchObject({ full_name: '@acme/helper', latest_version: '1.1.0', dist_tags: { latest: '1.1.0', stable: '1.0.0' }, mirror: { upstream: upstream.url } });
    const versions = await anon.req('GET', '/api/v1/agents/@acme/helper/versions');
    expect(versions.body.versions.map((v: { version: string; deprecated: string | null }) => [v.version, v.deprecated])).toEqual([
      ['1.1.0', null],
      ['1.0.0', 'use 1.1'],
    ]);
    const upVersions = (await up.req('GET', '/api/v1/agents/@acme/helper/versions')).body.versions;
    expect(versions.body.versions.map((v: { sha256: string }) => v.sha256)).toEqual(upVersions.map((v: { sha256: string }) => v.sha256));

    // The skill first through the agentx-compatible download route, the recipe through the generic one.
    const dl = await anon.req('GET', '/api/v1/skills/@acme/summarize/download/latest');
    expect(dl.status).toBe(200);
    expect(dl.body.sha256).toBe(sha(skill));
    const bytes = Buffer.from(await (await fetch(dl.body.tarball_url)).arrayBuffer());
    expect(sha(bytes)).toBe(sha(skill));
    expect((await anon.req('GET', '/api/v1/skills/@acme/summarize')).body.mirror).toEqual({ upstream: upstream.url });
    expect((await anon.req('GET', '/api/v1/packages/@acme/cook/download/2.0.0')).body.sha256).toBe(sha(recipe));
    expect((await anon.req('GET', '/api/v1/recipes/@acme/cook')).body).toMatchObject({ kind: 'recipe', mirror: { upstream: upstream.url } });
    // Stored once, by content.
    expect(findFiles(server.dataDir, sha(skill))).toHaveLength(1);

    // `agentry pull` through the mirror.
    const pulled = await ws.json<{ sha256: string; version: string }>(['pull', '@acme/helper@1.0.0', '--out', 'helper-1']);
    expect(pulled).toMatchObject({ version: '1.0.0', sha256: upVersions[1].sha256 });
    expect(readFileSync(ws.path('helper-1', 'agent.yaml'), 'utf8')).toContain('version: 1.0.0');
    expect(await ws.ok(['info', '@acme/helper'])).toContain(`mirror:     read-only copy of ${upstream.url}`);

    // Read-only: publishing, deprecating, tagging into the mirrored scope is refused, admin or not.
    const publish = await admin.publish('/api/v1/agents/@acme/helper', await agentTarball({ name: 'helper', version: '9.0.0', scope: 'acme' }));
    expect(publish.status).toBe(409);
    expect(publish.body.error).toMatch(new RegExp(`@acme is mirrored from ${upstream.url}.*read-only`));
    expect((await admin.publish('/api/v1/agents/@acme/other', await agentTarball({ name: 'other', version: '1.0.0', scope: 'acme' }))).status).toBe(409);
    expect((await admin.req('POST', '/api/v1/agents/@acme/helper/versions/1.1.0/deprecate', { message: 'x' })).status).toBe(409);
    expect((await admin.req('PUT', '/api/v1/agents/@acme/helper/dist-tags/mine', { version: '1.1.0' })).status).toBe(409);
    expect((await admin.req('DELETE', '/api/v1/agents/@acme/helper/1.1.0')).status).toBe(409);
    // Nor can anyone take the scope's name as an account.
    expect((await admin.req('POST', '/api/v1/users', { username: 'acme' })).status).toBe(409);
    // What the upstream does not have is a 404, as ever.
    expect((await anon.req('GET', '/api/v1/agents/@acme/nothing')).status).toBe(404);
    expect((await anon.req('GET', '/api/v1/agents/@nobody-here/nothing')).status).toBe(404);
    // An MCP server is not taken from an Agentry upstream (MCP upstreams serve those).
    await acmeOnA.publish('/api/v1/mcp-servers/@acme/srv', await makeTarball({ 'server.json': JSON.stringify({ name: 'acme/srv', description: 'A test server', version: '1.0.0' }) }));
    expect((await anon.req('GET', '/api/v1/mcp-servers/@acme/srv')).status).toBe(404);
  });

  it('a scope of this registry never comes from the upstream (local wins)', async () => {
    const localToken = (await admin.req('POST', '/api/v1/users', { username: 'local' })).body.token;
    const upLocal = (await up.req('POST', '/api/v1/users', { username: 'local' })).body.token;
    expect((await new Api(upstream.url, upLocal).publish('/api/v1/agents/@local/helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'local' }))).status).toBe(200);
    expect((await anon.req('GET', '/api/v1/agents/@local/helper')).status).toBe(404);
    const local = new Api(server.url, localToken);
    expect((await local.publish('/api/v1/agents/@local/mine', await agentTarball({ name: 'mine', version: '0.1.0', scope: 'local' }))).status).toBe(200);
    const mine = await anon.req('GET', '/api/v1/agents/@local/mine');
    expect(mine.status).toBe(200);
    expect(mine.body.mirror).toBeUndefined();
  });

  it('asks the upstream again after the TTL: new versions and moved dist-tags; an unknown version at once', async () => {
    expect((await anon.req('GET', '/api/v1/agents/@acme/helper')).body.latest_version).toBe('1.1.0');
    expect((await acmeOnA.publish('/api/v1/agents/@acme/helper', await agentTarball({ name: 'helper', version: '1.2.0', scope: 'acme' }))).status).toBe(200);
    expect((await acmeOnA.req('PUT', '/api/v1/agents/@acme/helper/dist-tags/stable', { version: '1.1.0' })).status).toBe(200);
    // A version asked for by number is looked up at once, TTL or not.
    expect((await anon.req('GET', '/api/v1/agents/@acme/helper/download/1.2.0')).status).toBe(200);
    expect((await acmeOnA.req('PUT', '/api/v1/agents/@acme/helper/dist-tags/beta', { version: '1.2.0' })).status).toBe(200);
    expect((await anon.req('GET', '/api/v1/agents/@acme/helper')).body.dist_tags.beta).toBeUndefined(); // within the TTL: the cache answers
    await expireMirrorChecks(server, 'up');
    const after = await anon.req('GET', '/api/v1/agents/@acme/helper');
    expect(after.body).toMatchObject({ latest_version: '1.2.0', dist_tags: { latest: '1.2.0', stable: '1.1.0', beta: '1.2.0' } });
    expect((await anon.req('GET', '/api/v1/agents/@acme/helper/download/7.7.7')).status).toBe(404);
  });

  it('signs on the upstream and verifies on the mirror; bytes altered upstream or in transit fail', async () => {
    mkdirSync(upWs.path('signed'));
    writeFileSync(upWs.path('signed', 'agent.yaml'), agentYaml({ name: 'signed', version: '1.0.0', scope: 'acme', description: 'A signed agent' }));
    await upWs.ok(['keygen']);
    expect(await upWs.ok(['publish', 'signed', '--sign', '--key', 'key.pem'])).toMatch(/signed/);
    writeFileSync(ws.path('pub.pem'), readFileSync(upWs.path('pub.pem')));
    const ok = await ws.ok(['pull', '@acme/signed', '--verify', '--key', 'pub.pem', '--out', 'signed-ok']);
    expect(ok).toMatch(/signature verified with key/);
    const sigs = await anon.req('GET', '/api/v1/agents/@acme/signed/versions/1.0.0/signatures');
    expect(sigs.body).toMatchObject({ signed: true, signatures: [expect.objectContaining({ key_id: expect.stringMatching(/^[0-9a-f]{64}$/) })] });

    // Altered on the upstream's disk: the upstream serves bytes that do not match its own digest.
    const evilToken = (await up.req('POST', '/api/v1/users', { username: 'evil' })).body.token;
    const evil = new Api(upstream.url, evilToken);
    const real = await agentTarball({ name: 'tool', version: '1.0.0', scope: 'evil' });
    expect((await evil.publish('/api/v1/agents/@evil/tool', real)).status).toBe(200);
    const [file] = findFiles(upDir, sha(real));
    const altered = Buffer.from(real);
    altered[altered.length - 5] ^= 0xff;
    writeFileSync(file, altered);
    const refused = await anon.req('GET', '/api/v1/agents/@evil/tool');
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatch(/hashing to sha256:/);
    expect(findFiles(server.dataDir, sha(altered))).toHaveLength(0);
    expect((await anon.req('GET', '/api/v1/agents/@evil/tool')).status).toBe(502); // nothing was kept to serve

    // Swapped in transit, digest and all: stored (its digest matches what was announced), but its signature does not.
    const mitmToken = (await up.req('POST', '/api/v1/users', { username: 'mitm' })).body.token;
    mkdirSync(upWs.path('signed2'));
    writeFileSync(upWs.path('signed2', 'agent.yaml'), agentYaml({ name: 'signed2', version: '1.0.0', scope: 'mitm', description: 'A signed agent' }));
    await upWs.ok(['publish', 'signed2', '--sign', '--key', 'key.pem', '--token', mitmToken]);
    const realSha = (await up.req('GET', '/api/v1/agents/@mitm/signed2/versions')).body.versions[0].sha256;
    const fake = await agentTarball({ name: 'signed2', version: '1.0.0', scope: 'mitm', description: 'Steals your keys' });
    const proxy = await startTamperingProxy(upstream.url, { realSha, fake }, '/api/v1/packages/%40mitm/garbage');
    try {
      // Mirrors are asked in name order: `a-proxy` first, so @mitm is taken through it.
      expect((await admin.req('POST', '/api/v1/mirrors', { kind: 'agentry', name: 'a-proxy', url: proxy.url, username: 'token', password: readToken, visibility: 'public' })).status).toBe(201);
      const tampered = await ws.run(['pull', '@mitm/signed2', '--verify', '--key', 'pub.pem', '--out', 'signed-tampered']);
      expect(tampered.code).not.toBe(0);
      expect(tampered.stderr).toMatch(/is for a tarball with sha256/);
      expect(existsSync(ws.path('signed-tampered'))).toBe(false);
      // An upstream answering nonsense is an upstream failure.
      const garbage = await anon.req('GET', '/api/v1/agents/@mitm/garbage');
      expect(garbage.status).toBe(502);
      expect(garbage.body.error).toMatch(/not JSON/);
    } finally {
      await proxy.close();
      await admin.req('DELETE', '/api/v1/mirrors/a-proxy');
    }
  });

  it('syncAgentryMirror walks the upstream list by filter, resumes at a checkpoint, reports failures, stops on abort', async () => {
    const upstreamPort = new HttpAgentryUpstream({ fetch });
    const mirror: MirrorRecord = { name: 'up', kind: 'agentry', url: upstream.url, username: 'token', hasPassword: true, ttlSeconds: 60, visibility: 'private', createdAt: new Date().toISOString() };
    const endpoint = { url: upstream.url, credentials: { username: 'token', password: readToken } };
    const synced: string[] = [];
    const deps: AgentrySyncDeps = {
      listUpstream: (_m, q) => upstreamPort.list(endpoint, q),
      sync: async (_m, scope, name) => {
        synced.push(`@${scope}/${name}`);
        if (name === 'cook') throw new Error('boom');
        return name === 'helper' ? 'updated' : 'unchanged';
      },
      fetchedThrough: async (_m, after) => ['acme/gone', 'acme/helper'].filter((k) => after === undefined || k > after),
    };
    const checkpoints: string[] = [];
    const report = await syncAgentryMirror(deps, mirror, { filter: '@acme', onProgress: (p) => void checkpoints.push(p.checkpoint) });
    expect(synced).toEqual(['@acme/cook', '@acme/helper', '@acme/signed', '@acme/summarize']);
    expect(report).toEqual({ added: [], updated: ['@acme/helper'], unchanged: 2, removed: ['@acme/gone'], failed: [{ name: '@acme/cook', error: 'boom' }] });
    synced.length = 0;
    const resumed = await syncAgentryMirror(deps, mirror, { filter: '@acme/s', checkpoint: checkpoints[2] });
    expect(synced).toEqual(['@acme/summarize']);
    // A resumed run answers for the whole sync: the checkpoint carried the report so far.
    expect(resumed).toMatchObject({ updated: ['@acme/helper'], unchanged: 2, failed: [{ name: '@acme/cook', error: 'boom' }] });
    synced.length = 0;
    await syncAgentryMirror(deps, mirror, { filter: 'evil/' });
    expect(synced).toEqual(['@evil/tool']);

    const ac = new AbortController();
    ac.abort(new Error('stopped'));
    await expect(syncAgentryMirror(deps, mirror, { signal: ac.signal })).rejects.toThrow('stopped');
    await expect(syncAgentryMirror(deps, mirror, { checkpoint: 'not-a-checkpoint' })).rejects.toThrow(/Invalid checkpoint/);
    await expect(syncAgentryMirror(deps, mirror, { filter: 'a b' })).rejects.toThrow(/Invalid filter/);
    await expect(syncAgentryMirror(deps, { ...mirror, kind: 'oci' }, {})).rejects.toThrow(/only Agentry mirrors/);
  });

  it('copies a signature attached upstream after the version was fetched: once the TTL passed, and in a sync', async () => {
    for (const name of ['late', 'late2']) {
      expect((await acmeOnA.publish(`/api/v1/agents/@acme/${name}`, await agentTarball({ name, version: '1.0.0', scope: 'acme' }))).status).toBe(200);
      // Fetched unsigned, and its signatures listed: none.
      expect((await anon.req('GET', `/api/v1/agents/@acme/${name}`)).status).toBe(200);
      expect((await anon.req('GET', `/api/v1/agents/@acme/${name}/versions/1.0.0/signatures`)).body).toMatchObject({ signed: false, signatures: [] });
      await upWs.ok(['sign', `@acme/${name}@1.0.0`, '--key', 'key.pem']);
    }
    // On read, once the mirror's TTL has passed since the upstream was last asked for the signatures.
    await expireMirrorChecks(server, 'up');
    expect(await ws.ok(['pull', '@acme/late', '--verify', '--key', 'pub.pem', '--out', 'late-ok'])).toMatch(/signature verified with key/);
    // A sync asks again for every version's signatures, TTL or not: the package is reported updated.
    const job = await syncJob({ filter: '@acme/late2' });
    expect(job).toMatchObject({ status: 'succeeded', report: { added: [], updated: ['@acme/late2'], failed: [] } });
    const sigs = await anon.req('GET', '/api/v1/agents/@acme/late2/versions/1.0.0/signatures');
    expect(sigs.body).toMatchObject({ signed: true, signatures: [expect.objectContaining({ key_id: expect.stringMatching(/^[0-9a-f]{64}$/) })] });
    expect(await ws.ok(['pull', '@acme/late2', '--verify', '--key', 'pub.pem', '--out', 'late2-ok'])).toMatch(/signature verified with key/);
    // A second sync finds nothing new.
    expect((await syncJob({ filter: '@acme/late2' })).report).toMatchObject({ added: [], updated: [], unchanged: 1 });
  }, 180_000);

  it('agentry mirror sync copies a scope ahead of the first read, as a job with a report', async () => {
    const toolsToken = (await up.req('POST', '/api/v1/users', { username: 'tools' })).body.token;
    const tools = new Api(upstream.url, toolsToken);
    for (const name of ['alpha', 'beta']) expect((await tools.publish(`/api/v1/agents/@tools/${name}`, await agentTarball({ name, version: '1.0.0', scope: 'tools' }))).status).toBe(200);
    const job = await syncJob({ filter: '@tools' });
    expect(job).toMatchObject({ status: 'succeeded', report: { added: ['@tools/alpha', '@tools/beta'], updated: [], removed: [], failed: [] } });
    // Copied, not fetched on read: the versions are here already, marked as mirrored.
    const alpha = await anon.req('GET', '/api/v1/agents/@tools/alpha');
    expect(alpha.body).toMatchObject({ latest_version: '1.0.0', mirror: { upstream: upstream.url } });
    // Lists mark mirrored packages too; this registry's own are not marked.
    const listed = await anon.req('GET', '/api/v1/packages?sort=name&limit=100');
    expect(listed.status).toBe(200);
    const items = listed.body.packages as Array<{ full_name: string; mirror?: { upstream: string } }>;
    expect(items.find((i) => i.full_name === '@tools/alpha')?.mirror).toEqual({ upstream: upstream.url });
    expect(items.find((i) => i.full_name === '@local/mine')).toBeDefined();
    expect(items.find((i) => i.full_name === '@local/mine')?.mirror).toBeUndefined();
    // A bad filter is refused before any job is queued.
    expect((await admin.req('POST', '/api/v1/mirrors/up/sync', { filter: 'a b' })).status).toBe(400);
  });

  it('bad names are refused before any upstream is asked', async () => {
    for (const path of ['/api/v1/agents/@acme/..x', '/api/v1/agents/@-bad/x', `/api/v1/agents/@acme/${'n'.repeat(129)}`]) {
      const r = await anon.req('GET', path);
      // 400 from the name check; a name longer than any allowed is refused by the route's own limit (414).
      expect([400, 414], path).toContain(r.status);
    }
  });

  it('serves what it fetched with the upstream stopped; what it never fetched is a 502', async () => {
    await upstream.kill();
    stopped = true;
    await expireMirrorChecks(server, 'up'); // past the TTL: the upstream would be asked
    const agent = await anon.req('GET', '/api/v1/agents/@acme/helper');
    expect(agent.status).toBe(200);
    expect(agent.body).toMatchObject({ latest_version: '1.2.0', mirror: { upstream: upstream.url } });
    expect(await ws.ok(['pull', '@acme/signed', '--verify', '--key', 'pub.pem', '--out', 'signed-offline'])).toMatch(/signature verified/);
    expect((await anon.req('GET', '/api/v1/recipes/@acme/cook')).status).toBe(200);
    const never = await anon.req('GET', '/api/v1/agents/@acme/never-fetched');
    expect(never.status).toBe(502);
    expect(never.body.error).toMatch(/could not be reached/);
    expect(stopped).toBe(true);
  });
});
