#!/usr/bin/env node
/**
 * The publish-time secret scanner (src/core/packages/secret-scan.ts, built into dist/) on a corpus
 * of ordinary packages: every package folder of an installed node_modules tree (default: this
 * repository's own, installed by npm from the public registry; `--corpus DIR` for another tree), or
 * every `.tgz` in `--tarballs DIR` (npm tarballs fetched with `npm pack <name>`, say, into /tmp),
 * read through the publish path's own tarball reader (inspectTarball).
 * Each package is scanned the way a publish scans it (SecretScan: every file's head, binaries
 * skipped, within the per-file and per-package caps), and the run reports
 * - the false-positive rate: packages and files flagged, with every hit listed (file, line, rule,
 *   and the line with its long key-like runs masked) so a reader can judge each one;
 * - the true-positive rate: secrets of every rule family (bench/planted-secrets.mjs) planted at a
 *   random line of a random text file of the corpus, found at that file and line or not;
 * - throughput in MB/s of scanned text, beside its anchor in the same run: sha256 over the same
 *   bytes (what every publish already does to each file), and the slowest package;
 * - the load average at the start and the end.
 *
 *   npm run build && node bench/secret-scan.mjs [--corpus node_modules | --tarballs DIR] [--packages 300] [--planted 300] [--json]
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { prng } from './corpus.mjs';
import { plantedSecrets } from './planted-secrets.mjs';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: 'node_modules' },
    tarballs: { type: 'string' },
    packages: { type: 'string', default: '300' },
    planted: { type: 'string', default: '300' },
    json: { type: 'boolean', default: false },
  },
});
const dist = new URL('../dist/core/packages/secret-scan.js', import.meta.url);
if (!existsSync(dist)) throw new Error('run `npm run build` first (the bench scans with dist/core/packages/secret-scan.js)');
const { SecretScan, SECRET_SCAN_LIMITS, isBinaryFile } = await import(dist.href);
const { inspectTarball } = await import(new URL('../dist/core/packages/tarball.js', import.meta.url).href);

const load = [loadavg()];

/** Package folders of a node_modules tree (`name` and `@scope/name`), sorted, nested trees excluded. */
const packageDirs = (root) => {
  const out = [];
  for (const name of readdirSync(root).sort()) {
    if (name.startsWith('.')) continue;
    const dir = join(root, name);
    if (!lstatSync(dir).isDirectory()) continue;
    if (name.startsWith('@')) for (const inner of readdirSync(dir).sort()) out.push(join(dir, inner));
    else out.push(dir);
  }
  return out.filter((d) => existsSync(join(d, 'package.json')));
};

/** Every regular file of a package, as it would be in its tarball (its own node_modules excluded), in path order. */
const filesOf = (dir) => {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        if (name !== 'node_modules' && name !== '.git') walk(p);
      } else if (st.isFile()) out.push({ path: relative(dir, p), data: readFileSync(p) });
    }
  };
  walk(dir);
  return out;
};

/** A line shown to a reader: long runs that could be a key are cut to their first 4 characters. */
const masked = (line) =>
  line
    .trim()
    .slice(0, 200)
    .replace(/[A-Za-z0-9+/_=-]{16,}/g, (run) => `${run.slice(0, 4)}‹${run.length}›`);

const lineOf = (data, n) => data.toString('utf8').split('\n')[n - 1] ?? '';

/** The files of a package tarball as a publish reads them: each file's head, through inspectTarball. */
const filesOfTarball = async (gz) => {
  const files = [];
  const heads = { wants: () => SECRET_SCAN_LIMITS.maxBytesPerFile, file: (path, data) => files.push({ path, data }) };
  await inspectTarball(gz, new Set(), { maxUnpackedBytes: 200 * 1024 * 1024, maxFiles: 10_000, maxTextFileBytes: 1024 * 1024 }, { fileHeads: heads });
  return files;
};

const root = args.tarballs ?? args.corpus;
const corpus = args.tarballs
  ? await Promise.all(
      readdirSync(args.tarballs)
        .filter((n) => n.endsWith('.tgz'))
        .sort()
        .slice(0, Number(args.packages))
        .map(async (n) => ({ name: n, files: await filesOfTarball(readFileSync(join(args.tarballs, n))) })),
    )
  : packageDirs(args.corpus)
      .slice(0, Number(args.packages))
      .map((dir) => ({ name: relative(args.corpus, dir), files: filesOf(dir) }));

// Anchor: sha256 of the same bytes a scan reads (each file's head within the caps).
const anchorStart = performance.now();
for (const pkg of corpus) for (const f of pkg.files) createHash('sha256').update(f.data.subarray(0, SECRET_SCAN_LIMITS.maxBytesPerFile)).digest();
const anchorMs = performance.now() - anchorStart;

