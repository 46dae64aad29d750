#!/usr/bin/env node
/**
 * Agentry benchmark: seeds N agent packages through the real HTTP API, then measures
 * package-metadata GET throughput and latency (autocannon, 50 connections, in this process,
 * against the server in its own process), search latency (sequential requests) and server RSS.
 *
 *   npm run build && npm run bench -- --packages 10000 --store both
 *
 * Options:
 *   --packages N          packages to publish (10000)
 *   --store S             sqlite | postgres | both (sqlite)
 *   --duration S          seconds of each metadata load phase (15)
 *   --connections C       autocannon connections (50)
 *   --concurrency P       publishes in flight while seeding (8)
 *   --queries Q           search queries in the selective mix (300; plus Q/5 common ones)
 *   --search-warmup W     queries sent, untimed, before the timed mix (20): the same shape of mix from
 *                         another seed, so a server started just before (--skip-load) is measured warm
 *                         (JIT, database connections and buffers) without timing queries it has seen
 *   --seed-timeout S      stop seeding after S seconds and go on with what was published (1200)
 *   --database-url URL    PostgreSQL (postgres://postgres@127.0.0.1:5432/test; a fresh schema per
 *                         run, dropped after)
 *   --server-node-args A  extra node flags for the server process, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof"
 *   --skip-load           seed and measure search only
 *   --settle S            after seeding, run sync and wait S seconds before the read phases (0)
 *   --create-wait S       before publishing, wait up to S seconds while creating a file costs over
 *                         50 µs of CPU (ext4 after a mass delete, e.g. the last run's data dirs) (300)
 *   --keep-data           keep the SQLite data dir / PostgreSQL schema (for profiling; printed at the end)
 *   --cache-dir DIR       seed once and keep it: the first run seeds into DIR/<store>-<N> (PostgreSQL:
 *                         schema bench_cache_<N>) and leaves it there; later runs start the server on
 *                         it and skip seeding (their publish figures are the seeding run's, marked
 *                         reused). Seeding 100k packages takes long on a busy machine. The PostgreSQL
 *                         cache is copied row for row from the SQLite one when that exists
 *                         (bench/copy-to-postgres.mjs); its publish figures are then the SQLite seeding's.
 *   --cache-schema NAME   the PostgreSQL cache schema's name before _<N> (bench_cache): runs that
 *                         share the database but not the cache directory keep apart
 *   --anchor-bin PATH     also bench this other build's bin/agentry.js (e.g. main's, built in a copy)
 *                         right before this build: the anchor in the same run. With --cache-dir both
 *                         read the same seeded store; without, each seeds its own (publish rates).
 *   --publish-client C    how seeding sends its publishes: pool (an undici Pool of --concurrency
 *                         connections, the default) or fetch (the global fetch). Both send the same
 *                         pre-encoded multipart bodies; the pool costs the bench process less CPU.
 *   --anchor-last         bench this build first and the anchor after it (alternate between rounds, so
 *                         neither build always meets the warmer page cache or the quieter minute)
 * Results are printed as a table and written to .bench/<store>-<N>.json and .bench/run-<N>-<time>.json.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import Database from 'better-sqlite3';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { agentTarball, packageSpec, prng, searchMix, vocabulary } from './corpus.mjs';
import { cpuMeter } from './cpu.mjs';
import { copySqliteToPostgres } from './copy-to-postgres.mjs';
import { memoryMb, startServerProcess, stopServers } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    packages: { type: 'string', default: '10000' },
    store: { type: 'string', default: 'sqlite' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '8' },
    queries: { type: 'string', default: '300' },
    'search-warmup': { type: 'string', default: '20' },
    'seed-timeout': { type: 'string', default: '1200' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'server-node-args': { type: 'string', default: '' },
    'skip-load': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
    settle: { type: 'string', default: '0' },
    'create-wait': { type: 'string', default: '300' },
    'cache-dir': { type: 'string', default: '' },
    'anchor-bin': { type: 'string', default: '' },
    'anchor-last': { type: 'boolean', default: false },
    'publish-client': { type: 'string', default: 'pool' },
    'cache-schema': { type: 'string', default: 'bench_cache' },
  },
});
const N = Number(args.packages);
if (!Number.isInteger(N) || N < 1) throw new Error(`--packages must be a positive whole number (got ${args.packages})`);
const stores = args.store === 'both' ? ['sqlite', 'postgres'] : [args.store];
if (!stores.every((s) => s === 'sqlite' || s === 'postgres')) throw new Error(`--store must be sqlite, postgres or both (got ${args.store})`);
const LOAD_WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));
const SCOPES = Array.from({ length: 20 }, (_, i) => `bench${i}`);
const serverNodeArgs = args['server-node-args'].split(/\s+/).filter(Boolean);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (ns) => Number(ns) / 1e6;
const secondsSince = (t) => ms(process.hrtime.bigint() - t) / 1000;
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const load1 = () => Number(loadavg()[0].toFixed(2));

const json = async (url, init) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000), ...init });
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};

/** Publishes packages 0..N-1 (or only the indices in `only`, as the admin: topping up a cached store). */
const seed = async (server, adminToken, words, only) => {
  const tokens = {};
  for (const scope of only ? [] : SCOPES) {
    const user = await json(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: scope }),
    });
    tokens[scope] = user.token;
  }
  log(`building ${N} tarballs in memory`);
  const specs = (only ?? Array.from({ length: N }, (_, i) => i)).map((i) => packageSpec(i, words, SCOPES));
  const total = specs.length;
  // Each request's body is the multipart form fetch would send (a FormData with the tarball as a
  // file), encoded before the timed phase so the driver's CPU while publishing is sending, not encoding.
  let bodies = [];
  for (const spec of specs) {
    const form = new FormData();
    form.set('tarball', new Blob([agentTarball(spec)], { type: 'application/gzip' }), `${spec.name}-1.0.0.tgz`);
    const encoded = new Response(form);
    bodies.push({ type: encoded.headers.get('content-type'), bytes: Buffer.from(await encoded.arrayBuffer()) });
  }
  const client = args['publish-client'];
  if (client !== 'pool' && client !== 'fetch') throw new Error(`--publish-client must be pool or fetch (got ${client})`);
  const pool = client === 'pool' ? new Pool(server.url, { connections: Number(args.concurrency), headersTimeout: 60_000, bodyTimeout: 60_000 }) : undefined;
  /** PUTs one encoded body: its status and response text. */
  const send = async (path, token, body) => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': body.type };
    if (pool) {
      const res = await pool.request({ path, method: 'PUT', headers, body: body.bytes });
      return { status: res.statusCode, text: await res.body.text() };
    }
    const res = await fetch(`${server.url}${path}`, { method: 'PUT', headers, body: body.bytes, signal: AbortSignal.timeout(60_000) });
    return { status: res.status, text: await res.text() };
  };
  const deadline = Number(args['seed-timeout']);
  let next = 0;
  let done = 0;
  const published = [];
  const failures = {}; // status → count
  let firstFailure;
  let firstThousandSeconds = NaN;
  let timedOut = false;
  // The second half of the publishes measured apart: by then the server's JIT has compiled its hot
  // paths (over the first thousands of publishes TurboFan's background compiles are a tenth or more
  // of the server's CPU), so it shows the cost per publish of a warm server.
  let half;
  const meter = cpuMeter(server.pid);
  const driverCpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) {
      if (secondsSince(start) > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      const spec = specs[i];
      let status;
      let text;
      try {
        ({ status, text } = await send(`/api/v1/agents/@${spec.scope}/${spec.name}`, tokens[spec.scope] ?? adminToken, bodies[i]));
      } catch (e) {
        status = e.name ?? 'error';
        text = String(e);
      }
      if (status === 200) published.push(spec);
      else {
        failures[status] = (failures[status] ?? 0) + 1;
        firstFailure ??= `${status} ${text.slice(0, 300)}`;
      }
      done += 1;
      if (done === Math.min(1000, total)) firstThousandSeconds = secondsSince(start);
      if (done === Math.floor(total / 2)) half = { done, start: process.hrtime.bigint(), meter: cpuMeter(server.pid), driverCpu: process.cpuUsage() };
      if (done % 5000 === 0) log(`published ${done}/${total} (${(done / secondsSince(start)).toFixed(0)}/s, server RSS ${server.memoryMb().rss.toFixed(0)} MB, load ${load1()})`);
    }
  };
  await Promise.all(Array.from({ length: Number(args.concurrency) }, worker));
  const seconds = secondsSince(start);
  const driver = process.cpuUsage(driverCpu);
  const cpu = meter.end((driver.user + driver.system) / 1e6);
  const halfDriver = half && process.cpuUsage(half.driverCpu);
  const secondHalf = half && { attempted: done - half.done, seconds: secondsSince(half.start), cpu: half.meter.end((halfDriver.user + halfDriver.system) / 1e6) };
  bodies = undefined;
  await pool?.close();
  if (timedOut) log(`seeding stopped at the ${deadline} s limit after ${done} publishes`);
  if (firstFailure) log(`publish failures ${JSON.stringify(failures)}; first: ${firstFailure}`);
  return {
    specs: published,
    result: {
      attempted: done,
      published: published.length,
      seconds,
      perSecond: done / seconds,
      firstThousandPerSecond: Math.min(1000, done) / firstThousandSeconds,
      ...(only ? { toppedUp: total } : {}),
      failures,
      firstFailure,
      timedOut,
      cpu,
      secondHalf,
    },
  };
};

