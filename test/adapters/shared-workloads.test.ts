import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EgressPolicy } from '../../src/adapters/egress/index.js';
import { BubblewrapSandbox } from '../../src/adapters/sandbox/bubblewrap.js';
import { ProcessLauncher } from '../../src/adapters/workloads/launcher.js';
import { LogFiles } from '../../src/adapters/workloads/log-files.js';
import { SharedWorkloads } from '../../src/core/workloads/shared-workloads.js';
import { DEFAULT_TIMINGS } from '../../src/core/workloads/supervisor.js';
import type { LaunchPlan } from '../../src/core/workloads/workload-runtime.js';

/**
 * The lifecycle of shared workloads (agent.yaml MCP servers held by sessions), with the real
 * launcher and bubblewrap running the reference everything server: one process per key however
 * many hold it, stopped once idle, started again on the next use; a start that fails says why and
 * is not retried behind the caller's back.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));

describe('shared workloads', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'agentry-shared-'));
  const egress = new EgressPolicy();
  const logs = new LogFiles(join(root, 'logs'));
  const launcher = new ProcessLauncher({ sandbox: new BubblewrapSandbox({ egress }), unsafeLocal: false, packagesDir: join(root, 'packages'), fetch: egress.fetch, egress });
  const shared = new SharedWorkloads({ launcher, logs, timings: { ...DEFAULT_TIMINGS, initTimeoutMs: 20_000 }, now: () => new Date().toISOString(), idleStopMs: 300 });
  afterAll(async () => {
    await shared.shutdown();
    await egress.close();
    rmSync(root, { recursive: true, force: true });
  });

  let starts = 0;
  const plan = async (): Promise<LaunchPlan> => {
    starts++;
    return {
      name: '',
      source: { kind: 'command', command: process.execPath, args: [EVERYTHING, 'stdio'] },
      env: { MARK: `start-${starts}` },
      headers: {},
      profile: { read: [NODE_MODULES], write: [], network: { outbound: {} } },
      networkIsolation: true,
    };
  };
  const mark = async (lease: Awaited<ReturnType<SharedWorkloads['acquire']>>): Promise<string> => {
    const r = await lease.request('tools/call', { name: 'get-env', arguments: {} });
    return (JSON.parse((r.content as Array<{ text: string }>)[0].text) as Record<string, string>).MARK;
  };

  it('shares one process per key, stops it when idle, and starts it again on the next use', async () => {
    const [a, b] = await Promise.all([shared.acquire('k1', plan), shared.acquire('k1', plan)]);
    expect(starts).toBe(1);
    expect(a.name).toBe(b.name);
    expect(a.name).toMatch(/^shared-[0-9a-f]{24}$/);
    expect(await mark(a)).toBe('start-1');
    expect(await mark(b)).toBe('start-1');
    a.release();
    a.release(); // idempotent: b still holds it
    await new Promise((r) => setTimeout(r, 600));
    expect(shared.running('k1')).toBe(true);
    expect(await mark(b)).toBe('start-1');
    b.release();
    await new Promise((r) => setTimeout(r, 600));
    expect(shared.running('k1')).toBe(false);
    await expect(b.request('tools/list', {})).rejects.toThrow(/not running/);
    const c = await shared.acquire('k1', plan);
    expect(await mark(c)).toBe('start-2');
    // A use within the idle time keeps it.
    c.release();
    const d = await shared.acquire('k1', plan);
    await new Promise((r) => setTimeout(r, 600));
    expect(await mark(d)).toBe('start-2');
    d.release();
  });

  it('a start that fails rejects with why (a missing secret, a server that exits) and is not retried', async () => {
    let tries = 0;
    await expect(
      shared.acquire('k2', async () => {
        tries++;
        throw new Error("secret 'API_KEY' is in none of the session's vaults");
      }),
    ).rejects.toThrow("secret 'API_KEY' is in none of the session's vaults");
    await expect(shared.acquire('k3', async () => ({ ...(await plan()), source: { kind: 'command', command: process.execPath, args: ['-e', 'process.exit(3)'] } }))).rejects.toThrow(
      /MCP initialize failed: .*exit code 3/,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    expect(tries).toBe(1);
    expect(shared.running('k2') || shared.running('k3')).toBe(false);
    expect(await logs.read(SharedWorkloads.nameOf('k2'), 'server', 10_000)).toContain("[agentry] cannot start: secret 'API_KEY'");
  });
});
