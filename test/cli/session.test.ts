import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { startManagedFixture, type ManagedFixture } from '../managed/managed-harness.js';
import { setUpAgent } from '../managed/session-harness.js';
import { assertBuilt, runCli } from './cli-harness.js';

const WEATHER = { type: 'custom', name: 'get_weather', description: 'The weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

describe('agentry session', () => {
  let f: ManagedFixture;
  let model: DevModel;
  let agentId: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    assertBuilt();
    model = await startTestModel();
    f = await startManagedFixture('sqlite', { egressAllow: '127.0.0.1' });
    ({ agentId } = await setUpAgent(f.alice, model, { tools: [WEATHER] }));
    env = { AGENTRY_REGISTRY: f.server.url, AGENTRY_TOKEN: f.aliceToken, AGENTRY_CONFIG: '/nonexistent/agentry.json' };
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });

  it('runs a turn by agent name: streamed text, folded tool calls, usage at the end; ls, show, rm', async () => {
    model.script([{ text: ['Hello', ' from', ' the agent.'], usage: { input_tokens: 9, output_tokens: 4 } }]);
    const run = await runCli(['session', 'run', 'helper', 'Say hello'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Hello from the agent.\n');
    expect(run.stdout).toMatch(/— end_turn · 9 input \/ 4 output tokens · sesn_\w+/);
    const id = /session (sesn_\w+)/.exec(run.stderr)![1];

    // The same session again, with a prompt on stdin and a custom tool call.
    model.script([{ toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' } }] }]);
    const tool = await runCli(['session', 'run', agentId, '--session', id], { env, input: 'Weather in Oslo?' });
    expect(tool.code, tool.stderr).toBe(0);
    expect(tool.stdout).toMatch(/⚙ get_weather\(\{"city":"Oslo"\}\) \[custom: waits for your result\]/);
    expect(tool.stdout).toMatch(/— requires_action \(waiting on sevt_\w+\)/);

    const ls = await runCli(['session', 'ls'], { env });
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${id}\\s+idle\\s+helper v1`));
    const json = await runCli(['session', 'ls', '--json', '--status', 'idle'], { env });
    expect(JSON.parse(json.stdout).map((s: { id: string }) => s.id)).toContain(id);

    const show = await runCli(['session', 'show', id], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('agent:       helper');
    expect(show.stdout).toContain('session.status_idle (requires_action)');

    const tail = await runCli(['session', 'tail', id, '--replay', '--until-idle'], { env });
    expect(tail.code).toBe(0);
    expect(tail.stdout).toContain('Hello from the agent.');
    expect(tail.stdout).toContain('[idle: end_turn]');

    const rm = await runCli(['session', 'rm', id], { env });
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`Deleted ${id}`);
    const gone = await runCli(['session', 'show', id], { env });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/not found/);
  });

  it('exits 1 when the turn exhausts its retries', async () => {
    const busy = { error: { status: 429, type: 'rate_limit_error', retryAfterMs: 10 } };
    model.script([busy, busy, busy, busy]);
    const run = await runCli(['session', 'run', 'helper', 'Anyone there?'], { env });
    expect(run.stdout).toMatch(/— retries_exhausted/);
    expect(run.code, run.stderr).toBe(1);
  });

  it('fails clearly without a prompt or with an unknown agent', async () => {
    const none = await runCli(['session', 'run', 'helper'], { env });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/pass a prompt or pipe it on stdin/);
    const unknown = await runCli(['session', 'run', 'nobody', 'hi'], { env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no agent named 'nobody'/);
  });
});