/**
 * Metadata GETs in two phases, each an autocannon run in its own process (bench/load-worker.mjs):
 * `hot` cycles through 1,000 packages (the server's view cache holds them all after warm-up),
 * `spread` draws uniformly from every package (at 100k most requests miss the 10,000-entry view
 * cache and read the store). Each phase records where the machine's CPU went.
 */
const loadMetadata = async (server, specs, workDir) => {
  const rnd = prng(42);
  const pathOf = (s) => `/api/v1/agents/@${s.scope}/${s.name}`;
  const hotSet = Array.from({ length: 1000 }, () => pathOf(specs[Math.floor(rnd() * specs.length)]));
  const allPaths = specs.map(pathOf);
  const run = async (name, mode, paths, duration, seed) => {
    const file = join(workDir, `load-${name}.json`);
    writeFileSync(file, JSON.stringify({ url: server.url, connections: Number(args.connections), duration, timeout: 10, mode, paths, seed }));
    const meter = cpuMeter(server.pid);
    const loadBefore = load1();
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, [LOAD_WORKER, file], { maxBuffer: 1 << 20, timeout: (duration + 60) * 1000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`load worker (${name}) failed: ${err.message} ${stderr}`)) : resolve(stdout),
      );
    });
    const r = JSON.parse(out.trim().split('\n').at(-1));
    return { ...r, cpu: meter.end(r.loadgenCpuSeconds), loadavgBefore: loadBefore, serverMemoryMb: server.memoryMb() };
  };
  log('metadata: warm-up (3 s)');
  await run('warmup', 'cycle', hotSet, 3, 1);
  log(`metadata: hot set, ${args.duration} s, ${args.connections} connections`);
  const hot = await run('hot', 'cycle', hotSet, Number(args.duration), 1);
  log(`metadata: spread over all ${specs.length}, ${args.duration} s`);
  const spread = await run('spread', 'random', allPaths, Number(args.duration), 7);
  const cores = (c) => `server ${c.server}, loadgen ${c.loadgen}, postgres ${c.postgres}, other ${c.other}, steal ${c.steal} cores`;
  log(`metadata: hot ${hot.requestsPerSecond} req/s (${cores(hot.cpu.cores)}); spread ${spread.requestsPerSecond} req/s (${cores(spread.cpu.cores)})`);
  return { hot, spread };
};

