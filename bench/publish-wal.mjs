#!/usr/bin/env node
/**
 * What one publish writes on the embedded store, counted (not timed): WAL frames (pages) per
 * publish and the tables/indexes they belong to, commits, and SQL statements run per publish.
 * Deterministic, so two builds compare on a loaded machine where timings do not.
 *
 *   node bench/publish-wal.mjs [--dist DIR] [--pre 2000] [--count 100] [--concurrency 8]
 *
 * In one process: a server of the build in `--dist` (default ./dist) on a temp data dir, `--pre`
 * agent packages published first (the bench corpus, 8 in flight), the WAL checkpointed away, then
 * `--count` more published, `--concurrency` in flight. Automatic checkpoints are off for the whole run (every
 * frame the measured publishes write stays in the WAL to be read back). Statements are counted at
 * better-sqlite3's Statement (run/get/all/iterate) and Database.exec, per SQL text.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { agentTarball, packageSpec, vocabulary } from './corpus.mjs';

const { values: args } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    pre: { type: 'string', default: '2000' },
    count: { type: 'string', default: '100' },
    // Measured publishes in flight (the bench's seeding runs 8; concurrent transactions share commits).
    concurrency: { type: 'string', default: '8' },
    top: { type: 'string', default: '40' },
    // An FTS5 option set on package_fts before the first publish (an experiment), e.g. automerge=8.
    fts: { type: 'string', multiple: true, default: [] },
    // Leave the data dir (its path printed) for a look at the store, e.g. EXPLAIN QUERY PLAN.
    keep: { type: 'boolean', default: false },
  },
});
const dist = resolve(args.dist);
const require = createRequire(join(dist, 'index.js'));
const Database = require('better-sqlite3');

// Count statements; keep every frame in the WAL (no automatic checkpoint).
const counts = new Map();
// Time in each SQL text (better-sqlite3 runs a statement synchronously: its wall time is this thread's).
const times = new Map();
let counting = false;
const note = (sql) => {
  if (counting) counts.set(sql, (counts.get(sql) ?? 0) + 1);
};
const timed = (sql, t0) => {
  if (counting) times.set(sql, (times.get(sql) ?? 0) + Number(process.hrtime.bigint() - t0) / 1000);
};
const probe = new Database(':memory:');
const StatementProto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();
for (const m of ['run', 'get', 'all', 'iterate']) {
  const orig = StatementProto[m];
  StatementProto[m] = function (...a) {
    note(this.source);
    const t0 = process.hrtime.bigint();
    try {
      return orig.apply(this, a);
    } finally {
      timed(this.source, t0);
    }
  };
}
const origExec = Database.prototype.exec;
Database.prototype.exec = function (sql) {
  note(sql);
  const t0 = process.hrtime.bigint();
  try {
    return origExec.call(this, sql);
  } finally {
    timed(sql, t0);
  }
};
const origPragma = Database.prototype.pragma;
Database.prototype.pragma = function (text, opts) {
  if (/^\s*wal_autocheckpoint\s*=/.test(text)) text = 'wal_autocheckpoint = 0';
  return origPragma.call(this, text, opts);
};

const { resolveConfig } = await import(pathToFileURL(join(dist, 'app/config.js')).href);
const { startServer } = await import(pathToFileURL(join(dist, 'app/server.js')).href);
const dataDir = mkdtempSync(join(tmpdir(), 'agentry-walbench-'));
const adminToken = `agentry_${'x'.repeat(43)}`;
const base = resolveConfig({ host: '127.0.0.1', port: 0, dataDir, adminToken, logLevel: 'silent' }, { AGENTRY_CLIENTS_HOME: join(dataDir, 'home') });
const unlimited = { limit: 1e9, windowMs: 60_000 };
const server = await startServer({ ...base, rateLimits: { anonymous: unlimited, user: unlimited, publish: unlimited } });
const dbFile = join(dataDir, 'agentry.db');
if (args.fts.length > 0) {
  const conf = new Database(dbFile);
  for (const o of args.fts) {
    const [k, v] = o.split('=');
    conf.exec(`INSERT INTO package_fts(package_fts, rank) VALUES ('${k}', ${Number(v)})`);
  }
  conf.close();
}

const words = vocabulary();
const SCOPES = Array.from({ length: 20 }, (_, i) => `bench${i}`);
const tokens = {};
for (const scope of SCOPES) {
  const res = await fetch(`${server.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: scope }),
  });
  tokens[scope] = (await res.json()).token;
}
const publish = async (i) => {
  const spec = packageSpec(i, words, SCOPES);
  const form = new FormData();
  form.set('tarball', new Blob([agentTarball(spec)], { type: 'application/gzip' }), `${spec.name}-1.0.0.tgz`);
  const res = await fetch(`${server.url}/api/v1/agents/@${spec.scope}/${spec.name}`, { method: 'PUT', headers: { authorization: `Bearer ${tokens[spec.scope]}` }, body: form });
  if (res.status !== 200) throw new Error(`publish ${i}: ${res.status} ${await res.text()}`);
};

const PRE = Number(args.pre);
const COUNT = Number(args.count);
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < PRE) await publish(next++);
  }),
);
const side = new Database(dbFile);
const ck = side.pragma('wal_checkpoint(TRUNCATE)');
if (ck[0].busy) throw new Error('checkpoint busy');
side.close();

counting = true;
next = PRE;
await Promise.all(
  Array.from({ length: Number(args.concurrency) }, async () => {
    while (next < PRE + COUNT) await publish(next++);
  }),
);
counting = false;

// Read the WAL's frames back: page number of each, commits.
const wal = readFileSync(`${dbFile}-wal`);
const pageSize = wal.readUInt32BE(8);
const salt1 = wal.readUInt32BE(16);
const salt2 = wal.readUInt32BE(20);
const frames = [];
let commits = 0;
for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
  if (wal.readUInt32BE(off + 8) !== salt1 || wal.readUInt32BE(off + 12) !== salt2) break;
  frames.push(wal.readUInt32BE(off));
  if (wal.readUInt32BE(off + 4) !== 0) commits++;
}
const ro = new Database(dbFile, { readonly: true });
const owner = new Map(
  ro
    .prepare('SELECT name, pageno FROM dbstat')
    .all()
    .map((r) => [r.pageno, r.name]),
);
const sizes = ro.prepare('SELECT name, count(*) AS pages FROM dbstat GROUP BY name ORDER BY pages DESC').all();
ro.close();
const byObject = new Map();
for (const p of frames) {
  const name = owner.get(p) ?? (p === 1 ? 'header (page 1)' : 'free/other');
  byObject.set(name, (byObject.get(name) ?? 0) + 1);
}
await server.close();
if (args.keep) console.log(`data kept in ${dataDir}`);
else rmSync(dataDir, { recursive: true, force: true });

const per = (n) => (n / COUNT).toFixed(2);
const stmtTotal = [...counts.values()].reduce((a, b) => a + b, 0);
console.log(`build ${dist}${args.fts.length ? ` (FTS5 ${args.fts.join(' ')})` : ''}: ${PRE} packages before, ${COUNT} publishes measured, page size ${pageSize}`);
console.log(`WAL frames per publish: ${per(frames.length)} (${per(frames.length * (pageSize + 24))} bytes), commits per publish: ${per(commits)}, distinct pages: ${new Set(frames).size}`);
const timeTotal = [...times.values()].reduce((a, b) => a + b, 0);
console.log(`SQL statements per publish: ${per(stmtTotal)}, their time per publish: ${per(timeTotal)} µs (iterate: until its first row)`);
console.log('\nframes per publish by table/index:');
for (const [name, n] of [...byObject].sort((a, b) => b[1] - a[1])) console.log(`  ${per(n).padStart(7)}  ${name}`);
console.log('\nstatements per publish by SQL (count, µs per publish):');
for (const [sql, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  console.log(`  ${per(n).padStart(6)} ${per(times.get(sql) ?? 0).padStart(8)}  ${sql.replace(/\s+/g, ' ').slice(0, 200)}`);
}
console.log(
  `\nstore pages by object (top 12): ${sizes
    .slice(0, 12)
    .map((s) => `${s.name} ${s.pages}`)
    .join(', ')}`,
);
