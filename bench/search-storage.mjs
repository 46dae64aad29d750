#!/usr/bin/env node
/**
 * Search cost on the storage layer alone (no HTTP, no JSON): the search mix of bench/run.mjs
 * (same words, same seed: rare words on /search, rare+random pairs on /packages, common words)
 * run straight through `storage.packages.query` of two builds on their own copies of a seeded
 * store (bench/run.mjs --cache-dir makes them: SQLite sqlite-N_anchor and sqlite-N_this,
 * PostgreSQL schemas <cache-schema>_N_anchor and <cache-schema>_N). The builds take turns, round by
 * round, in one process each turn; each query's CPU time and wall time are recorded, and each
 * query's hits, order and total are compared between the builds (any difference is printed and
 * fails). CPU: the process's (better-sqlite3 runs the statement synchronously on the main thread);
 * on PostgreSQL plus that of the process's one database connection (its backend's run time from
 * /proc/<pid>/schedstat, in nanoseconds: the server runs on this machine), also shown alone.
 *
 *   node bench/search-storage.mjs --anchor-dist /work/anchor/dist --anchor-db DIR/sqlite-N_anchor/agentry.db \
 *     --this-db DIR/sqlite-N_this/agentry.db [--rounds 3] [--queries 300]
 *   node bench/search-storage.mjs --anchor-dist /work/anchor/dist --anchor-schema bench_cache_N_anchor \
 *     --this-schema bench_cache_N [--database-url URL]
 *
 * Options:
 *   --anchor-dist DIR   the anchor build's dist/ folder
 *   --anchor-db FILE    the anchor's copy of the seeded store (SQLite)
 *   --this-db FILE      this build's copy of the seeded store (SQLite)
 *   --anchor-schema S   the anchor's copy of the seeded store (PostgreSQL schema)
 *   --this-schema S     this build's copy of the seeded store (PostgreSQL schema)
 *   --database-url URL  PostgreSQL (postgres://postgres@127.0.0.1:5432/test)
 *   --rounds R          turns of each build (3)
 *   --queries Q         selective queries in the mix (300; plus Q/5 common ones), as bench/run.mjs
 *   --sort S            the searches' order: relevance (as bench/run.mjs), or a listing's order with
 *                       a text query (name, stars, newest, downloads) (relevance)
 * Selective: at most 1% of the store's packages matched (as bench/run.mjs classes them).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { searchMix, vocabulary } from './corpus.mjs';

const { values: args } = parseArgs({
  options: {
    'anchor-dist': { type: 'string', default: '' },
    'anchor-db': { type: 'string', default: '' },
    'this-db': { type: 'string', default: '' },
    'anchor-schema': { type: 'string', default: '' },
    'this-schema': { type: 'string', default: '' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    rounds: { type: 'string', default: '3' },
    queries: { type: 'string', default: '300' },
    sort: { type: 'string', default: 'relevance' },
    // Internal: one turn of one build, run in a child process.
    turn: { type: 'string', default: '' },
    dist: { type: 'string', default: '' },
    db: { type: 'string', default: '' },
    schema: { type: 'string', default: '' },
  },
});

const mix = (Q) => searchMix(vocabulary(), Q, 99);

/** PostgreSQL: the process's one connection, and the CPU time its backend has used (ms). */
const backendCpu = async (storage, url, app) => {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const pids = (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])).rows.map((r) => r.pid);
  await admin.end();
  if (pids.length !== 1) throw new Error(`expected one connection of ${app}, found ${pids.length}`);
  return () => Number(readFileSync(`/proc/${pids[0]}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
};

if (args.turn) {
  const dist = `file://${args.dist.replace(/\/?$/, '/')}`;
  const app = `bench_search_storage_${process.pid}`;
  const url = `${args['database-url']}${args['database-url'].includes('?') ? '&' : '?'}application_name=${app}`;
  const storage = args.schema
    ? await (await import(new URL('storage/postgres/open-postgres.js', dist).href)).openPostgresStorage({ url, schema: args.schema, poolSize: 1 })
    : await (await import(new URL('storage/sqlite/open-sqlite.js', dist).href)).openSqliteStorage(args.db);
  const read = { all: false, internal: false, memberOwnerIds: [] };
  const run = (q) => storage.packages.query({ text: q.text, kind: q.kind, sort: args.sort, offset: 0, limit: 20, read });
  const queries = mix(Number(args.queries));
  for (const q of queries.slice(0, 20)) await run(q); // warm-up, as bench/run.mjs
  const backend = args.schema ? await backendCpu(storage, args['database-url'], app) : () => 0;
  const out = [];
  for (const q of queries) {
    const b0 = backend();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await run(q);
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    const db = backend() - b0;
    out.push({ cpu: (c.user + c.system) / 1000 + db, db, wall, total: r.total, estimated: r.estimated === true, ids: r.rows.map((x) => x.id) });
  }
  await storage.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

if (!['relevance', 'name', 'stars', 'newest', 'downloads'].includes(args.sort)) throw new Error(`--sort must be relevance, name, stars, newest or downloads (got ${args.sort})`);
const postgres = Boolean(args['anchor-schema'] || args['this-schema']);
for (const a of ['anchor-dist', ...(postgres ? ['anchor-schema', 'this-schema'] : ['anchor-db', 'this-db'])]) if (!args[a]) throw new Error(`--${a} is required`);
const self = fileURLToPath(import.meta.url);
const builds = [
  { label: 'anchor', dist: args['anchor-dist'], store: postgres ? ['--schema', args['anchor-schema']] : ['--db', args['anchor-db']], turns: [] },
  { label: 'this', dist: fileURLToPath(new URL('../dist/', import.meta.url)), store: postgres ? ['--schema', args['this-schema']] : ['--db', args['this-db']], turns: [] },
];
const loads = [];
for (let r = 0; r < Number(args.rounds); r++) {
  // Alternate which build goes first, so neither always meets the warmer cache or the quieter minute.
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    loads.push(loadavg()[0]);
    const out = execFileSync(process.execPath, [self, '--turn', '1', '--dist', b.dist, ...b.store, '--database-url', args['database-url'], '--queries', args.queries, '--sort', args.sort], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    b.turns.push(JSON.parse(out.trim().split('\n').at(-1)));
  }
}
const [anchor, mine] = builds;
let differences = 0;
for (let i = 0; i < anchor.turns[0].length; i++) {
  const [a, b] = [anchor.turns[0][i], mine.turns[0][i]];
  if (a.total !== b.total || a.estimated !== b.estimated || a.ids.join() !== b.ids.join()) {
    differences++;
    if (differences <= 5) console.log(`query ${i} differs: anchor ${JSON.stringify(a)} this ${JSON.stringify(b)}`);
  }
}
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const N = Number(args.queries);
/** The classes of queries by what they matched: selective (at most 1,000), its tail (500 to 1,000: most candidates ranked), broad. */
const CLASSES = [
  ['selective', (total) => total <= 1000],
  ['selective 500+', (total) => total >= 500 && total <= 1000],
  ['broad', (total) => total > 1000],
];
const summary = (b, key, inClass) => {
  const all = b.turns.flatMap((t) => t.filter((x) => inClass(x.total)).map((x) => x[key])).sort((x, y) => x - y);
  const mean = all.reduce((s, x) => s + x, 0) / all.length;
  return { n: all.length, p50: percentile(all, 50), p90: percentile(all, 90), p99: percentile(all, 99), mean };
};
const f = (x) => x.toFixed(2);
console.log(
  `\nSearch on the storage layer (${postgres ? 'PostgreSQL; CPU: process + its backend' : 'SQLite'}), ${N} + ${Math.max(20, Math.floor(N / 5))} queries x ${args.rounds} rounds per build, sort ${args.sort}, load average ${loads.map((l) => l.toFixed(1)).join(' / ')}`,
);
console.log(`| build | class | n | CPU ms p50 / p90 / p99 / mean |${postgres ? ' backend CPU ms p50 / p90 / p99 / mean |' : ''} wall ms p50 / p90 / p99 / mean |`);
console.log(`|---|---|---|---|${postgres ? '---|' : ''}---|`);
for (const b of builds) {
  for (const [cls, inClass] of CLASSES) {
    const c = summary(b, 'cpu', inClass);
    const d = summary(b, 'db', inClass);
    const w = summary(b, 'wall', inClass);
    const db = postgres ? ` ${f(d.p50)} / ${f(d.p90)} / ${f(d.p99)} / ${f(d.mean)} |` : '';
    console.log(`| ${b.label} | ${cls} | ${c.n} | ${f(c.p50)} / ${f(c.p90)} / ${f(c.p99)} / ${f(c.mean)} |${db} ${f(w.p50)} / ${f(w.p90)} / ${f(w.p99)} / ${f(w.mean)} |`);
  }
}
console.log(differences === 0 ? '\nresults: the same hits, order and totals in both builds' : `\n${differences} queries differ between the builds`);
if (differences > 0) process.exitCode = 1;
