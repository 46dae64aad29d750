import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { Api, agentYaml } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { rawTar } from '../helpers/raw-tar.js';
import { testStores } from '../helpers/server.js';

/**
 * Issue 12: "Kill -9 during concurrent publishes, then retries of every unanswered one: all succeed,
 * none 409." The built server runs as a child process; many publishes, each with its own
 * Idempotency-Key, are in flight when it is SIGKILLed. After a restart on the same data every
 * publish that got no answer is sent again with its key and bytes: each must succeed (whether or
 * not it had been committed before the kill), and every stored blob must match its sha256.
 */
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** Publishes in flight per round; `AGENTRY_CRASH_PUBLISHES` widens a run (the figures are printed). */
const PUBLISHES = Number(process.env.AGENTRY_CRASH_PUBLISHES ?? 24);
const TIMEOUT_MS = 240_000 * Math.max(1, PUBLISHES / 24);

const tarballFor = (version: string): Buffer =>
  gzipSync(
    rawTar([
      { path: 'agent.yaml', body: agentYaml({ name: 'crashy', version, scope: 'alice' }) },
      { path: 'README.md', body: `# crashy ${version}\n` },
      { path: 'data.bin', body: randomBytes(512 * 1024) },
    ]),
    { level: 1 },
  );

interface Attempt {
  version: string;
  key: string;
  tgz: Buffer;
  status?: number;
  body?: any;
}

const publishWithKey = async (url: string, token: string, a: Attempt): Promise<{ status?: number; body?: any }> => {
  const form = new FormData();
  form.set('tarball', new Blob([a.tgz], { type: 'application/gzip' }), 'package.tgz');
  try {
    const res = await fetch(`${url}/api/v1/agents/@alice/crashy`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'idempotency-key': a.key }, body: form });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return {};
  }
};

describe.each(testStores)('crash during concurrent publishes, then retries by Idempotency-Key (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-crash-idem-'));
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const env = { dataDir, adminToken, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema };
  let server: ChildServer | undefined;

  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('gives every unanswered publish its success on retry, none a 409, every blob intact', { timeout: TIMEOUT_MS }, async () => {
    server = await startChildServer(env);
    const created = await new Api(server.url, adminToken).req('POST', '/api/v1/users', { username: 'alice' });
    expect(created.status).toBe(201);
    const token: string = created.body.token;
    const all: Attempt[] = [];
    const totals = { answered: 0, unanswered: 0, silent: 0, retried: 0 };
    // Rounds kill at different moments: at the 3rd answer, then a little after the 6th and the 2nd,
    // so some publishes are caught between their commit and their reply.
    for (const [round, { at, delayMs }] of [
      { at: 3, delayMs: 0 },
      { at: 6, delayMs: 15 },
      { at: 2, delayMs: 40 },
    ].entries()) {
      const attempts: Attempt[] = Array.from({ length: PUBLISHES }, (_, i) => ({ version: `${round + 1}.0.${i}`, key: randomUUID(), tgz: tarballFor(`${round + 1}.0.${i}`) }));
      all.push(...attempts);
      const url = server.url;
      const victim = server;
      let answered = 0;
      let killed: Promise<void> | undefined;
      await Promise.all(
        attempts.map(async (a) => {
          const r = await publishWithKey(url, token, a);
          a.status = r.status;
          a.body = r.body;
          if (r.status !== undefined && ++answered === at) killed = new Promise((res) => setTimeout(res, delayMs)).then(() => victim.kill());
        }),
      );
      await (killed ?? victim.kill());
      await victim.kill();
      const before = attempts.filter((a) => a.status !== undefined);
      for (const a of before) expect(a.status, JSON.stringify(a.body)).toBe(200);

      server = await startChildServer(env);
      const api = new Api(server.url, token);
      const listed = (await api.req('GET', '/api/v1/agents/@alice/crashy/versions')).body?.versions ?? [];
      const unanswered = attempts.filter((a) => a.status === undefined);
      totals.answered += before.length;
      totals.unanswered += unanswered.length;
      totals.silent += listed.filter((v: { version: string }) => unanswered.some((a) => a.version === v.version)).length;

      const retried = await Promise.all(unanswered.map((a) => publishWithKey(server!.url, token, a)));
      for (const [i, r] of retried.entries()) {
        expect(r.status, `${unanswered[i].version}: ${JSON.stringify(r.body)}`).toBe(200);
        expect(r.body).toMatchObject({ success: true, version: unanswered[i].version, sha256: sha256(unanswered[i].tgz) });
        totals.retried += 1;
      }
      // The answered ones, retried too, answer as they did (the link follows the restarted server's port).
      const sansUrl = (b: Record<string, unknown>) => ({ ...b, url: String(b.url).replace(/^http:\/\/[^/]+/, '') });
      for (const a of before) expect(sansUrl((await publishWithKey(server.url, token, a)).body)).toEqual(sansUrl(a.body));
    }

    const api = new Api(server.url, token);
    const versions: Array<{ version: string; sha256: string }> = (await api.req('GET', '/api/v1/agents/@alice/crashy/versions')).body.versions;
    expect(versions.map((v) => v.version).sort()).toEqual(all.map((a) => a.version).sort());
    for (const v of versions) {
      const a = all.find((x) => x.version === v.version)!;
      expect(v.sha256).toBe(sha256(a.tgz));
      const blob = Buffer.from(await (await fetch(`${server.url}/api/v1/blobs/sha256:${v.sha256}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
      expect(sha256(blob), `blob of ${v.version}`).toBe(v.sha256);
    }
    console.log(
      `[${store}] 3 rounds of ${PUBLISHES} concurrent publishes with SIGKILL: ${totals.answered} answered before the kill, ${totals.unanswered} unanswered ` +
        `(${totals.silent} of them committed without a reply); ${totals.retried} retries, all 200, 0 × 409; ${versions.length} blobs verified`,
    );
  });
});
