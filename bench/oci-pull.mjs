#!/usr/bin/env node
/**
 * OCI blob pulls only: Agentry's /v2/ (this build, and an anchor build with --anchor-root) beside
 * Debian's docker-registry (distribution v2.8), in the same run, with curl and with Agentry's own
 * client, reporting wall-clock rates, ratios and the CPU (user and system, ms) both the server and
 * the client spent on each pull. bench/oci.mjs measures pushes and pulls together; this one leaves
 * pushes out (they are not timed here) so that a 1 GiB pull can be repeated cheaply and the pull
 * path's CPU is measured on both sides of the connection.
 *
 *   npm run build && npm run bench:oci-pull -- --with-1gb --rounds 2 --anchor-root /work/anchor
 *
 * Each round starts every registry afresh (new temp folders), pushes the blob of each size to each
 * with Agentry's client (not timed), then, for each way of pulling, pulls it from each registry
 * (the order rotates by round):
 *     curl -o /dev/null   what the registry serves, with nothing slowing the client down
 *     curl -o file        curl writing the blob to a file (not flushed)
 *     curl -o file+fsync  the same, then an fsync of the file (timed too)
 *     client              Agentry's client (`fetchBlob`, what `agentry oci pull` runs per layer) to a
 *                         file, sha256-verified while it streams, fsynced, renamed; compare with curl
 *                         -o file+fsync. From docker-registry and this build: this build's client;
 *                         from the anchor: the anchor's client.
 *     client no fsync     the same with `sync: false`; compare with curl -o file
 * With curl -o file, each round also times curl copying the blob from file:// to a file (the same
 * blob, page cache warm, dirty pages flushed before): no server and no socket, so what curl -o file
 * could reach at best on this machine at that time, and curl's CPU for writing the file. A pull to
 * a file near that ceiling is limited by curl, not by the server.
 * Every client is a process of its own (curl; bench/oci-pull-client.mjs for Agentry's), started
 * before the timing: the time is curl's time_total, or the wall time of the one fetchBlob call. The
 * client's CPU is curl's (as the shell's `times` reports it, including its start) or the fetchBlob
 * call's (process.cpuUsage, every thread; the client first HEADs the blob untimed, for its token and
 * connection, as `agentry oci pull` has them from the manifest). curl -o file+fsync's fsync is this
 * script's (timed, its CPU not counted). The server's CPU is read from /proc/<pid>/stat around the
 * pull (every thread). On a loaded machine wall-clock figures mostly say who got a core first; the
 * CPU figures say what the work costs.
 *
 * The page cache is the same for every registry: before each pull the blob's file in that
 * registry's storage is read through (not timed), and fincore (util-linux) measures the share of it
 * resident before and after that (both printed, the least of the rounds, when either is not all; the
 * JSON has every pull's); then `sync` (not timed) flushes dirty pages so
 * that no pull is throttled by what an earlier step wrote. So every pull serves from memory and
 * writes into a clean page cache: the figures compare the serve and client paths, not the disk.
 *
 * Options:
 *   --size-mb N        size of the first blob in MiB (100)
 *   --with-1gb         also a 1 GiB blob
 *   --rounds R         rounds (2); the median is reported
 *   --store S          Agentry's store: sqlite | postgres (sqlite)
 *   --database-url U   PostgreSQL for --store postgres (a fresh schema per server and round, dropped after)
 *   --anchor-root D    also serve the build in D (D/bin/agentry.js) and pull from it with its client (D/dist)
 *   --only LIST        pull ways to run, comma-separated (all): e.g. "curl -o file,client no fsync"
 *   --https            pull over TLS instead: one docker-registry per round serving HTTPS (its own TLS,
 *                      a self-signed certificate for 127.0.0.1 made per run with openssl), pulled by
 *                      curl (--cacert) and by this build's client (and the anchor's, with --anchor-root:
 *                      the columns are then the clients, the server is the same). The clients trust the
 *                      certificate as a user would, through NODE_EXTRA_CA_CERTS (this script starts
 *                      itself again with it set); verification stays on. No Agentry server is started.
 * Requires docker-registry at /usr/bin/docker-registry, curl and fincore. Results are printed as a
 * table and written to .bench/oci-pull-<time>.json.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDockerRegistry } from './docker-registry.mjs';
import { median, pgSchemas, randomFile } from './oci-common.mjs';
import { startServerProcess } from './server-process.mjs';
import { selfSignedCertificate } from '../scripts/self-signed-certificate.mjs';

const { values: args } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '100' },
    'with-1gb': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'anchor-root': { type: 'string' },
    only: { type: 'string' },
    https: { type: 'boolean', default: false },
  },
});

// --https: a self-signed certificate for 127.0.0.1, made per run; this script then runs again with
// NODE_EXTRA_CA_CERTS naming it (node reads it only at start), so that its own client (the pushes)
// and every client process it starts trust it the way a user's `agentry` would.
if (args.https && !process.env.AGENTRY_BENCH_TLS_DIR) {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-tls-'));
  try {
    const { cert } = selfSignedCertificate(dir);
    const r = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, AGENTRY_BENCH_TLS_DIR: dir, NODE_EXTRA_CA_CERTS: cert } });
    process.exitCode = r.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit();
}
const TLS_DIR = process.env.AGENTRY_BENCH_TLS_DIR;
const TLS = args.https ? { certificate: join(TLS_DIR, 'cert.pem'), key: join(TLS_DIR, 'key.pem') } : undefined;
const MB = 1024 * 1024;
const sizeMb = Number(args['size-mb']);
const ROUNDS = Number(args.rounds);
if (!Number.isInteger(sizeMb) || sizeMb < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--size-mb and --rounds must be whole numbers of at least 1');
if (args.store !== 'sqlite' && args.store !== 'postgres') throw new Error(`--store must be sqlite or postgres (got ${args.store})`);
const SIZES = [sizeMb * MB, ...(args['with-1gb'] ? [1024 * MB] : [])];
const ALL_PULLS = ['curl -o /dev/null', 'curl -o file', 'curl -o file+fsync', 'client', 'client no fsync'];
const PULLS = args.only ? args.only.split(',').map((s) => s.trim()) : ALL_PULLS;
for (const p of PULLS) if (!ALL_PULLS.includes(p)) throw new Error(`--only: unknown pull way '${p}' (one of: ${ALL_PULLS.join(', ')})`);

const here = fileURLToPath(new URL('../', import.meta.url));
const builds = [{ name: 'this', root: here }, ...(args['anchor-root'] ? [{ name: 'anchor', root: resolve(args['anchor-root']) }] : [])];
// With --https the columns are the clients (this build's, the anchor's), all pulling from one TLS docker-registry.
const REGISTRIES = args.https ? builds.map((b) => b.name) : [...builds.map((b) => b.name), 'docker-registry'];
/** How the clients name a target's repository (`https://` spelled out: a loopback host is plain HTTP otherwise). */
const repoOf = (t) => `${t.tls ? 'https://' : ''}${t.host}/${t.repo}`;

