import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInGroup } from '../../src/adapters/workloads/launcher.js';
import { alive } from '../helpers/alive.js';

/** Whether the process is gone, waiting up to 5 s for it to go. */
const goneWithin5s = async (pid: number): Promise<boolean> => {
  for (let i = 0; i < 50; i++) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
};

describe('runInGroup (how the workload launcher runs npm install)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-run-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('kills the whole process tree at its timeout, not only the command it started', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // A wrapper (sh) that starts a long-lived child and waits for it, as npm does with node.
    const r = await runInGroup('/bin/sh', ['-c', `${process.execPath} -e "setTimeout(() => {}, 60000)" & echo $! > ${pidFile}; wait`], { timeoutMs: 1500 });
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/timed out after 2 s/);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(await goneWithin5s(grandchild), `process ${grandchild} still runs`).toBe(true);
  });

  it('kills the whole process tree when its signal aborts, and says it was stopped', async () => {
    const pidFile = join(dir, 'aborted-grandchild.pid');
    const stop = new AbortController();
    const running = runInGroup('/bin/sh', ['-c', `echo started >&2; ${process.execPath} -e "setTimeout(() => {}, 60000)" & echo $! > ${pidFile}; wait`], {
      timeoutMs: 60_000,
      signal: stop.signal,
    });
    for (let i = 0; i < 200; i++) {
      try {
        if (readFileSync(pidFile, 'utf8').trim() !== '') break;
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    stop.abort();
    const r = await running;
    expect(r).toEqual({ ok: false, stderr: 'started\n', aborted: true });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(await goneWithin5s(grandchild), `process ${grandchild} still runs`).toBe(true);
    // Aborted before it starts: killed at once.
    const early = new AbortController();
    early.abort();
    expect(await runInGroup('/bin/sh', ['-c', 'sleep 30'], { timeoutMs: 60_000, signal: early.signal })).toMatchObject({ ok: false, aborted: true });
  });

  it('reports the exit code and stderr of a command that fails, and succeeds on exit 0', async () => {
    const bad = await runInGroup('/bin/sh', ['-c', 'echo broken >&2; exit 3'], { timeoutMs: 10_000 });
    expect(bad).toEqual({ ok: false, stderr: 'broken\n' });
    const quiet = await runInGroup('/bin/sh', ['-c', 'exit 4'], { timeoutMs: 10_000 });
    expect(quiet).toEqual({ ok: false, stderr: 'exit code 4' });
    expect(await runInGroup('/bin/sh', ['-c', 'true'], { timeoutMs: 10_000 })).toEqual({ ok: true, stderr: '' });
    const missing = await runInGroup('/nonexistent/npm', [], { timeoutMs: 10_000 });
    expect(missing.ok).toBe(false);
    expect(missing.stderr).toMatch(/ENOENT/);
  });
});
