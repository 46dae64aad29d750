#!/usr/bin/env node
/**
 * The web console's budget, measured: the compressed JavaScript of the home page's first load, and
 * how long each page takes to become interactive (its main content on screen) against a local server
 * holding N packages, in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
 * The anchor, in the same run: the latency of the API call each page waits for (what the page costs
 * on top of its data).
 *
 *   npm run build && npm run bench:console -- --packages 10000
 *
 * Options:
 *   --packages N      agent packages to publish first (10000)
 *   --runs R          loads of each page, each in a fresh tab with an empty cache (7)
 *   --concurrency P   publishes in flight while seeding (8)
 *   --chromium PATH   the browser (/usr/bin/chromium)
 *   --pages a,b       only these pages (home, search, facets, package, user, user-own, account, managed, evals, eval, integrations, session)
 *   --store S         sqlite (default) or postgres (a fresh schema, dropped after)
 *   --database-url U  PostgreSQL for --store postgres ($AGENTRY_TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test)
 * Budgets (issue 16): home page first load ≤ 150 KB of compressed JS; every page interactive < 1 s.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { agentTarball, packageSpec, vocabulary } from './corpus.mjs';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    packages: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '7' },
    concurrency: { type: 'string', default: '8' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    pages: { type: 'string', default: '' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const N = Number(args.packages);
const RUNS = Number(args.runs);
if (!Number.isInteger(N) || N < 1) throw new Error(`--packages must be a positive whole number (got ${args.packages})`);
if (!['sqlite', 'postgres'].includes(args.store)) throw new Error(`--store must be sqlite or postgres (got ${args.store})`);
const SCOPES = Array.from({ length: 20 }, (_, i) => `bench${i}`);
const log = (m) => process.stderr.write(`[console-bench] ${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// ---- 1. The bundle, from the build output ---------------------------------------------------------
const DIST = new URL('../dist/console/', import.meta.url).pathname;
const html = readFileSync(join(DIST, 'index.html'), 'utf8');
const entry = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const allJs = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'));
const sizeOf = (f) => {
  const raw = readFileSync(join(DIST, f));
  return { raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length, br: brotliCompressSync(raw).length };
};
const sum = (files) => files.map(sizeOf).reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, br: a.br + b.br }), { raw: 0, gzip: 0, br: 0 });
const firstLoad = sum(entry);
const everything = sum(allJs.map((f) => `assets/${f}`));

// ---- 2. A server with N packages -------------------------------------------------------------------
const dataDir = mkdtempSync(join(tmpdir(), 'agentry-console-bench-'));
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
const schema = args.store === 'postgres' ? `bench_console_${randomBytes(4).toString('hex')}` : undefined;
const withPg = async (fn) => {
  const c = new pg.Client({ connectionString: args['database-url'] });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
};
if (schema) await withPg((c) => c.query(`CREATE SCHEMA ${schema}`));
const server = await startServerProcess({ dataDir, adminToken, ...(schema ? { databaseUrl: args['database-url'], databaseSchema: schema } : {}) });
let browser;
let profile;
try {
  const post = async (path, body, token = adminToken) => {
    const r = await fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const tokens = {};
  for (const s of SCOPES) tokens[s] = (await post('/api/v1/users', { username: s })).token;
  const words = vocabulary();
  const specs = Array.from({ length: N }, (_, i) => packageSpec(i, words, SCOPES));
  log(`publishing ${N} packages`);
  const t0 = Date.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      while (next < N) {
        const spec = specs[next++];
        const form = new FormData();
        form.set('tarball', new Blob([agentTarball(spec)], { type: 'application/gzip' }), 'p.tgz');
        const r = await fetch(`${server.url}/api/v1/agents/@${spec.scope}/${spec.name}`, { method: 'PUT', headers: { authorization: `Bearer ${tokens[spec.scope]}` }, body: form });
        await r.arrayBuffer();
        if (!r.ok) failed++;
        if (next % 2000 === 0) log(`  ${next}/${N}`);
      }
    }),
  );
  log(`published ${N - failed} in ${((Date.now() - t0) / 1000).toFixed(0)} s (${failed} failed)`);
  // Some downloads, so trending has something to rank.
  for (const spec of specs.slice(0, 50)) await (await fetch(`${server.url}/api/v1/agents/@${spec.scope}/${spec.name}/download/latest`)).arrayBuffer();
  const pkg = specs[0];
  // The user whose page is measured has starred 200 packages (the page shows their 10 latest).
  for (const spec of specs.slice(0, 200)) {
    const r = await fetch(`${server.url}/api/v1/agents/@${spec.scope}/${spec.name}/star`, { method: 'PUT', headers: { authorization: `Bearer ${tokens[pkg.scope]}` } });
    if (!r.ok) throw new Error(`star: ${r.status} ${await r.text()}`);
  }
  const word = pkg.description.split(' ')[0];
  // A managed agent and a session of it, for the runtime pages (no model is called: nothing is sent).
  const env = await post('/v1/environments', { name: 'bench-env' }, tokens[pkg.scope]);
  const managedAgent = await post('/v1/agents', { name: 'bench-agent', model: 'claude-sonnet-4-6', system: 'You help.', environment_id: env.id }, tokens[pkg.scope]);
  const benchSession = await post('/v1/sessions', { agent: managedAgent.id, title: 'bench session' }, tokens[pkg.scope]);
  // An eval of it (no model answers here: its trials end in errors, which the page shows all the same) and an integration.
  const benchEval = await post(
    '/v1/evals',
    { agent: managedAgent.id, name: 'bench eval', cases: Array.from({ length: 20 }, (_, i) => ({ id: `case-${i}`, messages: ['hi'], verifier: { type: 'exact', expected: 'hi' } })) },
    tokens[pkg.scope],
  );
  const integration = await post('/v1/integrations', { provider: 'slack', name: 'bench slack', credentials: { bot_token: 'xoxb-bench', signing_secret: 'bench' } }, tokens[pkg.scope]);
  await post(`/v1/integrations/${integration.id}/publications`, { agent_id: managedAgent.id, channel: 'C0BENCH' }, tokens[pkg.scope]);

  // ---- 3. Pages in Chromium -------------------------------------------------------------------------
  profile = mkdtempSync(join(tmpdir(), 'agentry-console-bench-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 1280, height: 900 },
  });
  // A deep page of one category: page 5 of ~830 at 10,000 packages.
  const facetPage = Math.max(1, Math.min(5, Math.floor(N / 12 / 20)));
  const pages = [
    { id: 'home', name: 'home', path: '/', ready: '.cards li', api: '/api/v1/trending?kind=agent&period=week&limit=6' },
    { id: 'search', name: 'search (words)', path: `/search?q=${word}`, ready: '.cards li', api: `/api/v1/packages?q=${word}&sort=relevance&page=1&limit=20` },
    {
      id: 'facets',
      name: `search (facets, page ${facetPage})`,
      path: `/search?kind=agent&category=data&sort=stars&page=${facetPage}`,
      ready: '.cards li',
      api: `/api/v1/packages?kind=agent&category=data&sort=stars&page=${facetPage}&limit=20`,
    },
    { id: 'package', name: 'package', path: `/@${pkg.scope}/${pkg.name}`, ready: '.markdown h1', api: `/api/v1/packages/@${pkg.scope}/${pkg.name}` },
    { id: 'user', name: 'user', path: `/@${pkg.scope}`, ready: '.cards li', api: `/api/v1/packages?scope=${pkg.scope}&sort=downloads&page=1&limit=20` },
    // The owner's own page: the read filter also lets their private and internal packages through.
    { id: 'user-own', name: 'user (own page, signed in)', path: `/@${pkg.scope}`, ready: '.cards li', api: `/api/v1/packages?scope=${pkg.scope}&sort=downloads&page=1&limit=20`, signedIn: true },
    { id: 'account', name: 'account (signed in)', path: '/account', ready: '#tokens table', api: '/api/v1/tokens', signedIn: true },
    {
      id: 'managed',
      name: 'managed agent (signed in)',
      path: `/managed/agents/${managedAgent.id}`,
      ready: 'table[aria-label], .table-wrap table',
      api: `/v1/agents/${managedAgent.id}/versions?limit=100`,
      signedIn: true,
    },
    { id: 'evals', name: 'evals (signed in)', path: '/managed/evals', ready: 'table:has(caption:text("Evals"))', api: '/v1/evals?limit=100', signedIn: true },
    { id: 'eval', name: 'an eval of 20 cases (signed in)', path: `/managed/evals/${benchEval.id}`, ready: 'table:has(caption:text("Trials"))', api: `/v1/evals/${benchEval.id}`, signedIn: true },
    { id: 'integrations', name: 'integrations (signed in)', path: '/managed/integrations', ready: 'table:has(caption:text("Publications"))', api: '/v1/integrations?limit=100', signedIn: true },
    // The session view keeps its event stream open: ready when the stream is live; the network never idles.
    { id: 'session', name: 'session view (signed in, SSE)', path: `/sessions/${benchSession.id}`, ready: 'text=stream: live', api: `/v1/sessions/${benchSession.id}`, signedIn: true, streams: true },
  ];
  const only = args.pages.split(',').filter(Boolean);
  const results = [];
  for (const p of pages.filter((x) => only.length === 0 || only.includes(x.id))) {
    try {
      const times = [];
      const dcl = [];
      /** API requests the page made until the network was idle (a page that asks twice for the same thing shows here). */
      const calls = [];
      let homeJs = 0;
      for (let i = 0; i < RUNS; i++) {
        const tab = await browser.newPage();
        const cdp = await browser.newCDPSession(tab);
        await cdp.send('Network.enable');
        await cdp.send('Network.clearBrowserCache');
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        if (p.signedIn) await tab.addInitScript((t) => localStorage.setItem('agentry.token', t), tokens[pkg.scope]);
        else await tab.addInitScript(() => localStorage.removeItem('agentry.token'));
        let jsBytes = 0;
        const requests = new Map();
        const apiCalls = new Set();
        cdp.on('Network.requestWillBeSent', (e) => {
          if (e.type === 'Fetch' || e.type === 'XHR' || e.type === 'EventSource') apiCalls.add(e.requestId);
        });
        cdp.on('Network.responseReceived', (e) => requests.set(e.requestId, e.type));
        cdp.on('Network.loadingFinished', (e) => {
          if (requests.get(e.requestId) === 'Script') jsBytes += e.encodedDataLength;
        });
        const start = Date.now();
        await tab.goto(server.url + p.path, { waitUntil: 'commit' });
        await tab
          .locator(p.ready)
          .first()
          .waitFor({ timeout: 30_000 })
          .catch(async (e) => {
            const shot = join(tmpdir(), `agentry-console-bench-${p.id}.png`);
            await tab.screenshot({ path: shot, fullPage: true });
            throw new Error(`${p.name} (${p.path}): ${p.ready} never showed (screenshot: ${shot}): ${e.message}`);
          });
        times.push(Date.now() - start);
        dcl.push(await tab.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd));
        if (!p.streams) await tab.waitForLoadState('networkidle');
        calls.push(apiCalls.size);
        if (p.name === 'home') homeJs = Math.max(homeJs, jsBytes);
        await tab.close();
      }
      const apiTimes = [];
      for (let i = 0; i < RUNS; i++) {
        const headers = p.signedIn ? { authorization: `Bearer ${tokens[pkg.scope]}` } : {};
        const s = performance.now();
        const r = await fetch(server.url + p.api, { headers });
        await r.arrayBuffer();
        if (!r.ok) throw new Error(`${p.api}: ${r.status}`);
        apiTimes.push(performance.now() - s);
      }
      log(`${p.name}: interactive ${median(times)} ms median (${times.join(', ')})`);
      results.push({
        page: p.name,
        path: p.path,
        interactive_ms_median: median(times),
        interactive_ms_p95: p95(times),
        dom_content_loaded_ms_median: Math.round(median(dcl)),
        anchor_api_ms_median: Math.round(median(apiTimes) * 10) / 10,
        api_requests: median(calls),
        home_js_transferred: homeJs || undefined,
      });
    } catch (e) {
      // One page's failure is reported in its row; the others still count.
      log(String(e.message ?? e));
      results.push({ page: p.name, path: p.path, error: String(e.message ?? e).split('\n')[0] });
    }
  }

  // ---- 4. Report ----------------------------------------------------------------------------------------
  console.log(`\nWeb console bench: ${N - failed} packages, ${schema ? 'PostgreSQL' : 'SQLite'}, ${RUNS} cold loads per page (empty cache), load average ${loadavg()[0].toFixed(2)}\n`);
  console.log(`Home page first load, JavaScript: ${entry.length} file(s), ${kb(firstLoad.raw)} raw, ${kb(firstLoad.gzip)} gzip, ${kb(firstLoad.br)} brotli (budget 150 KB compressed)`);
  const measured = results.find((r) => r.page === 'home')?.home_js_transferred;
  if (measured) console.log(`  as transferred to Chromium (Accept-Encoding: br): ${kb(measured)} (headers included)`);
  console.log(`Every chunk of the console together: ${allJs.length} files, ${kb(everything.raw)} raw, ${kb(everything.gzip)} gzip, ${kb(everything.br)} brotli\n`);
  console.log('| page | interactive, median | p95 | DOMContentLoaded | API requests of the page | anchor: its API call, median |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      r.error
        ? `| ${r.page} | FAILED: ${r.error} | | | | |`
        : `| ${r.page} | ${r.interactive_ms_median} ms | ${r.interactive_ms_p95} ms | ${r.dom_content_loaded_ms_median} ms | ${r.api_requests} | ${r.anchor_api_ms_median} ms |`,
    );
  console.log('\n"interactive": from navigation start to the page\'s main content on screen (cards, README, tokens table, the versions of an agent, the live stream of a session).');
} finally {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await server.stop();
  if (schema) await withPg((c) => c.query(`DROP SCHEMA ${schema} CASCADE`));
  rmSync(dataDir, { recursive: true, force: true });
}