const sizeLabel = (size) => (size >= 1024 * MB ? `${size / 1024 / MB} GiB` : `${size / MB} MiB`);
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);
/** A process's CPU so far (every thread), ms: user and system. */
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(f[11]) * TICK_MS, sys: Number(f[12]) * TICK_MS };
};

/** A file of `size` random bytes, and its sha256 digest. */
const randomBlob = async (path, size) => {
  await randomFile(path, size);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MB })) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
};

/** The file under `dir` whose path holds the digest's hex (Agentry: …/<hex>; docker-registry: …/<hex>/data). */
const findBlobFile = (dir, hex) => {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath ?? e.path, e.name);
    if (e.isFile() && path.includes(hex) && statSync(path).size > 1024) return path;
  }
  throw new Error(`no blob file for ${hex} under ${dir}`);
};

/** The share of a file fincore says is in the page cache. */
const residentShare = (path) => {
  const [res] = execFileSync('fincore', ['-n', '-b', '-o', 'RES', path]).toString().trim().split(/\s+/).map(Number);
  return res / Math.max(1, statSync(path).size);
};

/** Reads the file through (into the page cache): answers the share resident before and after. */
const warmCache = (path) => {
  const before = residentShare(path);
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 * MB);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
  return { before, after: residentShare(path) };
};

