import { spawn } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { agentYaml, makeTarball } from '../helpers/packages.js';
import { startManagedFixture, type ManagedFixture } from '../managed/managed-harness.js';
import { setUpAgent } from '../managed/session-harness.js';
import { assertBuilt, ROOT, runCli } from './cli-harness.js';

/** Issue 19: `agentry run <ref> [prompt]` runs an agent package or an agentspace agent over /v1/sessions. */
describe('agentry run', () => {
  let f: ManagedFixture;
  let model: DevModel;
  let env: Record<string, string>;

  beforeAll(async () => {
    assertBuilt();
    model = await startTestModel();
    f = await startManagedFixture('sqlite', { egressAllow: '127.0.0.1' });
    await setUpAgent(f.alice, model); // the model card dev-ant and an environment
    const tgz = await makeTarball({
      'agent.yaml': agentYaml({ name: 'haiku', version: '1.0.0', scope: 'alice', description: 'The haiku agent', extra: 'config:\n  model: dev-ant\nexamples:\n  - prompt: Write a haiku about tea' }),
      'README.md': '# haiku\n\nAlways answer in haiku.\n',
    });
    const pub = await f.alice.publish('/api/v1/agents/@alice/haiku', tgz);
    expect(pub.status, JSON.stringify(pub.body)).toBe(200);
    env = { AGENTRY_REGISTRY: f.server.url, AGENTRY_TOKEN: f.aliceToken, AGENTRY_CONFIG: '/nonexistent/agentry.json' };
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('runs a published package with a prompt: streamed text, usage, exit 0; the model gets the mapped prompt', async () => {
    model.script([{ text: ['Steam curls', ' from the cup'], usage: { input_tokens: 7, output_tokens: 5 } }]);
    const run = await runCli(['run', '@alice/haiku', 'tea?'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Steam curls from the cup\n');
    expect(run.stdout).toMatch(/— end_turn · 7 input \/ 5 output tokens · sesn_\w+/);
    expect(run.stderr).toMatch(/session sesn_\w+ · @alice\/haiku@1\.0\.0/);
    const req = model.requests.find((r) => r.path === '/v1/messages')!.body as { system: unknown; messages: unknown };
    expect(JSON.stringify(req.system)).toContain('Always answer in haiku.');
    expect(JSON.stringify(req.messages)).toContain('tea?');
  });

  it('--json prints the event stream as JSON lines; the prompt can come on stdin; --model overrides', async () => {
    model.script([{ text: 'Green leaves unfold' }]);
    const run = await runCli(['run', '@alice/haiku@1.0.0', '--json', '--model', 'dev-ant'], { env, input: 'Write one about spring\n' });
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; content?: Array<{ text: string }>; stop_reason?: { type: string } });
    expect(events.find((e) => e.type === 'agent.message')?.content?.[0].text).toBe('Green leaves unfold');
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    expect(JSON.stringify(model.requests.find((r) => r.path === '/v1/messages')!.body)).toContain('Write one about spring');

    const badModel = await runCli(['run', '@alice/haiku', 'hi', '--model', 'no-such-card'], { env });
    expect(badModel.code).not.toBe(0);
    expect(badModel.stderr).toMatch(/no-such-card/);
  });

  it('is a chat in a terminal: a line in, the answer streamed, Ctrl-C interrupts a turn, Ctrl-D exits', async () => {
    model.script([{ text: 'First answer' }, { text: 'Second answer' }]);
    // util-linux `script` gives the CLI a terminal; what is written here is typed into it.
    const child = spawn('script', ['-qec', `${process.execPath} bin/agentry.js run @alice/haiku`, '/dev/null'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in:\n${out}`)), 15_000);
        const check = (): void => {
          if (re.test(out)) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    await seen(/Ctrl-D exits/);
    child.stdin.write('tea?\r');
    await seen(/First answer[\s\S]*— end_turn/);
    child.stdin.write('more\r');
    await seen(/Second answer[\s\S]*— end_turn/);
    // Ctrl-C during a slow turn interrupts it (user.interrupt) and the chat goes on.
    model.script([{ text: ['slow', ' and', ' slower'], chunkDelayMs: 3_000 }]);
    child.stdin.write('take your time\r');
    await seen(/take your time/);
    while (model.requests.filter((r) => r.path === '/v1/messages').length < 3) await new Promise((r) => setTimeout(r, 50));
    child.stdin.write('\x03');
    await seen(/interrupting[\s\S]*— \w+ · /);
    expect(out).not.toContain('slower');
    child.stdin.write('\x04');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toContain('try: "Write a haiku about tea"');
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(3);
  });

  it('without a terminal (prompt piped), SIGINT interrupts the turn on the server and exits 130; the model is not asked again', async () => {
    model.script([{ text: ['slow', ' and', ' slower'], chunkDelayMs: 3_000 }, { text: 'never asked' }]);
    const child = spawn(process.execPath, ['bin/agentry.js', 'run', '@alice/haiku'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stdin.end('take your time\n');
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    while (model.requests.filter((r) => r.path === '/v1/messages').length < 1) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await closed, err).toBe(130);
    expect(err).toMatch(/interrupting/);
    expect(out).not.toContain('slower');
    expect(out).toMatch(/— end_turn · /);
    const id = /session (sesn_\w+)/.exec(err)![1];
    const events = (await f.alice.req('GET', `/v1/sessions/${id}/events?limit=100`)).body.data.map((e: { type: string }) => e.type);
    expect(events).toContain('user.interrupt');
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(1);
  });

  it('exits 1 when the turn ends in an error', async () => {
    const busy = { error: { status: 429, type: 'rate_limit_error', retryAfterMs: 10 } };
    model.script([busy, busy, busy, busy]);
    const run = await runCli(['run', '@alice/haiku', 'anyone?'], { env });
    expect(run.stdout).toMatch(/— retries_exhausted/);
    expect(run.code, run.stderr).toBe(1);
  });

  it('fails clearly: an unknown package (4), a bad reference (2), no prompt (2), no environment (4)', async () => {
    const unknown = await runCli(['run', '@alice/nobody', 'hi'], { env });
    expect(unknown.code, unknown.stderr).toBe(4);
    expect(unknown.stderr).toMatch(/@alice\/nobody/);
    const bad = await runCli(['run', 'not a ref', 'hi'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected @scope\/name/);
    const none = await runCli(['run', '@alice/haiku'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/pass a prompt or pipe it on stdin/);
    const bob = await runCli(['run', '@alice/haiku', 'hi'], { env: { ...env, AGENTRY_TOKEN: f.bobToken } });
    expect(bob.code).toBe(4);
    expect(bob.stderr).toMatch(/no environment to run in[\s\S]*\/v1\/environments/);
  });

  it('runs an agentspace agent: agentspace:<id>/<assistant_id>', async () => {
    const spec = exampleAgent('helper', {
      response: {
        provider_id: 'alquimia',
        config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'dev-model', base_url: model.openaiBaseUrl, api_key: { $secretRef: 'LLM_KEY' } } },
        profile: { system_prompt: 'You help.', evaluation_strategy: { evaluation_strategy_id: 'one-shoot' } },
      },
    });
    for (const [m, p, b] of [
      ['POST', '/registry/', { name: 'agents', namespace: 'local' }],
      ['POST', '/registry/secret', { secret: { key: 'LLM_KEY', scope: 'global' }, value: 'sk-space-1234' }],
      ['POST', '/registry/agent', spec],
    ] as const) {
      const r = await f.alice.req(m, p, b);
      expect(r.status, `${m} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    }
    model.script([{ text: 'At your service' }]);
    const run = await runCli(['run', 'agentspace:default/helper', 'hello'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('At your service\n');
    const withModel = await runCli(['run', 'agentspace:default/helper', 'hello', '--model', 'dev-ant'], { env });
    expect(withModel.code).toBe(2);
    expect(withModel.stderr).toMatch(/--model applies to packages only/);
  });
});
