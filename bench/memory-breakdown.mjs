#!/usr/bin/env node
/**
 * Where a server's resident memory goes under the metadata load of bench/run.mjs, on a seeded
 * SQLite store: RSS sampled through start-up, a hot phase and a spread phase (the same autocannon
 * worker, connections and path mixes as run.mjs), then the resident mappings by kind
 * (/proc/<pid>/smaps: the malloc heap, anonymous mappings, which hold V8's heap and malloc's other
 * arenas, files, stacks), V8's heap spaces as they are after the load (bench/memory-probe.mjs) and
 * the memory after full GCs, and the server's CPU per GET (so a cut in memory that costs CPU shows).
 *
 *   npm run build && node bench/memory-breakdown.mjs --cache-dir /work/bc --packages 100000 --anchor-bin ../anchor/bin/agentry.js
 *
 * Options:
 *   --cache-dir DIR       where run.mjs keeps its seeded stores (required): each build reads its own
 *                         copy, DIR/sqlite-<N>_<this|anchor>, made from DIR/sqlite-<N> when missing
 *                         (the same copies run.mjs --anchor-bin uses)
 *   --packages N          the seeded store's size (100000)
 *   --duration S          seconds of each load phase (15)
 *   --connections C       autocannon connections (50)
 *   --anchor-bin PATH     also measure this other build's bin/agentry.js, before this build
 *   --anchor-last         measure this build first, the anchor after it
 *   --server-node-args A  extra node flags for both servers
 *   --env K=V,...         extra environment for both servers (e.g. a setting to compare)
 * Prints a table per build and writes .bench/memory-<N>-<time>.json.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packageSpec, prng, vocabulary } from './corpus.mjs';
import { cpuMeter } from './cpu.mjs';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    'cache-dir': { type: 'string', default: '' },
    packages: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    'anchor-bin': { type: 'string', default: '' },
    'anchor-last': { type: 'boolean', default: false },
    'server-node-args': { type: 'string', default: '' },
    env: { type: 'string', default: '' },
  },
});
const N = Number(args.packages);
if (!args['cache-dir']) throw new Error('--cache-dir is required (a run.mjs cache with a seeded sqlite-<N>)');
const seedDir = join(args['cache-dir'], `sqlite-${N}`);
const marker = JSON.parse(readFileSync(join(seedDir, 'seeded.json'), 'utf8'));
const SCOPES = Array.from({ length: 20 }, (_, i) => `bench${i}`);
const LOAD_WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));
const extraEnv = Object.fromEntries(
  args.env
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const load1 = () => Number(loadavg()[0].toFixed(2));
const mb = (bytes) => +(bytes / 1024 / 1024).toFixed(1);

/** Resident kB by kind of mapping, from /proc/<pid>/smaps. */
const residentByKind = (pid) => {
  const kinds = { mallocHeap: 0, anonymous: 0, files: 0, stacks: 0, other: 0 };
  let kind = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1];
      kind = name === '[heap]' ? 'mallocHeap' : name === '' ? 'anonymous' : name.startsWith('/') ? 'files' : name.startsWith('[stack') ? 'stacks' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kinds[kind] += Number(rss[1]);
  }
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(v / 1024).toFixed(1)]));
};

const words = vocabulary();
const published = new Set(marker.published);
const specs = Array.from({ length: N }, (_, i) => i)
  .filter((i) => published.has(i))
  .map((i) => packageSpec(i, words, SCOPES));
const pathOf = (s) => `/api/v1/agents/@${s.scope}/${s.name}`;
const rnd = prng(42);
const hotSet = Array.from({ length: 1000 }, () => pathOf(specs[Math.floor(rnd() * specs.length)]));
const allPaths = specs.map(pathOf);

