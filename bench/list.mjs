#!/usr/bin/env node
/**
 * The package listing without a text query (`GET /api/v1/packages`) on a seeded corpus: each
 * build serves its own copy of the store (a build's migrations change it), this build and the
 * anchor (another build's bin/agentry.js, e.g. main's) in the same run, one after the other.
 * Prints the median and slowest of several requests per variant (sort orders, a kind, a deep
 * page), whether the total was estimated, and the load average before each build.
 *
 *   node bench/list.mjs --sqlite-cache DIR [--pg-schema NAME --database-url URL] [--anchor-bin PATH] [--requests 9]
 *
 * DIR is a bench/run.mjs SQLite cache (e.g. .bench/cache/sqlite-100000, only agentry.db and
 * secret.key are copied); NAME a PostgreSQL cache schema of the same corpus (copied with
 * pg_dump into a scratch schema per build and dropped after). Neither source is modified.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    'sqlite-cache': { type: 'string', default: '' },
    'pg-schema': { type: 'string', default: '' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    'anchor-bin': { type: 'string', default: '' },
    requests: { type: 'string', default: '9' },
  },
});
const REQUESTS = Number(args.requests);
const VARIANTS = ['?limit=20', '?limit=20&sort=stars', '?limit=20&sort=newest', '?limit=20&sort=name', '?limit=20&kind=skill', '?limit=20&kind=agent&sort=newest', '?limit=20&page=50'];
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const psql = (sqlText) => execFileSync('psql', [args['database-url'], '-v', 'ON_ERROR_STOP=1', '-q', '-c', sqlText], { stdio: ['ignore', 'ignore', 'inherit'] });

const timeVariants = async (url) => {
  const out = {};
  for (const v of VARIANTS) {
    const ms = [];
    let body;
    for (let i = 0; i < REQUESTS + 1; i++) {
      const t = performance.now();
      const res = await fetch(`${url}/api/v1/packages${v}`);
      body = await res.json();
      if (res.status !== 200) throw new Error(`${v}: ${res.status} ${JSON.stringify(body)}`);
      if (i > 0) ms.push(performance.now() - t); // the first request warms the page cache
    }
    ms.sort((a, b) => a - b);
    out[v] = { median: ms[Math.floor(ms.length / 2)], max: ms.at(-1), total: body.total, estimated: body.total_estimated === true, first: body.packages[0]?.full_name };
  }
  return out;
};

const benchBuild = async (store, label, bin) => {
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const dataDir = mkdtempSync(join(tmpdir(), `agentry-list-${label}-`));
  let schema;
  if (store === 'sqlite') {
    copyFileSync(join(args['sqlite-cache'], 'agentry.db'), join(dataDir, 'agentry.db'));
    copyFileSync(join(args['sqlite-cache'], 'secret.key'), join(dataDir, 'secret.key'));
    mkdirSync(join(dataDir, 'blobs'));
  } else {
    schema = `bench_list_${label}_${process.pid}`;
    psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const dump = execFileSync('pg_dump', ['--no-owner', '-n', args['pg-schema'], args['database-url']], { maxBuffer: 2 ** 31 - 1 }).toString();
    execFileSync('psql', [args['database-url'], '-v', 'ON_ERROR_STOP=1', '-q'], { input: dump.replaceAll(args['pg-schema'], schema), stdio: ['pipe', 'ignore', 'inherit'], maxBuffer: 2 ** 31 - 1 });
    // The cache's secret root key file is not kept beside it; the listing reads no secret, so the
    // copy starts without secrets and the server makes itself a key.
    psql(`DELETE FROM ${schema}.secret_values; DELETE FROM ${schema}.secret_root_keys`);
    psql(`ANALYZE`); // the copy's statistics, as a long-running server's autovacuum would have them
  }
  let server;
  try {
    const loadBefore = load();
    server = await startServerProcess({ dataDir, adminToken, bin, ...(schema ? { databaseUrl: args['database-url'], databaseSchema: schema } : {}) });
    const r = { store, build: label, loadBefore, variants: await timeVariants(server.url) };
    console.log(JSON.stringify(r));
    return r;
  } finally {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) psql(`DROP SCHEMA ${schema} CASCADE`);
  }
};

const stores = [...(args['sqlite-cache'] ? ['sqlite'] : []), ...(args['pg-schema'] ? ['postgres'] : [])];
const builds = [...(args['anchor-bin'] ? [['anchor', args['anchor-bin']]] : []), ['this', undefined]];
const results = [];
for (const store of stores) for (const [label, bin] of builds) results.push(await benchBuild(store, label, bin));
console.log(`\nload average at the end: ${load()}\n`);
console.log('| store | build | load before | variant | median ms | max ms | total | estimated | first |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  for (const [v, x] of Object.entries(r.variants)) {
    console.log(`| ${r.store} | ${r.build} | ${r.loadBefore} | \`${v}\` | ${x.median.toFixed(1)} | ${x.max.toFixed(1)} | ${x.total} | ${x.estimated} | ${x.first} |`);
  }
}