const hits = [];
let scannedBytes = 0;
let textFiles = 0;
let binaryFiles = 0;
let totalFiles = 0;
let slowest = { name: '', ms: 0, bytes: 0 };
const scanStart = performance.now();
for (const pkg of corpus) {
  const t = performance.now();
  const scan = new SecretScan();
  for (const f of pkg.files) scan.file(f.path, f.data);
  const ms = performance.now() - t;
  if (ms > slowest.ms) slowest = { name: pkg.name, ms, bytes: scan.scannedBytes };
  scannedBytes += scan.scannedBytes;
  binaryFiles += scan.skippedBinary;
  totalFiles += pkg.files.length;
  for (const h of scan.hits) hits.push({ pkg: pkg.name, ...h });
}
const scanMs = performance.now() - scanStart;
for (const pkg of corpus) for (const f of pkg.files) if (!isBinaryFile(f.path, f.data.subarray(0, 8192))) textFiles += 1;

// True positives: each planted secret at a random line of a random text file of the corpus.
const rnd = prng(4242);
const textPool = corpus.flatMap((pkg) => pkg.files.filter((f) => f.data.length < 200_000 && !isBinaryFile(f.path, f.data.subarray(0, 8192))));
const planted = plantedSecrets(2026, Number(args.planted));
const missed = [];
for (const p of planted) {
  const host = textPool[Math.floor(rnd() * textPool.length)];
  const lines = host.data.toString('utf8').split('\n');
  const at = Math.floor(rnd() * lines.length);
  const text = [...lines.slice(0, at), p.text.replace(/\n$/, ''), ...lines.slice(at)].join('\n');
  const scan = new SecretScan();
  scan.file(host.path, Buffer.from(text));
  const want = at + p.line;
  if (!scan.hits.some((h) => h.line === want && h.rule === p.rule)) missed.push({ rule: p.rule, file: host.path, line: want, got: scan.hits.map((h) => `${h.line}:${h.rule}`) });
}
load.push(loadavg());

const flaggedPkgs = new Set(hits.map((h) => h.pkg));
const flaggedFiles = new Set(hits.map((h) => `${h.pkg}/${h.file}`));
const mb = scannedBytes / 1e6;
const report = {
  corpus: { root, packages: corpus.length, files: totalFiles, textFiles, binaryFiles, scannedMB: Number(mb.toFixed(1)) },
  falsePositives: {
    packagesFlagged: flaggedPkgs.size,
    packageRate: Number((flaggedPkgs.size / corpus.length).toFixed(4)),
    filesFlagged: flaggedFiles.size,
    fileRate: Number((flaggedFiles.size / Math.max(1, textFiles)).toFixed(5)),
    hits: hits.map((h) => ({
      at: `${h.pkg}/${h.file}:${h.line}`,
      rule: h.rule,
      shown: h.redacted,
      line: masked(lineOf(corpus.find((c) => c.name === h.pkg).files.find((f) => f.path === h.file).data, h.line)),
    })),
  },
  truePositives: { planted: planted.length, found: planted.length - missed.length, rate: Number(((planted.length - missed.length) / planted.length).toFixed(4)), missed },
  throughput: {
    scanMBps: Number((mb / (scanMs / 1000)).toFixed(1)),
    anchorSha256MBps: Number((mb / (anchorMs / 1000)).toFixed(1)),
    slowestPackage: { name: slowest.name, ms: Number(slowest.ms.toFixed(1)), scannedMB: Number((slowest.bytes / 1e6).toFixed(2)) },
    limits: SECRET_SCAN_LIMITS,
  },
  loadAverage: { start: load[0].map((l) => Number(l.toFixed(2))), end: load[1].map((l) => Number(l.toFixed(2))) },
  node: process.version,
};

if (args.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const c = report.corpus;
  console.log(`corpus: ${c.packages} packages from ${c.root}, ${c.files} files (${c.textFiles} text, ${c.binaryFiles} binary skipped), ${c.scannedMB} MB scanned`);
  const fp = report.falsePositives;
  console.log(`false positives: ${fp.packagesFlagged} packages (${(fp.packageRate * 100).toFixed(2)}%), ${fp.filesFlagged} files (${(fp.fileRate * 100).toFixed(3)}% of text files)`);
  for (const h of fp.hits) console.log(`  ${h.at}  ${h.rule} (${h.shown})  | ${h.line}`);
  const tp = report.truePositives;
  console.log(`true positives: ${tp.found}/${tp.planted} planted secrets found at their file and line (${(tp.rate * 100).toFixed(1)}%)`);
  for (const m of tp.missed) console.log(`  missed ${m.rule} at ${m.file}:${m.line} (hits: ${m.got.join(', ') || 'none'})`);
  const t = report.throughput;
  console.log(
    `throughput: scan ${t.scanMBps} MB/s; anchor sha256 of the same bytes ${t.anchorSha256MBps} MB/s; slowest package ${t.slowestPackage.name} ${t.slowestPackage.ms} ms for ${t.slowestPackage.scannedMB} MB`,
  );
  console.log(`load average: start ${report.loadAverage.start.join(' ')}, end ${report.loadAverage.end.join(' ')} (${process.version})`);
}
