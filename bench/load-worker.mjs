/**
 * One autocannon run in its own process, so the load generator's event loop and heap share
 * nothing with the benchmark driver (which holds the whole corpus) or with the server.
 *
 *   node bench/load-worker.mjs <config.json>
 *
 * config: {url, connections, duration (s), warmup (s, optional), timeout (s), paths: [...],
 * mode: 'cycle' (round-robin over paths) | 'random' (uniform, seeded), seed}.
 * Prints one JSON line: the summary, the status codes seen and this process's CPU time.
 * Run a warm-up as its own invocation, so the CPU time covers only the measured run.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { prng } from './corpus.mjs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { paths } = config;
const rnd = prng(config.seed ?? 42);
let k = 0;
const nextPath = config.mode === 'cycle' ? () => paths[k++ % paths.length] : () => paths[Math.floor(rnd() * paths.length)];

const run = (duration) =>
  autocannon({
    url: config.url,
    connections: config.connections,
    duration,
    timeout: config.timeout ?? 10,
    requests: [{ setupRequest: (req) => ({ ...req, path: nextPath() }) }],
  });

if (config.warmup > 0) await run(config.warmup);
const r = await run(config.duration);
const cpu = process.cpuUsage(); // the whole process, start-up included: the driver meters from the spawn
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: r.requests.average,
    requests: r.requests.total,
    seconds: r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, v.count])),
    loadgenCpuSeconds: (cpu.user + cpu.system) / 1e6,
  })}\n`,
);
