#!/usr/bin/env node
/**
 * What flushing a big file while it is written (FlushBehind, src/core/blobs/flush-behind.ts) does
 * on this disk, with no network or server in the way: a file of --size-mb MiB is appended in 512 KiB
 * writes (as the upload store writes a chunk), fed at --rate-mb MiB/s (0: as fast as the page cache
 * takes it), then fsynced; with a background datasync every N MiB (0: none, the fsync at the end does
 * all the writeback). Reported per setting and round: the total time (last write + fsync), the time
 * of the final fsync alone (what a client waits for after its last byte), and this process's CPU.
 * The settings alternate in a rotating order each round; dirty pages are flushed (`sync`, not timed)
 * before each run, and the file is removed after it.
 *
 *   npm run build && flock /work/coord/bench.lock node bench/flush-behind.mjs --every 0,8,32,128 --rounds 3
 *
 * Options:
 *   --size-mb N    bytes written per run, MiB (1024)
 *   --every LIST   background datasync intervals to compare, MiB, comma-separated (0,8,32,128)
 *   --rate-mb R    feed rate, MiB/s (0: unpaced); e.g. 300 for a push over loopback
 *   --rounds R     rounds (3)
 *   --dir D        where the file goes (a temp folder under the OS temp dir)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './oci-common.mjs';

const { values: args } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    every: { type: 'string', default: '0,8,32,128' },
    'rate-mb': { type: 'string', default: '0' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const MB = 1 << 20;
const SIZE = Number(args['size-mb']) * MB;
const EVERY = args.every.split(',').map((s) => Number(s.trim()));
const RATE = Number(args['rate-mb']) * MB;
const ROUNDS = Number(args.rounds);
const PIECE = 512 << 10;
const { FlushBehind } = await import(new URL('../dist/core/blobs/flush-behind.js', import.meta.url).href);

const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'agentry-bench-flush-'));
const piece = randomBytes(PIECE);
const seconds = (t) => Number(process.hrtime.bigint() - t) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const run = async (everyMb) => {
  const path = join(dir, `f-${everyMb}`);
  execFileSync('sync');
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const handle = await fsp.open(path, 'wx', 0o644);
  const flush = new FlushBehind(handle, everyMb * MB);
  let fsyncSecs;
  try {
    for (let written = 0; written < SIZE; written += PIECE) {
      if (RATE > 0) {
        const due = (written / RATE) * 1000 - seconds(start) * 1000;
        if (due > 1) await sleep(due);
      }
      await handle.write(piece, 0, PIECE);
      flush.wrote(PIECE);
    }
    const f = process.hrtime.bigint();
    await flush.sync();
    fsyncSecs = seconds(f);
  } finally {
    await flush.idle();
    await handle.close();
  }
  const total = seconds(start);
  const cpu = process.cpuUsage(cpu0);
  rmSync(path);
  return { total, fsync: fsyncSecs, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000 };
};

const results = Object.fromEntries(EVERY.map((e) => [e, []]));
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = EVERY.map((_, i) => EVERY[(i + round) % EVERY.length]);
    const line = [];
    for (const every of order) {
      const r = await run(every);
      results[every].push(r);
      line.push(`every ${every} MiB: ${r.total.toFixed(2)} s (fsync ${r.fsync.toFixed(2)} s, CPU ${r.cpuMs.toFixed(0)} ms)`);
    }
    console.error(`round ${round + 1} (load average ${loadavg()[0].toFixed(1)}): ${line.join('; ')}`);
  }
  console.log(
    `\n${SIZE / MB} MiB in ${PIECE >> 10} KiB writes, ${RATE ? `fed at ${RATE / MB} MiB/s` : 'unpaced'}, then fsync; median of ${ROUNDS} round(s), load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs`,
  );
  console.log(`${'datasync every'.padEnd(16)}${'total s'.padStart(10)}${'final fsync s'.padStart(16)}${'MiB/s'.padStart(9)}${'CPU ms'.padStart(9)}${'of it sys'.padStart(11)}`);
  for (const every of EVERY) {
    const rs = results[every];
    const total = median(rs.map((r) => r.total));
    console.log(
      `${(every ? `${every} MiB` : 'none').padEnd(16)}${total.toFixed(2).padStart(10)}${median(rs.map((r) => r.fsync))
        .toFixed(2)
        .padStart(16)}${(SIZE / MB / total).toFixed(0).padStart(9)}${median(rs.map((r) => r.cpuMs))
        .toFixed(0)
        .padStart(9)}${median(rs.map((r) => r.sysMs))
        .toFixed(0)
        .padStart(11)}`,
    );
  }
} finally {
  if (!args.dir) rmSync(dir, { recursive: true, force: true });
}