/** curl in a shell whose `times` gives curl's CPU: answers { secs, userMs, sysMs, status, bytes }. */
const curlTimed = (source, out, auth = []) =>
  new Promise((resolvePromise, reject) => {
    const argv = ['-sS', ...auth, '-o', out, '-w', '%{http_code} %{time_total} %{size_download}\\n', source];
    execFile('bash', ['-c', 'curl "$@" || exit $?; times', 'curl', ...argv], (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${stderr || err.message}`));
      const lines = stdout.trim().split('\n');
      const [status, time, bytes] = lines[0].split(' ').map(Number);
      // `times`: the shell's own user/sys, then its children's (curl): "0m0.012s 0m0.345s"
      const ms = (s) => {
        const m = /(\d+)m([\d.]+)s/.exec(s);
        return (Number(m[1]) * 60 + Number(m[2])) * 1000;
      };
      const [cu, cs] = lines[2].trim().split(/\s+/);
      resolvePromise({ status, secs: time, bytes, userMs: ms(cu), sysMs: ms(cs) });
    });
  });
const curlPull = (t, digest, out) => curlTimed(`${t.url}/v2/${t.repo}/blobs/${digest}`, out, t.curlAuth);

const clientPull = (t, digest, size, out, sync) =>
  new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      [join(here, 'bench/oci-pull-client.mjs'), t.clientRoot, repoOf(t), digest, String(size), out, sync ? '1' : '0'],
      { env: { ...process.env, AGENTRY_BENCH_CREDENTIALS: JSON.stringify(t.credentials) } },
      (err, stdout, stderr) => (err ? reject(new Error(`client pull failed: ${stderr || err.message}`)) : resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1)))),
    );
  });

/** curl has written the file: its fsync, timed (seconds). */
const fsyncFile = async (path) => {
  const start = process.hrtime.bigint();
  const h = await fsp.open(path, 'r+');
  await h.sync();
  await h.close();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

const work = mkdtempSync(join(tmpdir(), 'agentry-bench-oci-pull-'));
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
const { OciClient } = await import(new URL('dist/adapters/oci-client/index.js', `file://${here}`).href);
const schemas = pgSchemas(args['database-url'], 'bench_ocipull');
const running = [];
/** rows[size][way][registry] = [{ mbps, server: {user, sys}, client: {user, sys}, resident }] */
const rows = {};
/** ceiling[size] = [{ mbps, client: {user, sys} }]: curl copying the blob from file:// to a file, per round */
const ceiling = {};

const startTargets = async (round) => {
  if (TLS) {
    const d = await startDockerRegistry({ tls: TLS });
    running.push(d);
    return builds.map((b) => ({
      name: b.name,
      proc: d,
      pid: d.pid,
      url: d.url,
      host: d.host,
      tls: true,
      repo: 'admin/bench',
      dir: d.storageDir,
      clientRoot: b.root,
      curlAuth: ['--cacert', TLS.certificate],
      credentials: {},
    }));
  }
  const targets = [];
  for (const b of builds) {
    const schema = args.store === 'postgres' ? await schemas.create() : undefined;
    const dataDir = join(work, `${b.name}-${round}`);
    const p = await startServerProcess({ dataDir, adminToken, bin: join(b.root, 'bin/agentry.js'), ...(schema ? { databaseUrl: args['database-url'], databaseSchema: schema } : {}) });
    running.push(p);
    const host = new URL(p.url).host;
    targets.push({
      name: b.name,
      proc: p,
      pid: p.pid,
      url: p.url,
      host,
      repo: 'admin/bench',
      dir: dataDir,
      clientRoot: b.root,
      curlAuth: ['-u', `admin:${adminToken}`],
      credentials: { [host]: { username: 'admin', password: adminToken } },
    });
  }
  const d = await startDockerRegistry();
  running.push(d);
  targets.push({ name: 'docker-registry', proc: d, pid: d.pid, url: d.url, host: d.host, repo: 'admin/bench', dir: d.storageDir, clientRoot: here, curlAuth: [], credentials: {} });
  return targets;
};

try {
  for (const size of SIZES) {
    const base = join(work, `blob-${size}`);
    const digest = await randomBlob(base, size);
    const hex = digest.slice('sha256:'.length);
    rows[size] = {};
    for (let round = 0; round < ROUNDS; round += 1) {
      const targets = await startTargets(`${size}-${round}`);
      try {
        const client = new OciClient({ credentials: Object.assign({}, ...targets.map((t) => t.credentials)) });
        for (const t of targets) {
          // Warm-up (not timed): a 32 MiB push and pull, so that a just-started server's first big transfer is not timed.
          const warm = await client.pushBlob(repoOf(t), { data: randomBytes(32 * MB) });
          await client.fetchBlob(repoOf(t), warm);
          await client.pushBlob(repoOf(t), { path: base, digest, size });
          t.blobFile = findBlobFile(t.dir, hex);
        }
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        for (const way of PULLS) {
          for (const t of order) {
            const out = join(work, `pulled-${t.name}.bin`);
            const resident = warmCache(t.blobFile);
            execFileSync('sync');
            const s0 = cpuOf(t.pid);
            let r;
            if (way.startsWith('curl')) {
              r = await curlPull(t, digest, way === 'curl -o /dev/null' ? '/dev/null' : out);
              if (r.status !== 200 || r.bytes !== size) throw new Error(`${t.name} ${way}: HTTP ${r.status}, ${r.bytes} bytes`);
              if (way === 'curl -o file+fsync') r.secs += await fsyncFile(out);
            } else {
              r = await clientPull(t, digest, size, out, way === 'client');
            }
            const s1 = cpuOf(t.pid);
            if (way !== 'curl -o /dev/null') {
              if (statSync(out).size !== size) throw new Error(`${t.name} ${way}: the file has ${statSync(out).size} bytes, expected ${size}`);
              rmSync(out);
            }
            rows[size][way] ??= Object.fromEntries(REGISTRIES.map((n) => [n, []]));
            rows[size][way][t.name].push({ mbps: size / MB / r.secs, server: { user: s1.user - s0.user, sys: s1.sys - s0.sys }, client: { user: r.userMs, sys: r.sysMs }, resident });
          }
        }
        if (PULLS.includes('curl -o file')) {
          const out = join(work, 'copied-by-curl.bin');
          warmCache(base);
          execFileSync('sync');
          const r = await curlTimed(`file://${base}`, out);
          if (statSync(out).size !== size) throw new Error(`curl file:// -o file: the file has ${statSync(out).size} bytes, expected ${size}`);
          rmSync(out);
          (ceiling[size] ??= []).push({ mbps: size / MB / r.secs, client: { user: r.userMs, sys: r.sysMs } });
        }
        console.error(
          `round ${round + 1} ${sizeLabel(size)} (MB/s ${REGISTRIES.join(' / ')}): ` +
            Object.entries(rows[size])
              .map(([way, r]) => `${way}: ${REGISTRIES.map((n) => r[n].at(-1).mbps.toFixed(0)).join('/')}`)
              .join(', ') +
            (ceiling[size] ? `; curl file:// -o file (no server): ${ceiling[size].at(-1).mbps.toFixed(0)}` : ''),
        );
      } finally {
        for (const p of new Set(targets.map((t) => t.proc))) {
          await p.stop().catch(() => undefined);
          running.splice(running.indexOf(p), 1);
        }
      }
    }
    rmSync(base, { force: true });
  }

  const load = loadavg();
  console.log(
    `\nOCI pulls${TLS ? ' over HTTPS from one docker-registry (columns: whose client; curl rows: the same server)' : ''}, median of ${ROUNDS} round(s)${TLS ? '' : `, Agentry on ${args.store}`}, load average ${load.map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs; blob in the page cache for every registry, dirty pages flushed before each pull`,
  );
  const summary = [];
  const RATIOS = TLS ? [] : builds;
  const pad = (s, n) => String(s).padStart(n);
  console.log(
    `${'pull'.padEnd(28)}${REGISTRIES.map((n) => pad(`${n} MB/s`, 22)).join('')}${RATIOS.map((b) => pad(`${b.name}/d`, 10)).join('')}   server CPU ms user+sys (${REGISTRIES.join(' | ')})   client CPU ms user+sys`,
  );
  for (const size of SIZES) {
    for (const [way, r] of Object.entries(rows[size])) {
      const m = Object.fromEntries(
        REGISTRIES.map((n) => [
          n,
          {
            mbps: median(r[n].map((x) => x.mbps)),
            server: { user: median(r[n].map((x) => x.server.user)), sys: median(r[n].map((x) => x.server.sys)) },
            client: { user: median(r[n].map((x) => x.client.user)), sys: median(r[n].map((x) => x.client.sys)) },
            resident: Math.min(...r[n].map((x) => x.resident.after)),
            residentBefore: Math.min(...r[n].map((x) => x.resident.before)),
          },
        ]),
      );
      const label = `${sizeLabel(size)} ${way}`;
      summary.push({ size, way, median: m, rounds: r });
      const cpu = (c) => `${c.user.toFixed(0)}+${c.sys.toFixed(0)}`;
      const cached = REGISTRIES.filter((n) => m[n].resident < 0.999 || m[n].residentBefore < 0.999).map(
        (n) => `${n} blob ${(m[n].residentBefore * 100).toFixed(0)}% cached before the read-through, ${(m[n].resident * 100).toFixed(0)}% after`,
      );
      console.log(
        `${label.padEnd(28)}${REGISTRIES.map((n) => pad(m[n].mbps.toFixed(0), 22)).join('')}${RATIOS.map((b) => pad((m[b.name].mbps / m['docker-registry'].mbps).toFixed(2), 10)).join('')}   ${REGISTRIES.map((n) => cpu(m[n].server)).join(' | ')}   ${REGISTRIES.map((n) => cpu(m[n].client)).join(' | ')}${cached.length ? `  (${cached.join(', ')})` : ''}`,
      );
    }
    if (ceiling[size]) {
      const c = ceiling[size];
      console.log(
        `${`${sizeLabel(size)} curl file:// -o file`.padEnd(28)}${pad(median(c.map((x) => x.mbps)).toFixed(0), 22)}   no server: curl's own ceiling for -o file   curl CPU ms ${median(c.map((x) => x.client.user)).toFixed(0)}+${median(c.map((x) => x.client.sys)).toFixed(0)}`,
      );
    }
    // Agentry's client against curl, both pulling from the same Agentry build, like with like.
    for (const b of builds) {
      for (const [c, k] of [
        ['client', 'curl -o file+fsync'],
        ['client no fsync', 'curl -o file'],
      ]) {
        if (!rows[size][c] || !rows[size][k]) continue;
        const rate = (way) => median(rows[size][way][b.name].map((x) => x.mbps));
        const cpuSum = (way) => median(rows[size][way][b.name].map((x) => x.client.user + x.client.sys));
        console.log(
          `${sizeLabel(size)} from ${b.name}: client ${c === 'client' ? '' : 'no fsync '}/ ${k}: rate ${(rate(c) / rate(k)).toFixed(2)}, client CPU ${cpuSum(c).toFixed(0)} vs ${cpuSum(k).toFixed(0)} ms`,
        );
      }
    }
  }
  mkdirSync('.bench', { recursive: true });
  const file = join('.bench', `oci-pull-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        options: { sizesMb: SIZES.map((s) => s / MB), rounds: ROUNDS, store: args.store, https: args.https, builds, pulls: PULLS },
        machine: { cpus: cpus().length, loadavg: load },
        summary,
        curlFileCopy: ceiling,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${file}`);
} finally {
  for (const p of [...running].reverse()) await p.stop().catch(() => undefined);
  await schemas.dropAll();
  rmSync(work, { recursive: true, force: true });
}
