#!/usr/bin/env node
/**
 * Server CPU per uncached package-metadata GET, builds alternated round by round: each build
 * serves its own copy of one seeded store (bench/run.mjs --cache-dir …/<store>-<N>), a 3 s
 * warm-up, then `--seconds` of GETs spread uniformly over every package (50 connections, the same
 * load worker as bench/run.mjs). Prints the server's user and system CPU µs per GET for each run
 * and each build's median: on a machine others load, the order alternates so neither build always
 * meets the quieter minute, and the median of several rounds is steadier than one bench/run.mjs.
 *
 *   node bench/get-cpu.mjs <seeded sqlite dir> <rounds> <bin/agentry.js> [<other bin/agentry.js> …] [--seconds 10]
 *
 * Each build's copy is `<seeded dir>_cpu_<n>` (n: the build's place on the command line), made
 * once and kept (the build's migrations run on it at its first start); delete them when done.
 */
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packageSpec, vocabulary } from './corpus.mjs';
import { startServerProcess } from './server-process.mjs';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string', default: '10' } } });
const [seedDir, rounds, ...bins] = positionals;
if (!seedDir || !(Number(rounds) > 0) || bins.length === 0) throw new Error('usage: node bench/get-cpu.mjs <seeded sqlite dir> <rounds> <bin/agentry.js> [<bin/agentry.js> …] [--seconds S]');
const LOAD_WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));
const SCOPES = Array.from({ length: 20 }, (_, i) => `bench${i}`);

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpu = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / TICKS, system: Number(f[12]) / TICKS };
};

const marker = JSON.parse(readFileSync(join(seedDir, 'seeded.json'), 'utf8'));
const words = vocabulary();
const paths = marker.published.map((i) => {
  const s = packageSpec(i, words, SCOPES);
  return `/api/v1/agents/@${s.scope}/${s.name}`;
});

const load = (url, duration, seed) => {
  const file = join(tmpdir(), `agentry-get-cpu-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ url, connections: 50, duration, timeout: 10, mode: 'random', paths, seed }));
  return JSON.parse(execFileSync(process.execPath, [LOAD_WORKER, file], { encoding: 'utf8' }).trim().split('\n').at(-1));
};

const perGet = bins.map(() => []);
for (let round = 0; round < Number(rounds); round++) {
  const order = bins.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  for (const i of order) {
    const dir = `${seedDir}_cpu_${i}`;
    if (!existsSync(join(dir, 'seeded.json'))) {
      rmSync(dir, { recursive: true, force: true });
      cpSync(seedDir, dir, { recursive: true });
    }
    const server = await startServerProcess({ dataDir: dir, adminToken: marker.adminToken, bin: bins[i] });
    try {
      load(server.url, 3, 1);
      const load1 = loadavg()[0];
      const before = cpu(server.pid);
      const r = load(server.url, Number(args.seconds), 7 + round);
      const after = cpu(server.pid);
      const user = ((after.user - before.user) * 1e6) / r.requests;
      const system = ((after.system - before.system) * 1e6) / r.requests;
      perGet[i].push(user + system);
      console.log(
        `round ${round + 1}, build ${i} (${bins[i]}): ${r.requestsPerSecond.toFixed(0)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}; server CPU per GET user ${user.toFixed(1)} + system ${system.toFixed(1)} = ${(user + system).toFixed(1)} µs (load ${load1.toFixed(1)})`,
      );
    } finally {
      await server.stop();
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('\n| build | server CPU µs per GET, median | each round |');
console.log('|---|---|---|');
for (const [i, bin] of bins.entries()) console.log(`| ${i}: ${bin} | ${median(perGet[i]).toFixed(1)} | ${perGet[i].map((x) => x.toFixed(0)).join(', ')} |`);
if (bins.length > 1) console.log(`\nbuild 1 / build 0: ${(median(perGet[1]) / median(perGet[0])).toFixed(2)}×`);
