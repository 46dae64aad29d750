#!/usr/bin/env node
/**
 * The median of several bench/run.mjs rounds (each run with --anchor-bin), this build beside its
 * anchor: metadata GET rates, server CPU per request, RSS after the load and after GC, and the
 * ratio of each round's figure to its own anchor (the anchor ran in the same round).
 *
 *   node bench/median.mjs .bench/run-100000-A.json .bench/run-100000-B.json .bench/run-100000-C.json
 */
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: node bench/median.mjs <run.json>...');
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const cpuUs = (phase) => (phase ? ((phase.cpu.serverSeconds ?? phase.cpu.cores.server * phase.cpu.seconds) * 1e6) / phase.requests : NaN);

const figures = {
  'GET spread req/s': (r) => r.metadata?.spread.requestsPerSecond,
  'GET hot req/s': (r) => r.metadata?.hot.requestsPerSecond,
  'server CPU µs / spread GET': (r) => cpuUs(r.metadata?.spread),
  'server CPU µs / hot GET': (r) => cpuUs(r.metadata?.hot),
  'RSS MB after load': (r) => r.rssMb.afterLoad,
  'RSS MB after load + GC': (r) => r.memoryAfterLoadGc?.rss,
  'heap used MB after load + GC': (r) => r.memoryAfterLoadGc?.heapUsed,
  'RSS MB end (after search)': (r) => r.rssMb.end,
  'load average (1 min) before spread': (r) => r.metadata?.spread.loadavgBefore,
};

const stores = [...new Set(runs.flatMap((run) => run.results.map((r) => r.store)))];
console.log(`${runs.length} rounds: ${runs.map((r) => r.startedAt).join(', ')}`);
console.log('\n| store | figure | this (median) | anchor (median) | this / anchor (median of per-round ratios) | rounds (this / anchor) |');
console.log('|---|---|---|---|---|---|');
for (const store of stores) {
  for (const [name, get] of Object.entries(figures)) {
    const pairs = runs
      .map((run) => [run.results.find((r) => r.store === store && r.build === 'this'), run.results.find((r) => r.store === store && r.build === 'anchor')])
      .filter(([b, a]) => b && a)
      .map(([b, a]) => [get(b), get(a)]);
    const ratios = pairs.map(([b, a]) => b / a);
    const d = name.startsWith('load') ? 2 : 0;
    console.log(
      `| ${store} | ${name} | ${f(median(pairs.map((p) => p[0])), d)} | ${f(median(pairs.map((p) => p[1])), d)} | ${f(median(ratios), 2)}× | ${pairs.map(([b, a]) => `${f(b, d)} / ${f(a, d)}`).join('; ')} |`,
    );
  }
}