/**
 * Search latency, one request at a time: rare words on /search, rare+random word pairs on
 * /packages, and the most common words. Each query is classed by what it matched: selective
 * (at most 1% of the packages) or broad.
 */
/** The search mix (corpus.mjs) as requests: an agents' query to /search, one over every kind to /packages. */
const searchRequests = (words, Q, seed) =>
  searchMix(words, Q, seed).map(({ kind, text }) => {
    const q = text.replace(' ', '%20');
    return kind === 'agent' ? { endpoint: 'search', path: `/api/v1/search?q=${q}` } : { endpoint: 'packages', path: `/api/v1/packages?q=${q}` };
  });

const searchLatency = async (server, words, packages) => {
  const queries = searchRequests(words, Number(args.queries), 99);
  // Warm-up, untimed. The default (20) sends the timed mix's first queries, as this bench always
  // did; a larger one draws its own mix (five selective queries to one broad) from another seed.
  const W = Number(args['search-warmup']);
  if (!Number.isInteger(W) || W < 0) throw new Error(`--search-warmup must be a whole number (got ${args['search-warmup']})`);
  const warm = W <= 20 ? queries.slice(0, W) : searchRequests(words, Math.ceil((W * 5) / 6), 12345).slice(0, W);
  for (const q of warm) await json(server.url + q.path);
  const loadBefore = load1();
  const meter = cpuMeter(server.pid);
  const driverCpu = process.cpuUsage();
  const all = [];
  for (const q of queries) {
    const t = process.hrtime.bigint();
    const body = await json(server.url + q.path);
    all.push({ ...q, elapsed: ms(process.hrtime.bigint() - t), hits: body.total });
  }
  const summary = (list) => {
    const times = list.map((x) => x.elapsed).sort((a, b) => a - b);
    const hits = list.map((x) => x.hits).sort((a, b) => a - b);
    return {
      queries: list.length,
      p50: percentile(times, 50),
      p90: percentile(times, 90),
      p99: percentile(times, 99),
      max: times.at(-1),
      hitsMedian: percentile(hits, 50),
      hitsMax: hits.at(-1),
    };
  };
  const driver = process.cpuUsage(driverCpu);
  const cpu = meter.end((driver.user + driver.system) / 1e6);
  const selective = all.filter((x) => x.hits <= packages / 100);
  const broad = all.filter((x) => x.hits > packages / 100);
  const slowest = [...all]
    .sort((a, b) => b.elapsed - a.elapsed)
    .slice(0, 5)
    .map((x) => ({ path: x.path, ms: Number(x.elapsed.toFixed(2)), hits: x.hits }));
  return {
    selective: summary(selective),
    common: summary(broad),
    byEndpoint: {
      searchSelective: summary(selective.filter((x) => x.endpoint === 'search')),
      packagesSelective: summary(selective.filter((x) => x.endpoint === 'packages')),
      searchCommon: summary(broad.filter((x) => x.endpoint === 'search')),
      packagesCommon: summary(broad.filter((x) => x.endpoint === 'packages')),
    },
    slowest,
    loadavgBefore: loadBefore,
    cpu,
  };
};

