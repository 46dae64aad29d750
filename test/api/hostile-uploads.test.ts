import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { EMPTY_CONFIG, OciClient, sha256 } from '../helpers/oci.js';
import { Api, agentYaml } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { praisonMultipart } from '../helpers/praison-bundle.js';
import { rawTar, rawTarGz, type RawEntry } from '../helpers/raw-tar.js';
import { testStores } from '../helpers/server.js';

/**
 * Point 7 of issue 12 on every route that takes an archive, not only the native publish
 * (`hostile-tarballs.test.ts`): the PraisonAI recipe upload (JSON and multipart), ToolHive's skill
 * validation (gzip body and multipart), the native skills door, and an OCI push whose semver tag
 * publishes the layer as a package. Each refuses a 300 KB gzip bomb (300 MB inflated) with a 4xx and
 * memory stays flat; each refuses tar entries that escape (symlinks, hard links, absolute paths,
 * device files) with a 4xx and stores nothing.
 */
const MB = 1024 * 1024;
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

let zerosMember: Buffer | undefined;
/** ~300 KB of gzip expanding to 300 MB: `first` as a real tar header, then zeros (30 gzip members). */
const bomb = (first: RawEntry): Buffer => {
  zerosMember ??= gzipSync(Buffer.alloc(10 * MB), { level: 9 });
  return Buffer.concat([gzipSync(rawTar([first]).subarray(0, 1024)), ...Array.from({ length: 30 }, () => zerosMember!)]);
};

const LAYER = 'application/vnd.agentry.package.layer.v1.tar+gzip';
const skillMd = (name: string) => `---\nname: ${name}\ndescription: A skill for hostile tests.\nversion: 1.0.0\n---\n# ${name}\n`;

type Res = { status: number; body: any };

