#!/usr/bin/env node
/**
 * Where a server's CPU went: sums a V8 CPU profile (`node --cpu-prof`, e.g. the bench's
 * `--server-node-args "--cpu-prof --cpu-prof-dir=.bench/prof"`) by function, self time and
 * inclusive ("total") time, and by package (node_modules/<name>, node:internal, dist/<folder>).
 *
 *   node bench/profile-summary.mjs <file.cpuprofile> [--top 40] [--filter text]
 *
 * `--filter` keeps only the functions whose name or file contains the text (case-sensitive);
 * `--skip S` leaves out the first S seconds of the profile (start-up, warm-up) and `--until S`
 * what follows second S.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, filter: { type: 'string', default: '' }, skip: { type: 'string', default: '0' }, until: { type: 'string', default: 'Infinity' } },
});
if (positionals.length !== 1) throw new Error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N] [--filter text]');
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const top = Number(args.top);

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node: each sample is the node on top of the stack for the following time delta.
const selfUs = new Map();
const from = Number(args.skip) * 1e6;
const until = Number(args.until) * 1e6;
let at = 0;
let kept = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i];
  if (at < from || at > until) continue;
  kept += 1;
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (cf) => {
  const url = cf.url ?? '';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return url.replace(/^node:internal\/.*$/, 'node:internal');
  const dist = /\/dist\/([^/]+)(?:\/([^/]+))?/.exec(url);
  if (dist) return `dist/${dist[1]}${dist[2] && !dist[2].endsWith('.js') ? `/${dist[2]}` : ''}`;
  return url === '' ? `(${cf.functionName || 'native'})` : url.split('/').slice(-2).join('/');
};
const label = (cf) => `${cf.functionName || '(anonymous)'} ${(cf.url ?? '').split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;

const bySelf = new Map();
const byTotal = new Map();
const byPackage = new Map();
for (const [id, us] of selfUs) {
  const cf = nodes.get(id).callFrame;
  bySelf.set(label(cf), (bySelf.get(label(cf)) ?? 0) + us);
  byPackage.set(where(cf), (byPackage.get(where(cf)) ?? 0) + us);
  // Inclusive: every distinct function on the stack once.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const l = label(nodes.get(at).callFrame);
    if (seen.has(l)) continue;
    seen.add(l);
    byTotal.set(l, (byTotal.get(l) ?? 0) + us);
  }
}

const pct = (us) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
const print = (title, map) => {
  console.log(`\n${title}`);
  [...map]
    .filter(([k]) => !args.filter || k.includes(args.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, us]) => console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`));
};
console.log(`${(totalUs / 1e6).toFixed(2)} s sampled in ${kept} samples (of ${profile.samples.length}, ${(at / 1e6).toFixed(1)} s)`);
print('by package / folder (self)', byPackage);
print('by function (self)', bySelf);
print('by function (total, inclusive)', byTotal);
