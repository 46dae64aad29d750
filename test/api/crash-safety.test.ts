import { createHash, randomBytes } from 'node:crypto';
import { dropTestSchema } from '../helpers/postgres.js';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { Api, agentTarball, agentYaml } from '../helpers/packages.js';
import { rawTar } from '../helpers/raw-tar.js';
import { testStores } from '../helpers/server.js';

/**
 * "A server killed in the middle of a publish never leaves a half-published version or a version
 * pointing at a missing blob." The built server runs as a child process; it is SIGKILLed mid-upload,
 * right after acknowledging a publish, and at several moments after a body was fully sent (while
 * it unpacks, writes the blob or commits). After each restart on the same data: every listed version
 * downloads and matches its sha256, no version exists that was refused or cut off, acknowledged ones
 * are all there, the blob tmp folder is empty, and publishing still works.
 */
const MB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A few MB of incompressible bytes behind a valid agent.yaml. */
const bigTarball = async (version: string): Promise<Buffer> =>
  gzipSync(
    rawTar([
      { path: 'agent.yaml', body: agentYaml({ name: 'big', version, scope: 'alice' }) },
      { path: 'README.md', body: `# big ${version}\n` },
      { path: 'data.bin', body: randomBytes(3 * MB) },
    ]),
    { level: 1 },
  );

interface UploadResult {
  status?: number;
  body?: any;
  error?: Error;
}

/**
 * PUTs a publish as a hand-written multipart body, `chunk` bytes at a time with `delayMs` between
 * writes. `stopAt`: after that many bytes, stop writing and call `onStop` (the body never ends).
 * `onSent`: called once the whole body has been handed to the socket.
 */
const upload = async (
  url: string,
  token: string,
  tgz: Buffer,
  opts: { chunk?: number; delayMs?: number; stopAt?: number; onStop?: () => Promise<void>; onSent?: () => void } = {},
): Promise<UploadResult> => {
  const boundary = `----agentry-${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="tarball"; filename="package.tgz"\r\nContent-Type: application/gzip\r\n\r\n`),
    tgz,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const req = request(`${url}/api/v1/agents/@alice/big`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length },
  });
  const done = new Promise<UploadResult>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined }));
      res.on('error', (error) => resolve({ status: res.statusCode, error }));
    });
    req.on('error', (error) => resolve({ error }));
  });
  const chunk = opts.chunk ?? 64 * 1024;
  let settled = false;
  void done.then(() => (settled = true));
  for (let off = 0; off < body.length && !settled; off += chunk) {
    if (opts.stopAt !== undefined && off >= opts.stopAt) {
      await opts.onStop?.();
      return done;
    }
    const drained = req.write(body.subarray(off, off + chunk));
    if (!drained) await Promise.race([new Promise((r) => req.once('drain', r)), done]);
    if (opts.delayMs) await sleep(opts.delayMs);
  }
  req.end(() => opts.onSent?.());
  return done;
};