const measure = async (label, bin) => {
  const dataDir = join(args['cache-dir'], `sqlite-${N}_${label}`);
  if (!existsSync(join(dataDir, 'seeded.json'))) {
    log(`copying the seeded store for the ${label} build`);
    rmSync(dataDir, { recursive: true, force: true });
    cpSync(seedDir, dataDir, { recursive: true });
  }
  const server = await startServerProcess({
    dataDir,
    adminToken: marker.adminToken,
    bin,
    memoryProbe: true,
    env: extraEnv,
    nodeArgs: args['server-node-args'].split(/\s+/).filter(Boolean),
  });
  log(`${label}: server pid ${server.pid}, RSS ${server.memoryMb().rss.toFixed(0)} MB, load ${load1()}`);
  const samples = [];
  const sampler = setInterval(() => samples.push({ t: Date.now(), rss: server.memoryMb().rss }), 250);
  const phases = {};
  const run = async (name, mode, paths, duration, seed) => {
    const file = join(dataDir, `memory-load-${name}.json`);
    writeFileSync(file, JSON.stringify({ url: server.url, connections: Number(args.connections), duration, timeout: 10, mode, paths, seed }));
    const meter = cpuMeter(server.pid);
    const from = samples.length;
    const loadBefore = load1();
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, [LOAD_WORKER, file], { maxBuffer: 1 << 20, timeout: (duration + 60) * 1000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout),
      ),
    );
    rmSync(file, { force: true });
    const r = JSON.parse(out.trim().split('\n').at(-1));
    const cpu = meter.end(r.loadgenCpuSeconds);
    const rss = samples.slice(from).map((s) => s.rss);
    phases[name] = {
      requestsPerSecond: r.requestsPerSecond,
      requests: r.requests,
      non2xx: r.non2xx + r.errors,
      serverCpuUsPerRequest: +(((cpu.serverSeconds ?? cpu.cores.server * cpu.seconds) * 1e6) / r.requests).toFixed(1),
      rssMaxMb: +Math.max(...rss).toFixed(1),
      rssEndMb: +server.memoryMb().rss.toFixed(1),
      loadavgBefore: loadBefore,
    };
    log(`${label} ${name}: ${r.requestsPerSecond} req/s, ${phases[name].serverCpuUsPerRequest} µs server CPU/GET, RSS max ${phases[name].rssMaxMb} MB`);
  };
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const startRss = server.memoryMb().rss;
    await run('warmup', 'cycle', hotSet, 3, 1);
    await run('hot', 'cycle', hotSet, Number(args.duration), 1);
    await run('spread', 'random', allPaths, Number(args.duration), 7);
    clearInterval(sampler);
    const resident = residentByKind(server.pid);
    const heap = await server.heapNow();
    const afterGc = await server.memoryAfterGc();
    const mem = server.memoryMb();
    const v8Committed = heap.spaces.reduce((n, s) => n + s.committed, 0);
    return {
      label,
      startRssMb: +startRss.toFixed(1),
      phases,
      rssAfterLoadMb: +mem.rss.toFixed(1),
      peakRssMb: +mem.peak.toFixed(1),
      residentMb: resident,
      v8: {
        committedMb: mb(v8Committed),
        spaces: Object.fromEntries(heap.spaces.filter((s) => s.committed > 0).map((s) => [s.name, { committedMb: mb(s.committed), usedMb: mb(s.used) }])),
        externalMb: mb(heap.usage.external),
        arrayBuffersMb: mb(heap.usage.arrayBuffers),
      },
      /** Anonymous and malloc-heap memory that is not V8's heap: malloc (SQLite's caches, buffers, native code), thread stacks. */
      nativeAnonymousMb: +(resident.anonymous + resident.mallocHeap - mb(v8Committed)).toFixed(1),
      afterGc,
    };
  } finally {
    clearInterval(sampler);
    await server.stop();
  }
};

mkdirSync('.bench', { recursive: true });
const builds = [...(args['anchor-bin'] ? [['anchor', args['anchor-bin']]] : []), ['this', undefined]];
if (args['anchor-last']) builds.reverse();
const results = [];
for (const [label, bin] of builds) results.push(await measure(label, bin));
const file = join('.bench', `memory-${N}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ options: args, results }, null, 2));
console.log(
  `\n| build | RSS MB start / after load / peak | GET hot req/s (µs CPU) | GET spread req/s (µs CPU) | resident MB: malloc heap / anonymous / files / stacks | V8 committed MB (new / old / code / large) | native anon MB | after GC: RSS / heap used MB |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const s = r.v8.spaces;
  const c = (n) => s[n]?.committedMb ?? 0;
  console.log(
    `| ${r.label} | ${r.startRssMb} / ${r.rssAfterLoadMb} / ${r.peakRssMb} | ${r.phases.hot.requestsPerSecond} (${r.phases.hot.serverCpuUsPerRequest}) | ${r.phases.spread.requestsPerSecond} (${r.phases.spread.serverCpuUsPerRequest}) | ${r.residentMb.mallocHeap} / ${r.residentMb.anonymous} / ${r.residentMb.files} / ${r.residentMb.stacks} | ${r.v8.committedMb} (${c('new_space')} / ${c('old_space')} / ${c('code_space')} / ${c('large_object_space')}) | ${r.nativeAnonymousMb} | ${r.afterGc.rss} / ${r.afterGc.heapUsed} |`,
  );
}
console.log(
  `\nload average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; results: ${file}`,
);
