import { spawn } from 'node:child_process';

/**
 * Runs a command to its end in its own process group; past `timeoutMs` the whole group is killed
 * (npm's wrapper and the node it starts: killing the wrapper alone left the install running).
 */
export const runInGroup = (file: string, args: string[], opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ ok: boolean; stderr: string }> =>
  new Promise((done) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4 * 1024 * 1024) stderr += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid === undefined) return; // never started: nothing to kill (and -0 would be our own group)
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      done({ ok: false, stderr: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) done({ ok: false, stderr: `${stderr}\ntimed out after ${Math.round(opts.timeoutMs / 1000)} s` });
      else done({ ok: code === 0, stderr: stderr || (code === 0 ? '' : `exit code ${String(code)}`) });
    });
  });
