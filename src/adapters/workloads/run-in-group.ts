import { spawn } from 'node:child_process';

/**
 * Runs a command to its end in its own process group; past `timeoutMs`, or when `signal` aborts, the
 * whole group is killed (npm's wrapper and the node it starts: killing the wrapper alone left the
 * install running). `aborted` tells a stop by `signal` from the command's own failure.
 */
export const runInGroup = (
  file: string,
  args: string[],
  opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<{ ok: boolean; stderr: string; aborted?: boolean }> =>
  new Promise((done) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4 * 1024 * 1024) stderr += chunk;
    });
    const killGroup = () => {
      if (child.pid === undefined) return; // never started: nothing to kill (and -0 would be our own group)
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (r: { ok: boolean; stderr: string; aborted?: boolean }) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      done(r);
    };
    child.on('error', (e) => settle({ ok: false, stderr: e.message }));
    child.on('close', (code) => {
      if (timedOut) settle({ ok: false, stderr: `${stderr}\ntimed out after ${Math.round(opts.timeoutMs / 1000)} s` });
      else if (aborted && code !== 0) settle({ ok: false, stderr, aborted: true });
      else settle({ ok: code === 0, stderr: stderr || (code === 0 ? '' : `exit code ${String(code)}`) });
    });
  });
