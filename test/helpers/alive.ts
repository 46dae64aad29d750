import { readdirSync, readFileSync } from 'node:fs';

/** Whether a process of this id exists (signal 0 checks without sending anything). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * This process's children whose command line holds `text` (Linux /proc), in pid order: a workload's
 * sandbox or server, an npm install (npm sets its process title to its command).
 */
export const childrenWith = (text: string): number[] => {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return pids.sort((a, b) => a - b);
};
