import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { startManagedFixture, type ManagedFixture } from '../managed/managed-harness.js';
import { setUpAgent } from '../managed/session-harness.js';
import { assertBuilt, ROOT, runCli } from './cli-harness.js';

const TOOLSET = { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } };

describe('agentry worker --environment (a self-hosted environment on this machine)', () => {
  let f: ManagedFixture;
  let model: DevModel;
  let envId: string;
  let envKey: string;
  let agentId: string;
  let workdir: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    model = await startTestModel();
    f = await startManagedFixture('sqlite', { egressAllow: '127.0.0.1' });
    await setUpAgent(f.alice, model);
    const e = await f.alice.req('POST', '/v1/environments', { name: 'laptop', config: { type: 'self_hosted' } });
    envId = e.body.id;
    envKey = e.body.environment_key;
    agentId = (await f.alice.req('POST', '/v1/agents', { name: 'remote', model: 'dev-ant', tools: [TOOLSET], environment_id: envId })).body.id;
    workdir = mkdtempSync(join(tmpdir(), 'agentry-worker-cli-'));
    env = { ...(process.env as Record<string, string>), AGENTRY_REGISTRY: f.server.url, AGENTRY_CONFIG: '/nonexistent/agentry.json' };
    delete env.AGENTRY_TOKEN;
  }, 60_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGTERM');
    await f?.server.close();
    await model?.close();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it("runs the session's bash and write calls in a workspace under --workdir and posts the results", async () => {
    model.script([
      { toolCalls: [{ name: 'write', input: { file_path: 'note.txt', content: 'written by the worker' } }] },
      { toolCalls: [{ name: 'bash', input: { command: 'cat note.txt; echo " and read back"' } }] },
      { text: 'Done.' },
    ]);
    const s = (await f.alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: envId })).body;
    await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
    const child = spawn(process.execPath, [join(ROOT, 'bin/agentry.js'), 'worker', '--environment', envId, '--workdir', workdir, '--max-idle', '1'], {
      env: { ...env, AGENTRY_ENVIRONMENT_KEY: envKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 60_000;
    let events: any[];
    for (;;) {
      events = (await f.alice.req('GET', `/v1/sessions/${s.id}/events?limit=1000`)).body.data;
      const last = events.at(-1);
      if (last?.type === 'session.status_idle' && last.stop_reason.type === 'end_turn') break;
      if (Date.now() > deadline) throw new Error(`no end of turn; worker said:\n${out}\nevents: ${JSON.stringify(events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    const results = events.filter((e) => e.type === 'user.tool_result');
    expect(results).toHaveLength(2);
    expect(results.every((r) => r.is_error === false)).toBe(true);
    expect(JSON.stringify(results[1].content)).toContain('written by the worker and read back');
    // The workspace is on this machine, under --workdir.
    const note = join(workdir, s.id, 'root', 'workspace', 'note.txt');
    expect(existsSync(note), out).toBe(true);
    expect(readFileSync(note, 'utf8')).toBe('written by the worker');
    expect(out).toContain(`Agentry worker for ${envId}`);
    process.kill(child.pid!, 'SIGTERM');
    await new Promise((r) => child.once('close', r));
  });

  it('refuses a wrong key and a malformed environment id', async () => {
    const wrong = await runCli(['worker', '--environment', envId, '--workdir', workdir], { env: { ...env, AGENTRY_ENVIRONMENT_KEY: envKey.slice(0, -43) + 'B'.repeat(43) } });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/401|Invalid environment key/);
    const bad = await runCli(['worker', '--environment', 'nope', '--workdir', workdir], { env: { ...env, AGENTRY_ENVIRONMENT_KEY: envKey } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('not an environment id');
  });
});
