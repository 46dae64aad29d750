#!/usr/bin/env node
/**
 * OCI throughput: Agentry's /v2/ beside Debian's docker-registry (distribution v2.8) on the same
 * machine in the same run, driven by the same client (Agentry's core OCI client, from dist/), and
 * reported as a ratio Agentry / docker-registry (above 1: Agentry is faster).
 *
 *   npm run build && npm run bench:oci
 *   npm run bench:oci -- --size-mb 100 --small 1000 --rounds 3 --store sqlite
 *
 * Measured, for each registry, each round (registries alternate which goes first):
 *   push big    one blob of --size-mb MiB streamed from a file (chunked: 16 MiB PATCHes), MB/s
 *   pull big    the same blob downloaded to a file, sha256-verified while it streams, MB/s
 *   push small  --small blobs of --small-size bytes (HEAD, POST, PUT each), --concurrency at once, blobs/s
 *   pull small  the same blobs downloaded and verified, blobs/s
 * Every round uses fresh random bytes, so no push is skipped as "already there". The median of the
 * rounds is reported.
 *
 * Options:
 *   --size-mb N        size of the big blob in MiB (100)
 *   --small N          number of small blobs (1000)
 *   --small-size B     bytes per small blob (1024)
 *   --concurrency C    small blobs in flight (8)
 *   --rounds R         rounds per registry (3)
 *   --store S          Agentry's store: sqlite | postgres (sqlite)
 *   --database-url U   PostgreSQL for --store postgres (a fresh schema, dropped after)
 * Requires docker-registry at /usr/bin/docker-registry (apt-get install -y docker-registry).
 * Results are printed as a table and written to .bench/oci-<time>.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { OciClient } from '../dist/adapters/oci-client/index.js';
import { mapPool } from '../dist/adapters/oci-client/pool.js';
import { startDockerRegistry } from './docker-registry.mjs';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '100' },
    small: { type: 'string', default: '1000' },
    'small-size': { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const whole = (name, min = 1) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min} (got ${args[name]})`);
  return n;
};
const SIZE = whole('size-mb') * 1024 * 1024;
const SMALL = whole('small');
const SMALL_SIZE = whole('small-size');
const CONCURRENCY = whole('concurrency');
const ROUNDS = whole('rounds');
if (args.store !== 'sqlite' && args.store !== 'postgres') throw new Error(`--store must be sqlite or postgres (got ${args.store})`);

const MB = 1024 * 1024;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/** A file of `size` random bytes, written in pieces; answers its sha256 digest. */
const randomFile = async (path, size) => {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0;) {
    const piece = randomBytes(Math.min(left, MB));
    hash.update(piece);
    if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
    left -= piece.length;
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  return `sha256:${hash.digest('hex')}`;
};