const withPg = async (fn) => {
  const client = new pg.Client({ connectionString: args['database-url'] });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

const storeSizeMb = async (store, dataDir, schema) => {
  if (store === 'sqlite') {
    const bytes = readdirSync(dataDir)
      .filter((f) => f.startsWith('agentry.db'))
      .reduce((n, f) => n + statSync(join(dataDir, f)).size, 0);
    return bytes / 1024 / 1024;
  }
  return withPg(async (c) => {
    const r = await c.query(`SELECT coalesce(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))), 0) AS bytes FROM pg_tables WHERE schemaname = $1`, [schema]);
    return Number(r.rows[0].bytes) / 1024 / 1024;
  });
};

const MISSING_DOCUMENTS = (prefix) => `SELECT count(*) AS n FROM ${prefix}packages p WHERE NOT EXISTS (SELECT 1 FROM ${prefix}package_documents d WHERE d.package_id = p.id)`;

/**
 * Waits while the server writes the detail documents its store lacks (PackageService.fillDocuments
 * runs in the background from its start): timed with the searches, that work made the server
 * reading a copy of the cache without them spend 1.7× the CPU per search of one reading a copy
 * with them. Done when none is missing or the count stops moving (polled every 2 s, at most
 * `limit` s). Returns the seconds waited and how many were missing at first.
 */
const documentsFilled = async (store, dataDir, schema, limit = 900) => {
  const missing =
    store === 'postgres'
      ? () => withPg(async (c) => Number((await c.query(MISSING_DOCUMENTS(`"${schema}".`))).rows[0].n))
      : () => {
          const db = new Database(join(dataDir, 'agentry.db'), { readonly: true, fileMustExist: true });
          try {
            return Number(db.prepare(MISSING_DOCUMENTS('')).get().n);
          } finally {
            db.close();
          }
        };
  const t = process.hrtime.bigint();
  const first = await missing();
  let last = first;
  while (last > 0 && secondsSince(t) < limit) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = await missing();
    if (now === last) break;
    last = now;
  }
  return { seconds: secondsSince(t), missingAtStart: first, missingAtEnd: last };
};

/**
 * What to undo if the run is interrupted (SIGINT/SIGTERM), once every server started is stopped
 * (one still starting included; server-process.mjs kills any left at exit): drop the data. A
 * second signal exits at once.
 */
