#!/usr/bin/env node
/**
 * What the `package_lexemes` add trigger costs a publish's package insert on PostgreSQL, three ways
 * (each in a schema of its own, `bench_tidy_<id>_<way>`, dropped at the end):
 *   anchor    the build in --anchor (0048's trigger: no lock),
 *   shared    this build (0055: a shared transaction-level advisory lock before the check),
 *   keyshare  this build's schema with the alternative trigger: a KEY SHARE row lock on every
 *             listed lexeme of the package (a pruner would then take FOR UPDATE on what it deletes).
 * Backend CPU is read from /proc for the way's own backends (named by PGAPPNAME), per insert;
 * WAL from pg_current_wal_insert_lsn (the whole server's: other work on it counts too).
 * Then this build's prune on the `shared` schema after a tenth of its packages were rewritten.
 *
 *   node bench/lexeme-locks.mjs --anchor ../anchor-tidy/dist [--dist dist] [--pre 2000] [--count 300] [--rounds 4] [--concurrency 1]
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { packageSpec, vocabulary } from './corpus.mjs';

const { values: args } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    anchor: { type: 'string' },
    url: { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    pre: { type: 'string', default: '2000' },
    count: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '1' },
  },
});
if (!args.anchor) throw new Error('--anchor DIST is needed (the anchor build)');
const PRE = Number(args.pre);
const COUNT = Number(args.count);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const require = createRequire(join(resolve(args.dist), 'index.js'));
const pg = require('pg');
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const procCpu = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
};

const KEYSHARE_TRIGGER = `CREATE OR REPLACE FUNCTION package_lexemes_add() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM 1 FROM package_lexemes k WHERE k.lexeme = ANY (tsvector_to_array(NEW.search_vector)) FOR KEY SHARE;
    INSERT INTO package_lexemes (lexeme)
      SELECT l FROM unnest(tsvector_to_array(NEW.search_vector)) AS l
      WHERE NOT EXISTS (SELECT 1 FROM package_lexemes k WHERE k.lexeme = l);
    RETURN NULL;
  END $$`;

const id = randomBytes(3).toString('hex');
const admin = new pg.Client({ connectionString: args.url });
await admin.connect();
const words = vocabulary();
const scopes = ['alpha', 'beta', 'gamma'];
const rowOf = (i, ownerId, at) => {
  const s = packageSpec(i, words, scopes);
  return {
    kind: 'agent',
    scope: 'bench',
    name: `${s.name}`,
    key: `bench/${s.name}`,
    description: s.description,
    tags: s.tags,
    category: s.category,
    ...Object.fromEntries(['readme', 'license', 'repository', 'homepage'].map((k) => [k, null])),
    latestVersion: '1.0.0',
    latestPinned: false,
    visibility: 'public',
    ownerAccountId: ownerId,
    createdAt: at,
    updatedAt: at,
  };
};

const ways = [
  { name: 'anchor', dist: resolve(args.anchor) },
  { name: 'shared', dist: resolve(args.dist) },
  { name: 'keyshare', dist: resolve(args.dist), trigger: KEYSHARE_TRIGGER },
];
const inFlight = async (n, from, fn) => {
  let next = from;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < from + n) await fn(next++);
    }),
  );
};

try {
  for (const w of ways) {
    w.schema = `bench_tidy_${id}_${w.name}`;
    process.env.PGAPPNAME = w.schema;
    const { openPostgresStorage } = await import(pathToFileURL(join(w.dist, 'storage/postgres/open-postgres.js')).href);
    w.storage = await openPostgresStorage({ url: args.url, schema: w.schema, poolSize: CONCURRENCY });
    if (w.trigger) await admin.query(`SET search_path = ${w.schema}; ${w.trigger}; RESET search_path`);
    const at = new Date().toISOString();
    w.ownerId = await w.storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'bench', kind: 'user' }, at);
      await tx.scopes.insert('bench', owner.id, at);
      return owner.id;
    });
    await inFlight(PRE, 0, (i) => w.storage.transaction((tx) => tx.packages.insert(rowOf(i, w.ownerId, at))));
    w.next = PRE;
    w.cpu = 0;
    w.wall = 0;
    w.wal = 0n;
    w.n = 0;
  }
  const backends = async (schema) => (await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [schema])).rows.map((r) => r.pid);
  const lsn = async () => BigInt((await admin.query(`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS b`)).rows[0].b);
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${PRE} packages each, then ${ROUNDS} rounds of ${COUNT} inserts per way, ${CONCURRENCY} in flight`,
  );
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ways : [...ways].reverse();
    for (const w of order) {
      // The pool closes idle connections (10 s): opened again now, under this way's name, before its backends are read.
      process.env.PGAPPNAME = w.schema;
      await Promise.all(Array.from({ length: CONCURRENCY }, () => w.storage.ping()));
      const pids = await backends(w.schema);
      const cpu0 = pids.reduce((s, p) => s + procCpu(p), 0);
      const wal0 = await lsn();
      const t0 = performance.now();
      const at = new Date().toISOString();
      await inFlight(COUNT, w.next, (i) => w.storage.transaction((tx) => tx.packages.insert(rowOf(i, w.ownerId, at))));
      w.wall += performance.now() - t0;
      w.wal += (await lsn()) - wal0;
      w.cpu += pids.reduce((s, p) => s + procCpu(p), 0) - cpu0;
      w.next += COUNT;
      w.n += COUNT;
    }
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('way       inserts  backend CPU µs/insert  wall µs/insert  WAL bytes/insert (server-wide)');
  for (const w of ways) {
    console.log(
      `${w.name.padEnd(9)} ${String(w.n).padStart(7)}  ${((w.cpu * 1e6) / w.n).toFixed(0).padStart(21)}  ${((w.wall * 1e3) / w.n).toFixed(0).padStart(14)}  ${(Number(w.wal) / w.n).toFixed(0).padStart(16)}`,
    );
  }
  // The prune on this build's schema: a tenth of the packages rewritten (their old lexemes stale) and duplicates added.
  const shared = ways[1];
  const client = new pg.Client({ connectionString: args.url, options: `-c search_path=${shared.schema}` });
  await client.connect();
  try {
    await client.query(`UPDATE packages SET description = 'rewritten' || id WHERE id % 10 = 0`);
    await client.query(`UPDATE packages SET description = 'again' || id WHERE id % 10 = 0`);
    await client.query(`INSERT INTO package_lexemes (lexeme) SELECT lexeme FROM package_lexemes WHERE lexeme LIKE 'ka%'`);
    const [{ n }] = (await client.query(`SELECT count(*)::int AS n FROM package_lexemes`)).rows;
    // Publishes go on while it runs (one in flight): how long the slowest waited shows what a batch's lock holds off.
    const during = [];
    let pruning = true;
    const publishing = (async () => {
      const at = new Date().toISOString();
      while (pruning) {
        const t = performance.now();
        await shared.storage.transaction((tx) => tx.packages.insert(rowOf(shared.next++, shared.ownerId, at)));
        during.push(performance.now() - t);
      }
    })();
    const t0 = performance.now();
    const report = await shared.storage.lexemes.prune().finally(() => (pruning = false));
    const ms = performance.now() - t0;
    await publishing;
    during.sort((a, b) => a - b);
    console.log(`publishes during the prune: ${during.length}, median ${during[Math.floor(during.length / 2)]?.toFixed(2)} ms, slowest ${during.at(-1)?.toFixed(2)} ms`);
    const [{ n: after }] = (await client.query(`SELECT count(*)::int AS n FROM package_lexemes`)).rows;
    console.log(`prune: ${n} rows listed before, ${after} after, ${JSON.stringify(report)}, ${ms.toFixed(0)} ms (${(ms / Math.ceil(report.lexemes / 500)).toFixed(1)} ms a batch)`);
  } finally {
    await client.end();
  }
} finally {
  for (const w of ways) await w.storage?.close().catch(() => undefined);
  for (const w of ways) if (w.schema) await admin.query(`DROP SCHEMA IF EXISTS "${w.schema}" CASCADE`);
  await admin.end();
}
