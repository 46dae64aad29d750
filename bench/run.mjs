#!/usr/bin/env node
/**
 * Agentry benchmark: seeds N agent packages through the real HTTP API, then measures
 * package-metadata GET throughput and latency (autocannon, 50 connections, in this process,
 * against the server in its own process), search latency (sequential requests) and server RSS.
 *
 *   npm run build && node bench/run.mjs --packages 10000 --store both
 *
 * Options: --packages N (10000) · --store sqlite|postgres|both (sqlite) · --duration S (15) ·
 * --connections C (50) · --concurrency P publishes in flight (8) · --queries Q per search kind (300) ·
 * --database-url URL (postgres://postgres@127.0.0.1:5432/test; a fresh schema per run, dropped after).
 * Results are printed as a table and written to .bench/<store>-<N>.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { agentTarball, packageSpec, prng, vocabulary } from './corpus.mjs';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    packages: { type: 'string', default: '10000' },
    store: { type: 'string', default: 'sqlite' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '8' },
    queries: { type: 'string', default: '300' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const N = Number(args.packages);
const stores = args.store === 'both' ? ['sqlite', 'postgres'] : [args.store];
const SCOPES = Array.from({ length: 20 }, (_, i) => `bench${i}`);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (ns) => Number(ns) / 1e6;
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

const json = async (url, init) => {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};

const seed = async (server, adminToken, words) => {
  const tokens = {};
  for (const scope of SCOPES) {
    const user = await json(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: scope }),
    });
    tokens[scope] = user.token;
  }
  log(`building ${N} tarballs in memory`);
  const specs = Array.from({ length: N }, (_, i) => packageSpec(i, words, SCOPES));
  const tarballs = specs.map(agentTarball);
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstThousandSeconds = NaN;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const spec = specs[i];
      const form = new FormData();
      form.set('tarball', new Blob([tarballs[i]], { type: 'application/gzip' }), `${spec.name}-1.0.0.tgz`);
      const res = await fetch(`${server.url}/api/v1/agents/@${spec.scope}/${spec.name}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${tokens[spec.scope]}` },
        body: form,
      });
      await res.arrayBuffer();
      if (res.status !== 200) errors += 1;
      done += 1;
      if (done === Math.min(1000, N)) firstThousandSeconds = ms(process.hrtime.bigint() - start) / 1000;
      if (done % 5000 === 0) log(`published ${done}/${N} (${(done / (ms(process.hrtime.bigint() - start) / 1000)).toFixed(0)}/s)`);
    }
  };
  await Promise.all(Array.from({ length: Number(args.concurrency) }, worker));
  const seconds = ms(process.hrtime.bigint() - start) / 1000;
  return { specs, seconds, perSecond: N / seconds, firstThousandPerSecond: Math.min(1000, N) / firstThousandSeconds, errors };
};

/**
 * Metadata GETs in two phases: `hot` cycles through 1,000 packages (the server's view cache holds
 * them all after warm-up), `spread` draws from every package (at 100k most requests miss the
 * 10,000-entry cache and read the store).
 */
const loadMetadata = async (server, specs) => {
  const rnd = prng(42);
  const pathOf = (s) => `/api/v1/agents/@${s.scope}/${s.name}`;
  const hotSet = Array.from({ length: 1000 }, () => pathOf(specs[Math.floor(rnd() * specs.length)]));
  const run = (duration, nextPath) =>
    autocannon({
      url: server.url,
      connections: Number(args.connections),
      duration,
      requests: [{ setupRequest: (req) => ({ ...req, path: nextPath() }) }],
    });
  const summary = (r) => ({ requestsPerSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts });
  let k = 0;
  const hotPath = () => hotSet[k++ % hotSet.length];
  await run(3, hotPath); // warm-up
  const hot = summary(await run(Number(args.duration), hotPath));
  const spread = summary(await run(Number(args.duration), () => pathOf(specs[Math.floor(rnd() * specs.length)])));
  return { hot, spread };
};

/**
 * Search latency, one request at a time: rare words, rare+random word pairs and the most common
 * words. Each query is classed by what it matched: selective (at most 1% of the packages) or broad.
 */