const cleanups = new Set();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: cleaning up`);
    await stopServers();
    await Promise.allSettled([...cleanups].map((fn) => fn()));
    process.exit(130);
  });
}

/**
 * CPU µs (system + user, this process) to create an empty file in `dir` (a folder of its own beside
 * the data dirs), measured on `count` files left in place until the run ends. On ext4 without a
 * journal (the bench machine) the inode allocator skips every inode deleted in the last 60 s to
 * 5 min, reading each one's table block: a file created then costs several times the CPU, and each
 * publish creates a blob file. Printed beside the publish figures so a build that met someone's
 * mass delete (another run's data dir, a test suite's temp folders) shows it.
 */
const fileCreateMicros = (dir, count = 200) => {
  const at = readdirSync(dir).length;
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) closeSync(openSync(join(dir, `f${at + i}`), 'wx'));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
};

const benchStore = async (store, words, build = { label: 'this', bin: undefined }) => {
  // PostgreSQL: a schema per build (each copied from the SQLite cache), so a build whose migrations
  // the other lacks never meets them (a store refuses a build missing one it ran).
  const suffix = store === 'postgres' && build.label === 'anchor' ? '_anchor' : '';
  if (!/^[a-z_][a-z0-9_]*$/.test(args['cache-schema'])) throw new Error(`--cache-schema must be a lower-case SQL name (got ${args['cache-schema']})`);
  const pgSchema = `${args['cache-schema']}_${N}${suffix}`;
  // SQLite with an anchor: each build reads its own copy of the seeded store (`sqlite-N` stays as the
  // seed and no server opens it again), so neither build's migrations reach the other's store.
  // Seed with the older build (the anchor runs first unless --anchor-last).
  const seedDir = args['cache-dir'] && join(args['cache-dir'], `sqlite-${N}`);
  const sqliteMarker = seedDir && join(seedDir, 'seeded.json');
  const ownCopy = store === 'sqlite' && args['anchor-bin'] && seedDir && existsSync(sqliteMarker) ? join(args['cache-dir'], `sqlite-${N}_${build.label}`) : undefined;
  if (ownCopy && !existsSync(join(ownCopy, 'seeded.json'))) {
    log(`sqlite: copying the seeded store for the ${build.label} build`);
    rmSync(ownCopy, { recursive: true, force: true });
    cpSync(seedDir, ownCopy, { recursive: true });
  }
  const cacheDir = ownCopy ?? (args['cache-dir'] ? join(args['cache-dir'], `${store}-${N}${suffix}`) : undefined);
  const markerFile = cacheDir && join(cacheDir, 'seeded.json');
  if (store === 'postgres' && markerFile && !existsSync(markerFile) && existsSync(sqliteMarker)) {
    log(`postgres: copying the seeded SQLite store into schema ${pgSchema}`);
    mkdirSync(cacheDir, { recursive: true });
    const dist = build.bin ? pathToFileURL(join(dirname(build.bin), '..', 'dist') + '/').href : undefined;
    await copySqliteToPostgres(join(args['cache-dir'], `sqlite-${N}`, 'agentry.db'), args['database-url'], pgSchema, dist);
    const lite = JSON.parse(readFileSync(sqliteMarker, 'utf8'));
    writeFileSync(markerFile, JSON.stringify({ ...lite, schema: pgSchema, copiedFromSqlite: true }));
  }
  const cached = markerFile && existsSync(markerFile) ? JSON.parse(readFileSync(markerFile, 'utf8')) : undefined;
  const keep = args['keep-data'] || cacheDir !== undefined;
  if (cacheDir) mkdirSync(cacheDir, { recursive: true });
  if (cacheDir && !cached) {
    // A half-seeded cache from an interrupted run: start it afresh.
    rmSync(cacheDir, { recursive: true, force: true });
    mkdirSync(cacheDir, { recursive: true });
    if (store === 'postgres') await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`));
  }
  const dataDir = cacheDir ?? mkdtempSync(join(tmpdir(), 'agentry-bench-'));
  const adminToken = cached?.adminToken ?? `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? (cacheDir ? pgSchema : `bench_${randomBytes(4).toString('hex')}`) : undefined;
  // On a signal: the data goes once the servers stopped (a server still starting included).
  const removeData = async () => {
    if (keep) return;
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  };
  cleanups.add(removeData);
  const server = await startServerProcess({
    dataDir,
    adminToken,
    databaseUrl: schema ? args['database-url'] : undefined,
    databaseSchema: schema,
    nodeArgs: serverNodeArgs,
    bin: build.bin,
    // The memory probe (bench/memory-probe.mjs): the server's memory after full GCs, asked after the load.
    memoryProbe: true,
  });
  const result = { store, build: build.label, packages: N, startedAt: new Date().toISOString(), fileCreateMicros: {} };
  // From here on the server is stopped however this ends (the finally below).
  try {
    const probeDir = mkdtempSync(join(tmpdir(), 'agentry-bench-probe-'));
    removeAtEnd.push(async () => rmSync(probeDir, { recursive: true, force: true }));
    cleanups.add(removeAtEnd.at(-1));
    let createBefore = fileCreateMicros(probeDir);
    if (!(cached && cached.published.length >= N)) {
      // Publishing creates a blob file each: do not time it while file creation is slow because of
      // someone's mass delete (the anchor and this build would each meet it by turns).
      const waitUntil = Date.now() + Number(args['create-wait']) * 1000;
      if (createBefore > 50 && Date.now() < waitUntil) log(`${store}: file create ${createBefore.toFixed(0)} µs; waiting until it is under 50 µs (--create-wait)`);
      while (createBefore > 50 && Date.now() < waitUntil) {
        await new Promise((r) => setTimeout(r, 5000));
        createBefore = fileCreateMicros(probeDir, 50);
      }
    }
    log(
      `${store} (${build.label} build): server ${server.url} (pid ${server.pid})${schema ? `, schema ${schema}` : ''}, load ${load1()}, file create ${createBefore.toFixed(0)} µs${cached ? ', reusing the seeded cache' : ''}`,
    );
    result.fileCreateMicros.before = createBefore;
    let seeded;
    if (cached && cached.published.length < N) {
      // An earlier seeding stopped at its time limit: publish the rest now, then go on as cached.
      const have = new Set(cached.published);
      const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !have.has(i));
      log(`${store}: topping up the cache with ${missing.length} packages`);
      const more = await seed(server, adminToken, words, missing);
      const names = new Set(more.specs.map((s) => `${s.scope}/${s.name}`));
      cached.published = [...cached.published, ...missing.filter((i) => names.has(`${packageSpec(i, words, SCOPES).scope}/${packageSpec(i, words, SCOPES).name}`))];
      cached.topUp = more.result;
      writeFileSync(markerFile, JSON.stringify(cached));
    }
    if (cached) {
      const published = new Set(cached.published);
      seeded = {
        specs: Array.from({ length: N }, (_, i) => i)
          .filter((i) => published.has(i))
          .map((i) => packageSpec(i, words, SCOPES)),
        result: { ...cached.publish, reused: true },
      };
    } else {
      seeded = await seed(server, adminToken, words);
      if (markerFile) {
        const names = new Set(seeded.specs.map((s) => `${s.scope}/${s.name}`));
        const published = Array.from({ length: N }, (_, i) => i).filter((i) => {
          const s = packageSpec(i, words, SCOPES);
          return names.has(`${s.scope}/${s.name}`);
        });
        writeFileSync(markerFile, JSON.stringify({ adminToken, schema, publish: seeded.result, published }));
      }
    }
    result.publish = seeded.result;
    result.fileCreateMicros.after = fileCreateMicros(probeDir);
    result.rssMb = { afterSeed: server.memoryMb().rss };
    result.storeSizeMb = await storeSizeMb(store, dataDir, schema);
    log(
      `${store}: ${cached ? 'reused' : 'seeded'} ${seeded.specs.length} in ${seeded.result.seconds.toFixed(1)} s (${seeded.result.perSecond.toFixed(0)}/s); store ${result.storeSizeMb.toFixed(0)} MB; file create ${result.fileCreateMicros.after.toFixed(0)} µs`,
    );
    result.documents = await documentsFilled(store, dataDir, schema);
    if (result.documents.missingAtStart > 0) {
      log(
        `${store}: waited ${result.documents.seconds.toFixed(0)} s for the server to write ${result.documents.missingAtStart} missing package documents (${result.documents.missingAtEnd} still missing)`,
      );
    }
    const settle = Number(args.settle);
    if (settle > 0) {
      // Let the seeding's aftermath (write-back, PostgreSQL's background writer) pass before reads are timed.
      const t = process.hrtime.bigint();
      execFileSync('sync');
      const syncSeconds = secondsSince(t);
      await new Promise((r) => setTimeout(r, settle * 1000));
      result.settle = { seconds: settle, syncSeconds };
      log(`${store}: sync took ${syncSeconds.toFixed(1)} s, settled ${settle} s`);
    }
    if (!args['skip-load']) {
      result.metadata = await loadMetadata(server, seeded.specs, dataDir);
      // RSS right after the spread phase (what the load left resident), then live memory after full GCs.
      result.rssMb.afterLoad = server.memoryMb().rss;
      result.memoryAfterLoadGc = await server.memoryAfterGc();
      log(`${store}: RSS after load ${result.rssMb.afterLoad.toFixed(0)} MB; after GC ${JSON.stringify(result.memoryAfterLoadGc)}`);
    }
    log(`${store}: search latency…`);
    result.search = await searchLatency(server, words, seeded.specs.length);
    const mem = server.memoryMb();
    result.rssMb.end = mem.rss;
    result.rssMb.peak = mem.peak;
    if (!server.alive()) throw new Error(`the server died: ${server.stderr()}`);
    return result;
  } finally {
    cleanups.delete(removeData);
    const exit = await server.stop();
    if (exit !== 0) log(`${store}: server exited with ${exit}`);
    if (keep) {
      log(`${store}: kept AGENTRY_DATA_DIR=${dataDir}${schema ? ` AGENTRY_DATABASE_SCHEMA=${schema}` : ''} AGENTRY_ADMIN_TOKEN=${adminToken}`);
      result.kept = { dataDir, schema, adminToken };
    } else {
      // Removed when the run ends, not now: on ext4 without a journal, a file created soon after
      // thousands were deleted costs several times the CPU (the inode allocator skips inodes
      // deleted in the last 30 s to 5 min, reading each one's table block), and the next build's
      // publishes each create a blob file. Measured on the bench machine: 120 µs of CPU per file
      // created, 750 µs right after a 10,000-file directory was removed.
      removeAtEnd.push(async () => {
        rmSync(dataDir, { recursive: true, force: true });
        if (schema) await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      });
      cleanups.add(removeAtEnd.at(-1));
    }
  }
};

/** Each build's data, removed once every build ran (see the end of benchStore). */
const removeAtEnd = [];

const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const printTable = (results) => {
  console.log(`\nAgentry benchmark, ${N} packages, ${args.connections} connections, ${cpus().length} cores, node ${process.version}`);
  console.log(
    '| store | publish/s (first 1k) | failed publishes | GET hot req/s | hot p50/p99 ms | GET spread req/s | spread p50/p99 ms | GET non-2xx/errors | search selective p50/p99 ms (n, median hits) | search common p50/p99 ms (n, median hits) | RSS MB seeded/end/peak | RSS MB after load (after GC: RSS / heap used) | store MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = r.metadata;
    const bad = m ? m.hot.non2xx + m.spread.non2xx + m.hot.errors + m.spread.errors : '-';
    const failed = Object.values(r.publish.failures).reduce((a, b) => a + b, 0);
    const s = r.search;
    console.log(
      [
        r.build === 'anchor' ? `${r.store} (anchor)` : r.store,
        `${f(r.publish.perSecond, 0)} (${f(r.publish.firstThousandPerSecond, 0)})`,
        `${failed}${r.publish.timedOut ? ' (timed out)' : ''}`,
        m ? f(m.hot.requestsPerSecond, 0) : '-',
        m ? `${m.hot.p50} / ${m.hot.p99}` : '-',
        m ? f(m.spread.requestsPerSecond, 0) : '-',
        m ? `${m.spread.p50} / ${m.spread.p99}` : '-',
        bad,
        `${f(s.selective.p50, 2)} / ${f(s.selective.p99, 2)} (${s.selective.queries}, ${s.selective.hitsMedian ?? '-'})`,
        `${f(s.common.p50, 2)} / ${f(s.common.p99, 2)} (${s.common.queries}, ${s.common.hitsMedian ?? '-'})`,
        `${f(r.rssMb.afterSeed, 0)} / ${f(r.rssMb.end, 0)} / ${f(r.rssMb.peak, 0)}`,
        r.memoryAfterLoadGc ? `${f(r.rssMb.afterLoad, 0)} (${f(r.memoryAfterLoadGc.rss, 0)} / ${f(r.memoryAfterLoadGc.heapUsed, 0)})` : '-',
        f(r.storeSizeMb, 0),
      ]
        .join(' | ')
        .replace(/^/, '| ') + ' |',
    );
  }
};

/** Where the CPU went in each phase: a low rate with `other` or `steal` high means a busy machine, not a slow server. */
const printCpuTable = (results) => {
  console.log('\n| store | phase | rate | server cores | load generator | postgres | other | steal | busy (of ' + cpus().length + ') |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const rows = [['seeding', `${f(r.publish.perSecond, 0)} publishes/s`, r.publish.cpu]];
    if (r.metadata) {
      rows.push(['GET hot', `${f(r.metadata.hot.requestsPerSecond, 0)} req/s`, r.metadata.hot.cpu]);
      rows.push(['GET spread', `${f(r.metadata.spread.requestsPerSecond, 0)} req/s`, r.metadata.spread.cpu]);
    }
    rows.push(['search', `${r.search.selective.queries + r.search.common.queries} queries in ${r.search.cpu.seconds} s`, r.search.cpu]);
    for (const [phase, rate, cpu] of rows) {
      const c = cpu.cores;
      console.log(`| ${r.build === 'anchor' ? `${r.store} (anchor)` : r.store} | ${phase} | ${rate} | ${c.server} | ${c.loadgen} | ${c.postgres} | ${c.other} | ${c.steal} | ${c.busy} |`);
    }
  }
};

/** Server CPU time per request (µs): what a request costs whatever else the machine is doing. */
const cpuPerRequest = (phase) => (phase ? ((phase.cpu.serverSeconds ?? phase.cpu.cores.server * phase.cpu.seconds) * 1e6) / phase.requests : NaN);

/**
 * This build against the anchor, store by store: throughput ratios (higher is better), latency
 * ratios (lower is better), and the server's CPU time per request, which a busy machine disturbs
 * far less than rates and latencies.
 */
const printRatios = (results) => {
  const rows = [];
  const pairs = stores.map((s) => [s, results.find((r) => r.store === s && r.build === 'anchor'), results.find((r) => r.store === s && r.build === 'this')]).filter(([, a, b]) => a && b);
  if (pairs.length === 0) return;
  console.log(
    '\n| store | publish/s this / anchor | GET spread req/s this / anchor | GET hot req/s this / anchor | search selective p99 ms this / anchor | search broad p99 ms this / anchor | RSS end MB this / anchor | RSS after load MB this / anchor | after GC: RSS MB this / anchor |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [store, a, b] of pairs) {
    const ratio = (x, y) => `${f(x, 1)} / ${f(y, 1)} (${f(x / y, 2)}×)`;
    rows.push([store, a, b]);
    console.log(
      `| ${store} | ${b.publish.reused ? '(cached)' : ratio(b.publish.perSecond, a.publish.perSecond)} | ${b.metadata ? ratio(b.metadata.spread.requestsPerSecond, a.metadata.spread.requestsPerSecond) : '-'} | ${b.metadata ? ratio(b.metadata.hot.requestsPerSecond, a.metadata.hot.requestsPerSecond) : '-'} | ${ratio(b.search.selective.p99, a.search.selective.p99)} | ${ratio(b.search.common.p99, a.search.common.p99)} | ${ratio(b.rssMb.end, a.rssMb.end)} | ${ratio(b.rssMb.afterLoad, a.rssMb.afterLoad)} | ${ratio(b.memoryAfterLoadGc?.rss, a.memoryAfterLoadGc?.rss)} |`,
    );
  }
  console.log(
    '\n| store | server CPU ms per publish this / anchor | of it on the main thread this / anchor | second half of the publishes: server CPU ms per publish, this / anchor | second half: publishes/s this / anchor | bench driver CPU ms per publish this / anchor | file create µs before/after seeding, this / anchor |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [store, a, b] of rows) {
    const perPublish = (r, key) => (r.publish.reused ? NaN : (r.publish.cpu[key] * 1e3) / r.publish.attempted);
    const halfPerPublish = (r) => (r.publish.secondHalf ? (r.publish.secondHalf.cpu.serverSeconds * 1e3) / r.publish.secondHalf.attempted : NaN);
    const halfRate = (r) => (r.publish.secondHalf ? r.publish.secondHalf.attempted / r.publish.secondHalf.seconds : NaN);
    const ratio = (x, y, digits = 2) => `${f(x, digits)} / ${f(y, digits)} (${f(x / y, 2)}×)`;
    const creates = (r) => `${f(r.fileCreateMicros?.before, 0)}/${f(r.fileCreateMicros?.after, 0)}`;
    console.log(
      `| ${store} | ${ratio(perPublish(b, 'serverSeconds'), perPublish(a, 'serverSeconds'))} | ${ratio(perPublish(b, 'serverMainSeconds'), perPublish(a, 'serverMainSeconds'))} | ${ratio(halfPerPublish(b), halfPerPublish(a))} | ${ratio(halfRate(b), halfRate(a), 0)} | ${ratio(perPublish(b, 'loadgenSeconds'), perPublish(a, 'loadgenSeconds'))} | ${creates(b)} / ${creates(a)} |`,
    );
  }

  console.log('\n| store | server CPU µs per GET spread this / anchor | per GET hot this / anchor | per search query this / anchor |');
  console.log('|---|---|---|---|');
  for (const [store, a, b] of rows) {
    const perQuery = (r) => ((r.search.cpu.serverSeconds ?? r.search.cpu.cores.server * r.search.cpu.seconds) * 1e6) / (r.search.selective.queries + r.search.common.queries);
    const ratio = (x, y) => `${f(x, 0)} / ${f(y, 0)} (${f(x / y, 2)}×)`;
    console.log(
      `| ${store} | ${ratio(cpuPerRequest(b.metadata?.spread), cpuPerRequest(a.metadata?.spread))} | ${ratio(cpuPerRequest(b.metadata?.hot), cpuPerRequest(a.metadata?.hot))} | ${ratio(perQuery(b), perQuery(a))} |`,
    );
  }
};

const words = vocabulary();
const results = [];
const startedAt = new Date().toISOString();
mkdirSync('.bench', { recursive: true });
const builds = [...(args['anchor-bin'] ? [{ label: 'anchor', bin: args['anchor-bin'] }] : []), { label: 'this', bin: undefined }];
if (args['anchor-last']) builds.reverse();
try {
  for (const store of stores) {
    for (const build of builds) {
      const r = await benchStore(store, words, build);
      results.push(r);
      writeFileSync(join('.bench', `${store}-${N}${build.label === 'anchor' ? '-anchor' : ''}.json`), JSON.stringify(r, null, 2));
    }
  }
} catch (e) {
  // Each build's server is stopped by now (benchStore's finally); its data goes too.
  await Promise.allSettled(removeAtEnd.map((remove) => remove()));
  throw e;
}
const run = {
  startedAt,
  finishedAt: new Date().toISOString(),
  options: args,
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGb: Math.round(totalmem() / 1024 ** 3), node: process.version },
  benchProcessMemoryMb: memoryMb(process.pid),
  results,
};
const file = join('.bench', `run-${N}-${startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(run, null, 2));
for (const remove of removeAtEnd) {
  cleanups.delete(remove);
  await remove();
}
printTable(results);
printCpuTable(results);
printRatios(results);
console.log(`\nresults: ${file}`);
