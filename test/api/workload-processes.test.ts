import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalToolRuntime } from '../../src/adapters/tools/local-tool-runtime.js';
import { Api } from '../helpers/packages.js';
import { alive, childrenWith } from '../helpers/alive.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * A server ends every workload process it started: the sandboxes of MCP servers it runs are its own
 * children, so one it loses track of (a restart that started a new process beside the old one) lives
 * on, unreachable, until the server's own process exits. After `close`, none is left.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };

/** This process's children running the everything server. */
const everythingChildren = (): number[] => childrenWith(EVERYTHING);

describe.each(testStores)('workload processes end with the server (%s)', (store) => {
  let server: TestServer | undefined;
  let admin: Api;
  const before = everythingChildren();

  beforeAll(async () => {
    server = await startTestServer({ store, workloadTimings: TIMINGS });
    admin = new Api(server.url, server.adminToken);
  });
  afterAll(async () => {
    await server?.close();
  });

  const running = (name: string) =>
    waitFor(`${name} to run`, async () => {
      const r = await admin.req('GET', `/api/v1beta/workloads/${name}/status`);
      return r.body?.status === 'running' ? true : undefined;
    });
  const newChildren = () => everythingChildren().filter((p) => !before.includes(p));

  it('restarting a running workload ends its process; closing the server ends every one', async () => {
    const spec = { command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], permission_profile: { read: [NODE_MODULES], write: [] } };
    for (const name of ['kept', 'restarted', 'stopped']) expect((await admin.req('POST', '/api/v1beta/workloads', { name, ...spec })).status).toBe(201);
    for (const name of ['kept', 'restarted', 'stopped']) await running(name);
    const first = newChildren();
    expect(first).toHaveLength(3);

    expect((await admin.req('POST', '/api/v1beta/workloads/restarted/restart')).status).toBe(202);
    // The restart has started its new process once the status reads running again with a new pid.
    const after = await waitFor('the restarted process', async () => {
      const now = newChildren();
      return now.some((p) => !first.includes(p)) && (await admin.req('GET', '/api/v1beta/workloads/restarted/status')).body?.status === 'running' ? now : undefined;
    });
    expect(after, 'a restart leaves one process, not the old one beside the new').toHaveLength(3);

    // A stop is answered before its process has ended: the close waits for it too.
    expect((await admin.req('POST', '/api/v1beta/workloads/stopped/stop')).status).toBe(202);
    const all = [...new Set([...first, ...after])];
    await server!.close();
    server = undefined;
    expect(all.filter(alive), 'workload processes left running after the server closed').toEqual([]);
  });
});

describe.each(testStores)('a workload still starting when the server closes (%s)', (store) => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('is stopped by the close, which waits until its process is gone (not until its start times out)', async () => {
    // The start waits up to a minute for `initialize`; the server never answers it.
    server = await startTestServer({ store, workloadTimings: { ...TIMINGS, initTimeoutMs: 60_000 } });
    const admin = new Api(server.url, server.adminToken);
    const marker = `agentry-never-initializes-${process.hrtime.bigint()}`;
    const spec = { command: process.execPath, cmd_arguments: ['-e', 'setInterval(() => undefined, 1000)', marker], permission_profile: { read: [], write: [] } };
    expect((await admin.req('POST', '/api/v1beta/workloads', { name: 'silent', ...spec })).status).toBe(201);
    const started = await waitFor('its process', async () => (childrenWith(marker).length > 0 ? childrenWith(marker) : undefined));
    expect((await admin.req('GET', '/api/v1beta/workloads/silent/status')).body?.status).toBe('starting');
    const t0 = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - t0, 'the close waited for the start to time out').toBeLessThan(20_000);
    expect(started.filter(alive), 'a starting workload process left running after the server closed').toEqual([]);
    expect(childrenWith(marker)).toEqual([]);
  });
});

describe.each(testStores)('a server start that fails after workloads resumed (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-test-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  afterAll(async () => {
    vi.restoreAllMocks();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it("ends the resumed workloads' processes", async () => {
    const opts = { store, dataDir, postgresSchema: schema, workloadTimings: TIMINGS };
    const first = await startTestServer(opts);
    const admin = new Api(first.url, first.adminToken);
    const spec = { command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], permission_profile: { read: [NODE_MODULES], write: [] } };
    const before = everythingChildren();
    expect((await admin.req('POST', '/api/v1beta/workloads', { name: 'resumed', ...spec })).status).toBe(201);
    await waitFor('resumed to run', async () => ((await admin.req('GET', '/api/v1beta/workloads/resumed/status')).body?.status === 'running' ? true : undefined));
    // Closed, it stays marked to run: the next start resumes it.
    await first.close();
    expect(everythingChildren().filter((p) => !before.includes(p))).toEqual([]);

    // A step after the resume fails (the agent tools' status, asked last), once the resumed process runs.
    let resumed: number[] = [];
    vi.spyOn(LocalToolRuntime.prototype, 'status').mockImplementationOnce(async () => {
      resumed = await waitFor('the resumed process', async () => {
        const now = everythingChildren().filter((p) => !before.includes(p));
        return now.length > 0 ? now : undefined;
      });
      throw new Error('a step after the resume failed');
    });
    await expect(startTestServer(opts)).rejects.toThrow('a step after the resume failed');
    expect(resumed).toHaveLength(1);
    expect(resumed.filter(alive), 'a resumed workload process left running after the start failed').toEqual([]);
  });
});