describe.each(testStores)('crash safety: SIGKILL during and after publishes (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-crash-'));
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const env = { dataDir, adminToken, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema };
  const tmpFolder = join(dataDir, 'blobs', 'tmp');
  let server: ChildServer | undefined;
  let aliceToken: string;
  /** What was sent per version, and which publishes were acknowledged, cut off, or left in doubt. */
  const sent = new Map<string, string>();
  const acknowledged = new Set<string>();
  const cutOff = new Set<string>();
  const inDoubt = new Set<string>();
  /** How long the server took to answer a publish once its body was sent. */
  const answerMs: number[] = [];

  /** Kills the server, leaves a half-written blob in the tmp folder as a crash would, and starts it again (which must clear it). */
  const restart = async (): Promise<Api> => {
    await server?.kill();
    writeFileSync(join(tmpFolder, `${Date.now()}-deadbeefdeadbeef`), randomBytes(1024));
    server = await startChildServer(env);
    return new Api(server.url, aliceToken);
  };

  /** The invariants that must hold after any crash. */
  const checkConsistent = async (api: Api): Promise<string[]> => {
    const v = await api.req('GET', '/api/v1/agents/@alice/big/versions');
    expect(v.status).toBe(200);
    const listed = (v.body.versions as Array<{ version: string; sha256: string; tarball_size: number }>).map((x) => x.version);
    for (const version of acknowledged) expect(listed, `acknowledged ${version} is missing`).toContain(version);
    for (const version of cutOff) expect(listed, `cut-off upload ${version} was published`).not.toContain(version);
    for (const version of listed) expect(acknowledged.has(version) || inDoubt.has(version), `${version} was never acknowledged nor in doubt`).toBe(true);
    for (const item of v.body.versions as Array<{ version: string; sha256: string; tarball_size: number }>) {
      expect(item.sha256, `${item.version} is not the tarball sent for it`).toBe(sent.get(item.version));
      const dl = await api.req('GET', `/api/v1/agents/@alice/big/download/${item.version}`);
      expect(dl.status).toBe(200);
      const blob = await fetch(dl.body.tarball_url);
      expect(blob.status, `blob of ${item.version} is missing`).toBe(200);
      const bytes = Buffer.from(await blob.arrayBuffer());
      expect(bytes.length).toBe(item.tarball_size);
      expect(sha256(bytes), `blob of ${item.version} does not match its sha256`).toBe(item.sha256);
    }
    const detail = await api.req('GET', '/api/v1/agents/@alice/big');
    expect(listed).toContain(detail.body.latest_version);
    expect(readdirSync(tmpFolder), 'the blob tmp folder was not cleaned').toEqual([]);
    return listed;
  };

  const publishFully = async (api: Api, version: string): Promise<void> => {
    const tgz = await bigTarball(version);
    sent.set(version, sha256(tgz));
    let sentAt = 0;
    const r = await upload(server!.url, api.token!, tgz, { chunk: 1 * MB, onSent: () => (sentAt = Date.now()) });
    answerMs.push(Date.now() - sentAt);
    expect(r.status, JSON.stringify(r.body ?? r.error?.message)).toBe(200);
    acknowledged.add(version);
  };

  beforeAll(async () => {
    server = await startChildServer(env);
    const admin = new Api(server.url, adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    expect(created.status).toBe(201);
    aliceToken = created.body.token;
    await publishFully(new Api(server.url, aliceToken), '1.0.0');
  });
  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      await dropTestSchema(schema);
    }
  });

  it('keeps a publish acknowledged just before the kill, and leaves nothing of one killed mid-upload', async () => {
    const tgz = await bigTarball('1.1.0');
    sent.set('1.1.0', sha256(tgz));
    cutOff.add('1.1.0');
    // 1.1.0 stops sending after 1 MB and waits; 1.2.0 is published meanwhile, and the server killed as soon as it acknowledged it.
    let dead!: () => void;
    const killed = new Promise<void>((resolve) => (dead = resolve));
    const cut = upload(server!.url, aliceToken, tgz, { stopAt: 1 * MB, onStop: () => killed });
    await publishFully(new Api(server!.url, aliceToken), '1.2.0');
    await server!.kill();
    dead();
    const r = await cut;
    expect(r.status, 'the cut-off upload got an answer').toBeUndefined();
    expect(r.error).toBeDefined();
    const api = await restart();
    expect(await checkConsistent(api)).toEqual(['1.2.0', '1.0.0']);
  });

  it('is all or nothing when killed while unpacking, writing the blob or committing', async () => {
    // Kill points spread over the time the server took to answer earlier publishes.
    const t = Math.max(...answerMs);
    const delays = [0, 0.5, 0.9].map((f) => Math.round(f * t));
    if (process.env.CRASH_DEBUG) console.log(store, 'answer ms', answerMs);
    for (const [i, delay] of delays.entries()) {
      const version = `1.3.${i}`;
      const tgz = await bigTarball(version);
      sent.set(version, sha256(tgz));
      inDoubt.add(version);
      let killed: Promise<void> | undefined;
      const r = await upload(server!.url, aliceToken, tgz, {
        chunk: 1 * MB,
        onSent: () => {
          killed = sleep(delay).then(() => server!.kill());
        },
      });
      if (r.status === 200) {
        inDoubt.delete(version);
        acknowledged.add(version);
      }
      await killed;
      const listed = await checkConsistent(await restart());
      if (process.env.CRASH_DEBUG) console.log(store, version, delay, r.status ?? r.error?.message, listed.includes(version));
    }
  }, 120_000); // three kills and restarts: a few seconds on a quiet machine, but 26-29 s when the machine is loaded

  it('has cleared the leftovers in the blob tmp folder on start, and still accepts publishes', async () => {
    // Every restart above left a half-written blob in the tmp folder; checkConsistent found it gone each time.
    const api = new Api(server!.url, aliceToken);
    await checkConsistent(api);
    await publishFully(api, '2.0.0');
    // gc right after the crashes keeps every referenced blob (it may drop orphans of killed publishes).
    const admin = api.with(adminToken);
    const gc = await admin.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 });
    expect(gc.status).toBe(200);
    const listed = await checkConsistent(api);
    expect(listed[0]).toBe('2.0.0');
    expect((await api.req('GET', '/api/v1/agents/@alice/big')).body.latest_version).toBe('2.0.0');
  });

  it('keeps every one of many concurrent publishes it acknowledged before the kill (commits and syncs shared), and each unanswered one whole or absent', async () => {
    const api = new Api(server!.url, aliceToken);
    // New packages and versions of one package, all at once: on SQLite their transactions share commits.
    const sends = [...Array.from({ length: 16 }, (_, i) => ({ name: `many-${i}`, version: '1.0.0' })), ...Array.from({ length: 8 }, (_, i) => ({ name: 'burst', version: `1.${i}.0` }))].map((p) => ({
      ...p,
      id: `${p.name}@${p.version}`,
    }));
    const bytes = new Map<string, Buffer>();
    for (const p of sends) bytes.set(p.id, await agentTarball({ name: p.name, version: p.version, scope: 'alice' }));
    const acked: string[] = [];
    let killed: Promise<void> | undefined;
    await Promise.all(
      sends.map(async (p) => {
        const r = await api.publish(`/api/v1/agents/@alice/${p.name}`, bytes.get(p.id)!).catch(() => undefined);
        if (r?.status !== 200) return;
        acked.push(p.id);
        // Killed as soon as half were acknowledged: the rest are cut off or in doubt.
        if (acked.length === sends.length / 2) killed = server!.kill();
      }),
    );
    await killed;
    expect(acked.length).toBeGreaterThanOrEqual(sends.length / 2);
    const after = await restart();
    const present = new Map<string, string>();
    for (const name of new Set(sends.map((p) => p.name))) {
      const r = await after.req('GET', `/api/v1/agents/@alice/${name}/versions`);
      if (r.status === 404) continue;
      expect(r.status).toBe(200);
      for (const v of r.body.versions as Array<{ version: string; sha256: string }>) present.set(`${name}@${v.version}`, v.sha256);
    }
    for (const id of acked) expect(present.get(id), `acknowledged ${id} is missing or not its bytes`).toBe(sha256(bytes.get(id)!));
    for (const [id, digest] of present) {
      // Acknowledged or not, a version that is there is whole: its bytes, downloadable.
      expect(digest, `${id} is not the tarball sent for it`).toBe(sha256(bytes.get(id)!));
      const [name, version] = id.split('@');
      const dl = await after.req('GET', `/api/v1/agents/@alice/${name}/download/${version}`);
      expect(dl.status).toBe(200);
      const blob = await fetch(dl.body.tarball_url);
      expect(sha256(Buffer.from(await blob.arrayBuffer())), `blob of ${id}`).toBe(digest);
    }
    const burst = [...present.keys()].filter((id) => id.startsWith('burst@'));
    if (burst.length > 0) {
      const detail = await after.req('GET', '/api/v1/agents/@alice/burst');
      const highest = burst.map((id) => Number(id.split('.')[1])).sort((a, b) => b - a)[0];
      expect(detail.body.latest_version, 'latest is the highest version that survived').toBe(`1.${highest}.0`);
    }
  }, 120_000);
});