const work = mkdtempSync(join(tmpdir(), 'agentry-bench-oci-'));
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
let schema;
let agentry;
let docker;
try {
  if (args.store === 'postgres') {
    schema = `bench_oci_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: args['database-url'] });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
  }
  agentry = await startServerProcess({ dataDir: join(work, 'agentry'), adminToken, ...(schema ? { databaseUrl: args['database-url'], databaseSchema: schema } : {}) });
  docker = await startDockerRegistry();
  const agentryHost = new URL(agentry.url).host;
  // Agentry's token endpoint takes the Agentry token as the basic-auth password.
  const client = new OciClient({ credentials: { [agentryHost]: { username: 'admin', password: adminToken } }, concurrency: CONCURRENCY });
  const targets = [
    { name: 'Agentry', host: agentryHost, repo: 'admin/bench' },
    { name: 'docker-registry', host: docker.host, repo: 'admin/bench' },
  ];
  const results = Object.fromEntries(targets.map((t) => [t.name, { pushBig: [], pullBig: [], pushSmall: [], pullSmall: [] }]));

  const runRound = async (t, round) => {
    const repo = `${t.host}/${t.repo}`;
    const file = join(work, `big-${round}.bin`);
    const digest = await randomFile(file, SIZE);
    let start = process.hrtime.bigint();
    const pushed = await client.pushBlob(repo, { path: file, digest, size: SIZE });
    if (pushed.outcome !== 'uploaded') throw new Error(`${t.name}: the big blob was ${pushed.outcome}, not uploaded`);
    results[t.name].pushBig.push(SIZE / MB / seconds(start));
    rmSync(file);
    const out = join(work, `pulled-${round}.bin`);
    start = process.hrtime.bigint();
    await client.fetchBlob(repo, { digest, size: SIZE }, { toPath: out });
    results[t.name].pullBig.push(SIZE / MB / seconds(start));
    rmSync(out);

    const smalls = Array.from({ length: SMALL }, () => randomBytes(SMALL_SIZE));
    const digests = smalls.map((b) => `sha256:${createHash('sha256').update(b).digest('hex')}`);
    start = process.hrtime.bigint();
    await mapPool(smalls, CONCURRENCY, (data, i) => client.pushBlob(repo, { data, digest: digests[i], size: SMALL_SIZE }));
    results[t.name].pushSmall.push(SMALL / seconds(start));
    start = process.hrtime.bigint();
    await mapPool(digests, CONCURRENCY, (d) => client.fetchBlob(repo, { digest: d, size: SMALL_SIZE }));
    results[t.name].pullSmall.push(SMALL / seconds(start));
    console.error(
      `round ${round + 1} ${t.name}: push big ${results[t.name].pushBig.at(-1).toFixed(0)} MB/s, pull big ${results[t.name].pullBig.at(-1).toFixed(0)} MB/s, ` +
        `push small ${results[t.name].pushSmall.at(-1).toFixed(0)}/s, pull small ${results[t.name].pullSmall.at(-1).toFixed(0)}/s`,
    );
  };

  // Warm both up (connections, token, first repository write) outside the measurement.
  for (const t of targets) await client.pushBlob(`${t.host}/${t.repo}`, { data: randomBytes(16) });
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) await runRound(t, round);
  }

  const rows = [
    ['push', `${SIZE / MB} MB blob`, 'pushBig', 'MB/s'],
    ['pull', `${SIZE / MB} MB blob`, 'pullBig', 'MB/s'],
    ['push', `${SMALL} × ${SMALL_SIZE} B blobs`, 'pushSmall', 'blobs/s'],
    ['pull', `${SMALL} × ${SMALL_SIZE} B blobs`, 'pullSmall', 'blobs/s'],
  ].map(([op, what, key, unit]) => {
    const a = median(results.Agentry[key]);
    const d = median(results['docker-registry'][key]);
    return { op, what, unit, agentry: a, dockerRegistry: d, ratio: a / d };
  });
  const fmt = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(`\nOCI throughput, median of ${ROUNDS} round(s), same client for both (Agentry on ${args.store}; small blobs ${CONCURRENCY} at once)`);
  console.log(`${'operation'.padEnd(32)}${'Agentry'.padStart(14)}${'docker-registry'.padStart(18)}${'ratio A/d'.padStart(12)}`);
  for (const r of rows) {
    console.log(`${`${r.op} ${r.what}`.padEnd(32)}${`${fmt(r.agentry)} ${r.unit}`.padStart(14)}${`${fmt(r.dockerRegistry)} ${r.unit}`.padStart(18)}${r.ratio.toFixed(2).padStart(12)}`);
  }
  mkdirSync('.bench', { recursive: true });
  const file = join('.bench', `oci-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        options: { sizeMb: SIZE / MB, small: SMALL, smallSize: SMALL_SIZE, concurrency: CONCURRENCY, rounds: ROUNDS, store: args.store },
        machine: { cpus: cpus().length, loadavg: loadavg() },
        rounds: results,
        summary: rows,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${file}`);
} finally {
  await docker?.stop().catch(() => undefined);
  await agentry?.stop().catch(() => undefined);
  if (schema) {
    const c = new pg.Client({ connectionString: args['database-url'] });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  }
  rmSync(work, { recursive: true, force: true });
}
