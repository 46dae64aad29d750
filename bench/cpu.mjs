import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went during a phase, from /proc: the server process, PostgreSQL's
 * processes, the load generator (self-reported) and everything else (other work on the machine,
 * kernel threads such as write-back), plus VM steal. Lets a reader tell a slow server from a
 * busy machine.
 */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const procCpu = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
  } catch {
    return 0;
  }
};

const postgresCpu = () => {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') sum += procCpu(pid);
    } catch {
      /* gone */
    }
  }
  return sum;
};

const machine = () => {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v.map(Number);
  return { busy: (user + nice + system + irq + softirq) / TICKS, idle: (idle + iowait) / TICKS, steal: (steal || 0) / TICKS };
};

const meminfo = () => {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { dirtyMb: kb('Dirty') / 1024, writebackMb: kb('Writeback') / 1024 };
};

/** Starts a measurement; `end(loadgenCpuSeconds)` gives average cores used per consumer. */
export const cpuMeter = (serverPid) => {
  const t0 = process.hrtime.bigint();
  const m0 = machine();
  const s0 = procCpu(serverPid);
  // The main thread (its task id is the process id): the event loop, apart from libuv's and worker threads.
  const main0 = procCpu(`${serverPid}/task/${serverPid}`);
  const p0 = postgresCpu();
  const memBefore = meminfo();
  return {
    end(loadgenCpuSeconds = 0) {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const m1 = machine();
      const server = procCpu(serverPid) - s0;
      const serverMain = procCpu(`${serverPid}/task/${serverPid}`) - main0;
      const postgres = postgresCpu() - p0;
      const busy = m1.busy - m0.busy;
      const round = (x) => Number((x / seconds).toFixed(2));
      return {
        seconds: Number(seconds.toFixed(1)),
        /** The server's CPU time in the phase, unrounded (per-request costs). */
        serverSeconds: server,
        /** The server's main thread's CPU time in the phase (the event loop's share of serverSeconds). */
        serverMainSeconds: serverMain,
        /** The load generator's CPU time in the phase, as it reported it, unrounded. */
        loadgenSeconds: loadgenCpuSeconds,
        cores: {
          busy: round(busy),
          server: round(server),
          postgres: round(postgres),
          loadgen: round(loadgenCpuSeconds),
          other: round(Math.max(0, busy - server - postgres - loadgenCpuSeconds)),
          steal: round(m1.steal - m0.steal),
        },
        memBefore,
      };
    },
  };
};

export { meminfo };