describe.each(testStores)('hostile archives on every upload route (%s)', (store) => {
  let server: ChildServer;
  let alice: Api;
  let oci: OciClient;
  let dataDir: string;
  let schema: string | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'agentry-uploads-'));
    const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
    schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
    server = await startChildServer({ dataDir, adminToken, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema });
    const admin = new Api(server.url, adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    expect(created.status).toBe(201);
    alice = admin.with(created.body.token);
    oci = new OciClient(server.url).withToken(created.body.token);
    expect((await admin.req('PUT', '/api/v1/orgs/recipes/members/alice', { role: 'maintainer' })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  /** Every archive-taking route, each sending `archive` as that route expects it. */
  const routes: Record<string, (archive: Buffer, n: number) => Promise<Res>> = {
    'PUT /api/v1/agents/@alice/{name}': (a, n) => alice.publish(`/api/v1/agents/@alice/a${n}`, a),
    'PUT /api/v1/skills/@alice/{name}': (a, n) => alice.publish(`/api/v1/skills/@alice/s${n}`, a),
    'POST /v1/recipes/{name}/{version} (JSON)': (a, n) => alice.req('POST', `/v1/recipes/rj${n}/1.0.0`, { bundle: a.toString('base64') }),
    'POST /v1/recipes/{name}/{version} (multipart)': (a, n) => {
      const { body, contentType } = praisonMultipart(a, false);
      return alice.req('POST', `/v1/recipes/rm${n}/1.0.0`, body, { 'content-type': contentType });
    },
    'POST /api/v1beta/skills/validate (gzip)': (a, n) => alice.req('POST', `/api/v1beta/skills/validate?name=v${n}`, a, { 'content-type': 'application/gzip' }),
    'POST /api/v1beta/skills/validate (multipart)': (a, n) => {
      const form = new FormData();
      form.set('archive', new Blob([a], { type: 'application/gzip' }), 'skill.tgz');
      form.set('name', `m${n}`);
      return alice.req('POST', '/api/v1beta/skills/validate', form);
    },
    'PUT /v2/alice/{name}/manifests/1.0.0 (a package layer)': async (a, n) => {
      const repo = `alice/o${n}`;
      await oci.pushBlob(repo, '{}');
      const blob = await oci.pushBlob(repo, a);
      expect(blob.status).toBe(201);
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.agentry.agent.v1',
        config: EMPTY_CONFIG,
        layers: [{ mediaType: LAYER, digest: sha256(a), size: a.length }],
      };
      const r = await oci.pushManifest(repo, '1.0.0', manifest);
      return { status: r.status, body: r.body };
    },
  };

  /** What each route needs at the archive's root to get past "no manifest": its manifest file. */
  const firstEntry = (route: string, n: number): RawEntry => {
    if (route.includes('skills')) return { path: 'SKILL.md', body: skillMd(route.includes('validate') ? (route.includes('gzip') ? `v${n}` : `m${n}`) : `s${n}`) };
    if (route.includes('recipes')) return { path: 'manifest.json', body: JSON.stringify({ name: `r${n}`, version: '1.0.0', description: 'x', files: [] }) };
    return { path: 'agent.yaml', body: agentYaml({ name: route.includes('/v2/') ? `o${n}` : `a${n}`, version: '1.0.0', scope: 'alice' }) };
  };

  /** A refusal: a 4xx, or (ToolHive's validate) a 200 that says `valid: false`. */
  const expectRefused = (route: string, r: Res, what: string): void => {
    const text = JSON.stringify(r.body);
    expect(r.status, `${route} ${what}: ${text}`).toBeLessThan(500);
    if (route.includes('validate') && r.status === 200) expect(r.body.valid, `${route} ${what}: ${text}`).toBe(false);
    else expect(r.status, `${route} ${what}: ${text}`).toBeGreaterThanOrEqual(400);
    expect(text).not.toMatch(/internal|stack|at [A-Za-z]+ \(/);
  };

  it('refuses a 300 KB gzip bomb on every route with a 4xx, memory flat (one by one, then all at once)', async () => {
    // Warm every route up (its code, the publish-check worker), so the baseline includes what they load.
    for (const [route, send] of Object.entries(routes)) expect((await send(rawTarGz([firstEntry(route, 0), { path: 'dev/zero', type: 'char' }]), 0)).status, route).toBeLessThan(500);
    const pid = server.process.pid!;
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 10);
    try {
      let n = 0;
      for (const [route, send] of Object.entries(routes)) {
        n += 1;
        const b = bomb(firstEntry(route, n));
        expect(b.length).toBeLessThan(400 * 1024);
        expectRefused(route, await send(b, n), 'gzip bomb');
        console.log(`[${store}] after ${route}: RSS +${((Math.max(peak, rssOf(pid)) - before) / MB).toFixed(1)} MB`);
      }
      const all = Object.keys(routes).map((route, i) => ({ route, n: 100 + i }));
      const answers = await Promise.all(all.map(({ route, n: k }) => routes[route]!(bomb(firstEntry(route, k)), k)));
      answers.forEach((r, i) => expectRefused(all[i]!.route, r, 'gzip bomb (all at once)'));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssOf(pid));
    const grownMb = (peak - before) / MB;
    console.log(`[${store}] gzip bombs (300 MB each) on ${Object.keys(routes).length} routes, one by one then at once: RSS +${grownMb.toFixed(1)} MB`);
    // Inflating any one of them whole would take 300 MB.
    expect(grownMb).toBeLessThan(128);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 180_000);

  const escaping: Array<[string, RawEntry]> = [
    ['a symlink out of the archive', { path: 'link', type: 'symlink', linkpath: '../../../../etc/passwd' }],
    ['an absolute symlink', { path: 'ssh', type: 'symlink', linkpath: '/root/.ssh' }],
    ['a hard link out of the archive', { path: 'passwd', type: 'hardlink', linkpath: '../../etc/passwd' }],
    ['an absolute path', { path: '/etc/cron.d/evil', body: 'x' }],
    ['a .. path', { path: '../../evil.sh', body: 'x' }],
    ['a character device', { path: 'dev/zero', type: 'char' }],
    ['a FIFO', { path: 'fifo', type: 'fifo' }],
  ];

  it.each(escaping)('refuses %s on every route and stores nothing', async (_what, entry) => {
    let n = 200 + Math.floor(Math.random() * 1_000_000);
    for (const [route, send] of Object.entries(routes)) {
      n += 1;
      const archive = rawTarGz([firstEntry(route, n), entry]);
      const r = await send(archive, n);
      if (route.includes('/v2/')) {
        // A registry keeps any artifact pushed to it; the layer just never becomes a package.
        expect(r.status, `${route} ${_what}`).toBeLessThan(500);
        expect((await alice.req('GET', `/api/v1/packages/@alice/o${n}`)).status, `${route} ${_what}`).toBe(404);
      } else expectRefused(route, r, _what);
    }
    const listed = await alice.req('GET', '/api/v1/packages?limit=100');
    expect(listed.status).toBe(200);
    const names = JSON.stringify(listed.body);
    expect(names).not.toMatch(/"(a|s|rj|rm|o)\d{3,}"/);
  });
});