const searchLatency = async (server, words) => {
  const rnd = prng(99);
  const rare = words.slice(-600);
  const common = words.slice(0, 10);
  const Q = Number(args.queries);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const paths = [
    ...Array.from({ length: Q }, (_, i) => (i % 2 === 0 ? `/api/v1/search?q=${pick(rare)}` : `/api/v1/packages?q=${pick(rare)}%20${pick(words)}`)),
    ...Array.from({ length: Math.max(20, Math.floor(Q / 5)) }, () => `/api/v1/search?q=${pick(common)}`),
  ];
  for (const p of paths.slice(0, 20)) await json(server.url + p); // warm-up
  const groups = { selective: [], broad: [] };
  for (const p of paths) {
    const t = process.hrtime.bigint();
    const body = await json(server.url + p);
    const elapsed = ms(process.hrtime.bigint() - t);
    (body.total <= N / 100 ? groups.selective : groups.broad).push({ elapsed, hits: body.total });
  }
  const summary = (list) => {
    const times = list.map((x) => x.elapsed).sort((a, b) => a - b);
    return { queries: list.length, p50: percentile(times, 50), p99: percentile(times, 99), meanHits: list.reduce((n, x) => n + x.hits, 0) / Math.max(1, list.length) };
  };
  return { selective: summary(groups.selective), common: summary(groups.broad) };
};

const benchStore = async (store, words) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-bench-'));
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? `bench_${randomBytes(4).toString('hex')}` : undefined;
  const server = await startServerProcess({ dataDir, adminToken, databaseUrl: schema ? args['database-url'] : undefined, databaseSchema: schema });
  log(`${store}: server ${server.url} (pid ${server.pid})`);
  try {
    const seeded = await seed(server, adminToken, words);
    const rssAfterSeed = server.rssMb();
    log(`${store}: seeded ${N} in ${seeded.seconds.toFixed(1)} s; metadata load…`);
    const metadata = await loadMetadata(server, seeded.specs);
    log(`${store}: search latency…`);
    const search = await searchLatency(server, words);
    return { store, packages: N, publish: { perSecond: seeded.perSecond, firstThousandPerSecond: seeded.firstThousandPerSecond, seconds: seeded.seconds, errors: seeded.errors }, metadata, search, rssMb: { afterSeed: rssAfterSeed, end: server.rssMb() } };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      const client = new pg.Client({ connectionString: args['database-url'] });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }
};

const words = vocabulary();
const results = [];
for (const store of stores) {
  const r = await benchStore(store, words);
  results.push(r);
  mkdirSync('.bench', { recursive: true });
  writeFileSync(join('.bench', `${store}-${N}.json`), JSON.stringify(r, null, 2));
}
const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`\nAgentry benchmark, ${N} packages, ${args.connections} connections, node ${process.version}`);
console.log('| store | publish/s (first 1k) | GET hot req/s (p50 / p99 ms) | GET spread req/s (p50 / p99 ms) | non-2xx | search selective (≤1% hits) p50 / p99 ms | search broad p50 / p99 ms | RSS MB seeded / end |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.store} | ${f(r.publish.perSecond, 0)} (${f(r.publish.firstThousandPerSecond, 0)}) | ${f(r.metadata.hot.requestsPerSecond, 0)} (${r.metadata.hot.p50} / ${r.metadata.hot.p99}) | ${f(r.metadata.spread.requestsPerSecond, 0)} (${r.metadata.spread.p50} / ${r.metadata.spread.p99}) | ${r.metadata.hot.non2xx + r.metadata.spread.non2xx + r.metadata.hot.errors + r.metadata.spread.errors + r.publish.errors} | ${f(r.search.selective.p50, 2)} / ${f(r.search.selective.p99, 2)} (${r.search.selective.queries} q, ≈${f(r.search.selective.meanHits, 0)} hits) | ${f(r.search.common.p50, 2)} / ${f(r.search.common.p99, 2)} (${r.search.common.queries} q, ≈${f(r.search.common.meanHits, 0)} hits) | ${f(r.rssMb.afterSeed, 0)} / ${f(r.rssMb.end, 0)} |`,
  );
}
