#!/usr/bin/env node
/**
 * The start-up scan for packages without a stored document (PackageRepo.keysWithoutDocument), this
 * build's statement beside the anchor's, on a seeded store where nothing is missing (the scan of
 * every start), and each build's server start-up to its first /health answer, with the server's
 * CPU time, bytes read (rchar) and RSS 3 s after it (the fill runs in the background).
 *
 *   node bench/document-scan.mjs --sqlite <agentry.db> [--pg-schema <schema>] [--rounds 7]
 *     [--anchor-data <dir> --this-data <dir> --anchor-bin <bin/agentry.js>] [--fill]
 *
 * --fill: a whole fill's scans on a store with documents missing (drop some first, e.g. every fifth:
 * `DELETE FROM package_documents WHERE package_id % 5 = 0`): batch after batch, each batch's
 * packages given a placeholder document before the next scan, as the fill writes them, all in a
 * transaction rolled back at the end. The anchor scans from the first package every batch (through
 * every document the fill wrote); this build starts after the last batch's last id (the cursor).
 * Figures: statements, total time and this process's CPU (SQLite runs in it); PostgreSQL: buffers
 * summed over the statements (EXPLAIN ANALYZE BUFFERS) and their execution time.
 *
 * SQLite: bytes read from the file (this process's rchar, a fresh connection each round, so every
 * page is read once through SQLite's page cache) in 4 KiB pages, and time. The file must carry this
 * build's migrations (0052: run this build's server on it once); the anchor's statement ignores the
 * index. PostgreSQL: EXPLAIN (ANALYZE, BUFFERS), shared buffers hit + read, and execution time.
 * The two statements alternate which goes first each round; medians are printed with the load
 * average before and after (the machine is shared).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    sqlite: { type: 'string' },
    'pg-schema': { type: 'string' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    rounds: { type: 'string', default: '7' },
    limit: { type: 'string', default: '200' },
    'anchor-data': { type: 'string' },
    'this-data': { type: 'string' },
    'anchor-bin': { type: 'string' },
    fill: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const limit = Number(args.limit);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// The statements as src/storage/sql/package-repo.ts runs them (anchor: main before this change).
const ANCHOR = (p) => `SELECT p.key FROM packages p WHERE NOT EXISTS (SELECT 1 FROM package_documents d WHERE d.package_id = p.id) ORDER BY p.id LIMIT ${p}`;
const THIS = (p, sqlite) =>
  `SELECT p.key FROM packages p WHERE p.id IN (SELECT q.id FROM packages q${sqlite ? ' INDEXED BY packages_id_scan_idx' : ''} WHERE NOT EXISTS (SELECT 1 FROM package_documents d${
    sqlite ? ' INDEXED BY package_documents_scan_idx' : ''
  } WHERE d.package_id = q.id) ORDER BY q.id LIMIT ${p}) ORDER BY p.id`;

// The fill's scan with its cursor (this build), the ids beside the keys.
const AFTER = (p, after, sqlite) =>
  `SELECT p.id, p.key FROM packages p WHERE p.id IN (SELECT q.id FROM packages q${sqlite ? ' INDEXED BY packages_id_scan_idx' : ''} WHERE q.id > ${after} AND NOT EXISTS (SELECT 1 FROM package_documents d${
    sqlite ? ' INDEXED BY package_documents_scan_idx' : ''
  } WHERE d.package_id = q.id AND d.package_id > ${after}) ORDER BY q.id LIMIT ${p}) ORDER BY p.id`;
const ANCHOR_WITH_IDS = (p, sqlite) => THIS(p, sqlite).replace('SELECT p.key', 'SELECT p.id, p.key');

const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);

const report = (label, figures) => {
  for (const [which, rows] of Object.entries(figures)) {
    console.log(
      `${label} ${which.padEnd(6)} ${Object.keys(rows[0])
        .map((k) => `${k} ${median(rows.map((r) => r[k])).toFixed(k === 'ms' ? 1 : 0)}`)
        .join('  ')}  (median of ${rows.length})`,
    );
  }
};

console.log(`load average before: ${load()}`);
if (args.fill) {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  if (args.sqlite) {
    const figures = { anchor: [], this: [] };
    for (let i = 0; i < rounds; i++) {
      for (const which of i % 2 ? ['this', 'anchor'] : ['anchor', 'this']) {
        const db = new Database(args.sqlite);
        const scan = db.prepare(which === 'anchor' ? ANCHOR_WITH_IDS('?', true) : AFTER('?', '?', true));
        const write = db.prepare("INSERT INTO package_documents (package_id, body, etag) VALUES (?, '{}', '\"fill\"')");
        db.exec('BEGIN');
        let [statements, filled, ms, cpu, after] = [0, 0, 0, 0, 0];
        for (;;) {
          const [t0, c0] = [process.hrtime.bigint(), cpuMs()];
          const rows = which === 'anchor' ? scan.all(limit) : scan.all(after, after, limit);
          [ms, cpu, statements] = [ms + Number(process.hrtime.bigint() - t0) / 1e6, cpu + cpuMs() - c0, statements + 1];
          if (rows.length === 0) break;
          for (const r of rows) write.run(r.id);
          [filled, after] = [filled + rows.length, rows[rows.length - 1].id];
        }
        db.exec('ROLLBACK');
        db.close();
        figures[which].push({ statements, filled, ms, cpuMs: cpu });
      }
    }
    report('sqlite fill scans', figures);
  }
  if (args['pg-schema']) {
    const client = new pg.Client({ connectionString: args['database-url'], options: `-c search_path=${args['pg-schema']}` });
    await client.connect();
    const figures = { anchor: [], this: [] };
    for (let i = 0; i < rounds; i++) {
      for (const which of i % 2 ? ['this', 'anchor'] : ['anchor', 'this']) {
        await client.query('BEGIN');
        let [statements, filled, ms, buffers, after] = [0, 0, 0, 0, 0];
        for (;;) {
          const text = which === 'anchor' ? ANCHOR_WITH_IDS(limit, false) : AFTER(limit, after, false);
          const [
            {
              'QUERY PLAN': [out],
            },
          ] = (await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`)).rows;
          [ms, buffers, statements] = [ms + out['Execution Time'], buffers + out.Plan['Shared Hit Blocks'] + out.Plan['Shared Read Blocks'], statements + 1];
          const rows = (await client.query(text)).rows;
          if (rows.length === 0) break;
          await client.query(`INSERT INTO package_documents (package_id, body, etag) SELECT unnest($1::bigint[]), '{}', '"fill"'`, [rows.map((r) => r.id)]);
          [filled, after] = [filled + rows.length, Number(rows[rows.length - 1].id)];
        }
        await client.query('ROLLBACK');
        figures[which].push({ statements, filled, ms, buffers });
      }
    }
    await client.end();
    report('postgres fill scans', figures);
  }
  console.log(`load average after: ${load()}`);
  process.exit(0);
}
if (args.sqlite) {
  const figures = { anchor: [], this: [] };
  const plan = new Database(args.sqlite, { readonly: true });
  for (const [which, text] of [
    ['anchor', ANCHOR('?')],
    ['this', THIS('?', true)],
  ])
    console.log(
      `sqlite ${which} plan: ${plan
        .prepare(`EXPLAIN QUERY PLAN ${text}`)
        .all(limit)
        .map((r) => r.detail)
        .join(' | ')}`,
    );
  plan.close();
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? ['this', 'anchor'] : ['anchor', 'this'];
    for (const which of order) {
      const db = new Database(args.sqlite, { readonly: true });
      const stmt = db.prepare(which === 'anchor' ? ANCHOR('?') : THIS('?', true));
      const before = rchar();
      const t0 = process.hrtime.bigint();
      const rows = stmt.all(limit);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      figures[which].push({ ms, pages: (rchar() - before) / 4096, missing: rows.length });
      db.close();
    }
  }
  report('sqlite', figures);
}
if (args['pg-schema']) {
  const client = new pg.Client({ connectionString: args['database-url'], options: `-c search_path=${args['pg-schema']}` });
  await client.connect();
  const figures = { anchor: [], this: [] };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? ['this', 'anchor'] : ['anchor', 'this'];
    for (const which of order) {
      const text = which === 'anchor' ? ANCHOR('$1') : THIS('$1', false);
      const [
        {
          'QUERY PLAN': [out],
        },
      ] = (await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, [limit])).rows;
      figures[which].push({ ms: out['Execution Time'], buffers: out.Plan['Shared Hit Blocks'] + out.Plan['Shared Read Blocks'], read: out.Plan['Shared Read Blocks'] });
      if (i === 0)
        console.log(
          `postgres ${which} plan: ${JSON.stringify(out.Plan, (k, v) => (k === 'Plans' || k === 'Node Type' || k === 'Index Name' || k === 'Relation Name' || typeof v === 'object' ? v : undefined))}`,
        );
    }
  }
  await client.end();
  report('postgres', figures);
}
if (args['anchor-data'] && args['this-data']) {
  // Start-up to the first /health answer, each build on its own copy of the store, alternating.
  const adminToken = `agentry_${'a'.repeat(43)}`;
  const pgEnv = args['pg-schema'] ? { databaseUrl: args['database-url'], databaseSchema: args['pg-schema'] } : {};
  const figures = { anchor: [], this: [] };
  for (let i = 0; i < Math.min(rounds, 5); i++) {
    const order = i % 2 ? ['this', 'anchor'] : ['anchor', 'this'];
    for (const which of order) {
      const t0 = Date.now();
      const server = await startServerProcess({
        dataDir: which === 'anchor' ? args['anchor-data'] : args['this-data'],
        adminToken,
        ...pgEnv,
        ...(which === 'anchor' ? { bin: args['anchor-bin'] } : {}),
      });
      for (;;) {
        const res = await fetch(`${server.url}/health`).catch(() => undefined);
        if (res?.ok) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const ms = Date.now() - t0;
      // What the start-up did in its first seconds, the background fill's scan included.
      await new Promise((r) => setTimeout(r, 3000));
      const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const cpuMs = (Number(stat[11]) + Number(stat[12])) * 10;
      const readMb = Number(/rchar: (\d+)/.exec(readFileSync(`/proc/${server.pid}/io`, 'utf8'))[1]) / 1024 / 1024;
      figures[which].push({ ms, cpuMs, readMb, rssMb: server.memoryMb().rss });
      await server.stop();
    }
  }
  report(`start-up to /health (${args['pg-schema'] ? 'postgres' : 'sqlite'})`, figures);
}
console.log(`load average after: ${load()}`);
