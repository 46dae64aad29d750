/**
 * Preloaded into a benchmarked server (`node --expose-gc --import bench/memory-probe.mjs …`, with an
 * IPC channel): answers `{type: 'bench:memory'}` with the process's memory after full garbage
 * collections, so a memory figure is live objects, not garbage the collector has not reached yet.
 * `{type: 'bench:heap'}` answers at once, without collecting: V8's heap spaces (what each holds
 * committed and used now) beside process.memoryUsage(), for bench/memory-breakdown.mjs.
 * It lives in bench/ only: the server has no such route or message of its own.
 */
import { getHeapSpaceStatistics } from 'node:v8';

if (process.send) {
  process.on('message', (m) => {
    if (m?.type === 'bench:heap') {
      const spaces = getHeapSpaceStatistics().map((s) => ({ name: s.space_name, committed: s.physical_space_size, size: s.space_size, used: s.space_used_size }));
      process.send({ type: 'bench:heap', id: m.id, spaces, usage: process.memoryUsage() });
      return;
    }
    if (m?.type !== 'bench:memory') return;
    void (async () => {
      const gc = typeof globalThis.gc === 'function';
      for (let i = 0; gc && i < 3; i++) {
        globalThis.gc();
        await new Promise((r) => setImmediate(r));
      }
      const u = process.memoryUsage();
      process.send({ type: 'bench:memory', id: m.id, gc, rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers });
    })();
  });
  // The channel must not keep the server alive once it closes.
  process.channel?.unref();
}
