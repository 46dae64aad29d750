import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/agentry.js', import.meta.url));
const EXIT_WITH_PARENT = fileURLToPath(new URL('./exit-with-parent.mjs', import.meta.url));

/**
 * Every server this process started that has not exited yet. Whatever way this process ends, none
 * outlives it: `exit` (a normal end, an uncaught error, process.exit from a signal handler) kills
 * what is left, and a server whose parent died without that (SIGKILL) stops itself when its IPC
 * channel closes (bench/exit-with-parent.mjs).
 */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Stops every server this process started that still runs (a signal handler's clean-up). */
export const stopServers = () => Promise.allSettled([...running].map((child) => stopChild(child, child.exited)));

/** SIGTERM (a clean shutdown, which also writes a --cpu-prof profile), SIGKILL after `graceMs`; the exit code or signal. */
const stopChild = async (child, exited, graceMs = 30_000) => {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
};

/** A free TCP port on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** VmRSS / VmHWM (peak RSS) of a process, in MB, from /proc. */
export const memoryMb = (pid) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => {
      const m = new RegExp(`${name}:\\s+(\\d+) kB`).exec(status);
      return m ? Number(m[1]) / 1024 : NaN;
    };
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return { rss: NaN, peak: NaN };
  }
};

/**
 * Starts `agentry serve` (the real CLI, from dist/) in its own process, so the load generator
 * never shares its event loop. `nodeArgs` go to that node (e.g. --cpu-prof --cpu-prof-dir=…);
 * `bin`: another build's bin/agentry.js (an anchor to compare with).
 */
export const startServerProcess = async ({ dataDir, adminToken, databaseUrl, databaseSchema, nodeArgs = [], bin = BIN, env: extraEnv = {}, memoryProbe = false }) => {
  const port = await freePort();
  // The load comes from one IP and one token: agentx's rate limits would refuse nearly all of it.
  const env = { ...process.env, AGENTRY_ADMIN_TOKEN: adminToken, AGENTRY_LOG_LEVEL: 'warn', AGENTRY_RATE_LIMIT_ANONYMOUS: 'off', AGENTRY_RATE_LIMIT_USER: 'off', AGENTRY_RATE_LIMIT_PUBLISH: 'off' };
  Object.assign(env, extraEnv);
  delete env.AGENTRY_DATABASE_URL;
  delete env.AGENTRY_DATABASE_SCHEMA;
  if (databaseUrl) Object.assign(env, { AGENTRY_DATABASE_URL: databaseUrl, AGENTRY_DATABASE_SCHEMA: databaseSchema });
  // memoryProbe: the server's memory after GC, asked over an IPC channel (bench/memory-probe.mjs).
  const probeArgs = memoryProbe ? ['--expose-gc', '--import', fileURLToPath(new URL('./memory-probe.mjs', import.meta.url))] : [];
  const child = spawn(process.execPath, ['--import', EXIT_WITH_PARENT, ...probeArgs, ...nodeArgs, bin, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.add(child);
  // The channel alone does not keep this process alive (the exit hook above stops a server left over).
  child.channel?.unref();
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    process.stderr.write(`[server] ${d}`);
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal);
    }),
  );
  child.exited = exited;
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}${stderr}`));
    });
  }).catch(async (e) => {
    // Not started (in time): nobody else would stop it.
    await stopChild(child, exited, 5_000);
    throw e;
  });
  child.stdout.resume();
  /** One question to the memory probe (bench/memory-probe.mjs) over IPC, and its answer. */
  const askProbe = (type, what) =>
    new Promise((resolve, reject) => {
      if (!memoryProbe) return reject(new Error('the server was started without memoryProbe'));
      const id = Math.random().toString(36).slice(2);
      const timer = setTimeout(() => reject(new Error(`no ${what} answer from the server within 30 s`)), 30_000);
      const onMessage = (m) => {
        if (m?.type !== type || m.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.send({ type, id });
    });
  return {
    url,
    pid: child.pid,
    memoryMb: () => memoryMb(child.pid),
    /** With memoryProbe: heap and RSS in MB after full GCs in the server ({gc: false} when it could not collect). */
    memoryAfterGc: async () => {
      const m = await askProbe('bench:memory', 'memory');
      const mb = (n) => +(n / 1024 / 1024).toFixed(1);
      return { gc: m.gc, rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
    },
    /** With memoryProbe: V8's heap spaces and process.memoryUsage() now, without collecting (bytes). */
    heapNow: async () => {
      const m = await askProbe('bench:heap', 'heap');
      return { spaces: m.spaces, usage: m.usage };
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => stderr,
    /** SIGTERM (a clean shutdown, which also writes a --cpu-prof profile), SIGKILL after 30 s. */
    stop: () => stopChild(child, exited),
  };
};
