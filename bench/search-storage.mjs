#!/usr/bin/env node
/**
 * Search cost on the storage layer alone (no HTTP, no JSON): the search mix of bench/run.mjs
 * (same words, same seed: rare words on /search, rare+random pairs on /packages, common words)
 * run straight through `storage.packages.query` of two builds on their own copies of a seeded
 * SQLite store (bench/run.mjs --cache-dir makes them: sqlite-N_anchor and sqlite-N_this). The
 * builds take turns, round by round, in one process each turn; each query's main-thread CPU time
 * (better-sqlite3 runs the statement synchronously) and wall time are recorded, and each query's
 * hits, order and total are compared between the builds (any difference is printed and fails).
 *
 *   node bench/search-storage.mjs --anchor-dist /work/anchor/dist --anchor-db DIR/sqlite-N_anchor/agentry.db \
 *     --this-db DIR/sqlite-N_this/agentry.db [--rounds 3] [--queries 300]
 *
 * Options:
 *   --anchor-dist DIR   the anchor build's dist/ folder
 *   --anchor-db FILE    the anchor's copy of the seeded store
 *   --this-db FILE      this build's copy of the seeded store
 *   --rounds R          turns of each build (3)
 *   --queries Q         selective queries in the mix (300; plus Q/5 common ones), as bench/run.mjs
 * Selective: at most 1% of the store's packages matched (as bench/run.mjs classes them).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prng, vocabulary } from './corpus.mjs';

const { values: args } = parseArgs({
  options: {
    'anchor-dist': { type: 'string', default: '' },
    'anchor-db': { type: 'string', default: '' },
    'this-db': { type: 'string', default: '' },
    rounds: { type: 'string', default: '3' },
    queries: { type: 'string', default: '300' },
    // Internal: one turn of one build, run in a child process.
    turn: { type: 'string', default: '' },
    dist: { type: 'string', default: '' },
    db: { type: 'string', default: '' },
  },
});

const mix = (Q) => {
  const words = vocabulary();
  const rnd = prng(99);
  const rare = words.slice(-600);
  const common = words.slice(0, 10);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  return [
    ...Array.from({ length: Q }, (_, i) => (i % 2 === 0 ? { kind: 'agent', text: pick(rare) } : { kind: undefined, text: `${pick(rare)} ${pick(words)}` })),
    ...Array.from({ length: Math.max(20, Math.floor(Q / 5)) }, (_, i) => (i % 2 === 0 ? { kind: 'agent', text: pick(common) } : { kind: undefined, text: `${pick(common)} ${pick(common)}` })),
  ];
};

if (args.turn) {
  const { openSqliteStorage } = await import(new URL('storage/sqlite/open-sqlite.js', `file://${args.dist.replace(/\/?$/, '/')}`).href);
  const storage = await openSqliteStorage(args.db);
  const read = { all: false, internal: false, memberOwnerIds: [] };
  const run = (q) => storage.packages.query({ text: q.text, kind: q.kind, sort: 'relevance', offset: 0, limit: 20, read });
  const queries = mix(Number(args.queries));
  for (const q of queries.slice(0, 20)) await run(q); // warm-up, as bench/run.mjs
  const out = [];
  for (const q of queries) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await run(q);
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    out.push({ cpu: (c.user + c.system) / 1000, wall, total: r.total, estimated: r.estimated === true, ids: r.rows.map((x) => x.id) });
  }
  await storage.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

for (const a of ['anchor-dist', 'anchor-db', 'this-db']) if (!args[a]) throw new Error(`--${a} is required`);
const self = fileURLToPath(import.meta.url);
const builds = [
  { label: 'anchor', dist: args['anchor-dist'], db: args['anchor-db'], turns: [] },
  { label: 'this', dist: fileURLToPath(new URL('../dist/', import.meta.url)), db: args['this-db'], turns: [] },
];
const loads = [];
for (let r = 0; r < Number(args.rounds); r++) {
  // Alternate which build goes first, so neither always meets the warmer cache or the quieter minute.
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    loads.push(loadavg()[0]);
    const out = execFileSync(process.execPath, [self, '--turn', '1', '--dist', b.dist, '--db', b.db, '--queries', args.queries], { encoding: 'utf8', maxBuffer: 64 << 20 });
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
const summary = (b, key, selective) => {
  const all = b.turns.flatMap((t) => t.filter((x) => x.total <= 1000 === selective).map((x) => x[key])).sort((x, y) => x - y);
  const mean = all.reduce((s, x) => s + x, 0) / all.length;
  return { n: all.length, p50: percentile(all, 50), p90: percentile(all, 90), p99: percentile(all, 99), mean };
};
const f = (x) => x.toFixed(2);
console.log(`\nSearch on the storage layer, ${N} + ${Math.max(20, Math.floor(N / 5))} queries x ${args.rounds} rounds per build, load average ${loads.map((l) => l.toFixed(1)).join(' / ')}`);
console.log('| build | class | n | CPU ms p50 / p90 / p99 / mean | wall ms p50 / p90 / p99 / mean |');
console.log('|---|---|---|---|---|');
for (const b of builds) {
  for (const [cls, sel] of [
    ['selective', true],
    ['broad', false],
  ]) {
    const c = summary(b, 'cpu', sel);
    const w = summary(b, 'wall', sel);
    console.log(`| ${b.label} | ${cls} | ${c.n} | ${f(c.p50)} / ${f(c.p90)} / ${f(c.p99)} / ${f(c.mean)} | ${f(w.p50)} / ${f(w.p90)} / ${f(w.p99)} / ${f(w.mean)} |`);
  }
}
console.log(differences === 0 ? '\nresults: the same hits, order and totals in both builds' : `\n${differences} queries differ between the builds`);
if (differences > 0) process.exitCode = 1;
