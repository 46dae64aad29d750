import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { assertBuilt, runCli } from '../cli/cli-harness.js';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { setUpAgent } from './session-harness.js';

const TOOLSET = { type: 'agent_toolset_20260401' };

/** Reads the eval until it has ended (or `until` holds), answers it. */
const waitEval = async (f: ManagedFixture, id: string, until: (r: any) => boolean = (r) => ['completed', 'failed', 'cancelled'].includes(r.status), timeoutMs = 90_000): Promise<any> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await f.alice.req('GET', `/v1/evals/${id}`);
    expect(r.status).toBe(200);
    if (until(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`eval ${id} is still ${r.body.status}: ${JSON.stringify(r.body.progress)}`);
    await new Promise((res) => setTimeout(res, 150));
  }
};

const resultOf = (run: any, caseId: string, trial = 1): any => run.cases.find((c: any) => c.id === caseId).results.find((r: any) => r.trial === trial);

describe.each(testStores)('evals (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let agentId: string;
  let environmentId: string;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    ({ agentId, environmentId } = await setUpAgent(f.alice, model, { tools: [TOOLSET] }));
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('runs every case and trial as a real session and scores it: exact, regex over several turns, setup files, a script in the workspace', async () => {
    // Trials run one at a time, so the one scripted answer goes to the first case; the dev model answers the rest from the request.
    model.script([{ text: 'pong' }]);
    const created = await f.alice.req('POST', '/v1/evals', {
      name: 'smoke',
      agent: agentId,
      concurrency: 1,
      metadata: { suite: 'smoke' },
      cases: [
        { id: 'exact', messages: ['Say pong'], verifier: { type: 'exact', expected: 'pong' } },
        { id: 'turns', messages: ['first', { role: 'user', content: 'second' }], trials: 2, verifier: { type: 'regex', pattern: 'You said: "second"' } },
        {
          id: 'setup',
          setup_files: [{ path: 'notes/input.txt', content: 'hello from setup' }],
          messages: ['/tool read {"file_path": "notes/input.txt"}'],
          verifier: { type: 'regex', pattern: 'hello from setup' },
        },
        { id: 'script', messages: ['/tool write {"file_path": "answer.txt", "content": "42"}'], verifier: { type: 'script', script: 'test "$(cat answer.txt)" = 42' } },
        { id: 'script-fails', messages: ['hi'], verifier: { type: 'script', script: 'test -f nothing-here.txt' } },
        { id: 'exact-fails', messages: ['ping'], verifier: { type: 'exact', expected: 'pong' } },
        // Catastrophic backtracking on the echoed answer: the test is stopped, the trial is an error, the server goes on.
        { id: 'redos', messages: [`${'a'.repeat(40)}!`], verifier: { type: 'regex', pattern: '(a+)+b' } },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({
      type: 'eval_run',
      name: 'smoke',
      agent: { type: 'agent', id: agentId, version: 1 },
      environment_id: environmentId,
      task_count: 7,
      metadata: { suite: 'smoke' },
    });
    expect(created.body.run_id).toBe(created.body.id);
    expect(created.body.progress).toMatchObject({ total: 8, finished: 0 });
    expect(['pending', 'running']).toContain(created.body.status);

    const run = await waitEval(f, created.body.id);
    expect(run.status, JSON.stringify(run.cases)).toBe('completed');
    expect(run.progress).toEqual({ total: 8, finished: 8, pending: 0, running: 0, passed: 5, failed: 2, errored: 1, cancelled: 0 });
    expect(run.score).toBeCloseTo(5 / 8, 3);
    expect(resultOf(run, 'redos')).toMatchObject({ status: 'error', score: 0 });
    expect(resultOf(run, 'redos').reason).toMatch(/took longer than 2000 ms/);
    expect(run.started_at).not.toBeNull();
    expect(run.ended_at).not.toBeNull();
    expect(resultOf(run, 'exact')).toMatchObject({ status: 'passed', score: 1, output: 'pong' });
    expect(resultOf(run, 'exact-fails')).toMatchObject({ status: 'failed', score: 0 });
    expect(resultOf(run, 'exact-fails').output).toContain('You said: "ping"');
    for (const t of [1, 2]) expect(resultOf(run, 'turns', t)).toMatchObject({ status: 'passed', messages_sent: 2 });
    expect(resultOf(run, 'setup')).toMatchObject({ status: 'passed' });
    expect(resultOf(run, 'script')).toMatchObject({ status: 'passed' });
    expect(resultOf(run, 'script-fails')).toMatchObject({ status: 'failed', score: 0 });
    expect(resultOf(run, 'script-fails').reason).toMatch(/the script failed/);
    expect(run.cases.find((c: any) => c.id === 'turns')).toMatchObject({ trials: 2, passed: 2, score: 1, verifier: 'regex' });

    // Each trial was a session of its own, of the caller, with the case's turns in its log.
    const sessions = new Set(run.cases.flatMap((c: any) => c.results.map((r: any) => r.session_id)));
    expect(sessions.size).toBe(8);
    const turns = resultOf(run, 'turns', 2);
    const s = await f.alice.req('GET', `/v1/sessions/${turns.session_id}`);
    expect(s.body).toMatchObject({ status: 'idle', metadata: { eval_case_id: 'turns', eval_trial: '2' }, agent: { id: agentId, version: 1 } });
    const log = await f.alice.req('GET', `/v1/sessions/${turns.session_id}/log`);
    expect(log.body.filter((e: any) => e.type === 'user.message').map((e: any) => e.content[0].text)).toEqual(['first', 'second']);
    // The agent's tool really ran in the workspace the setup file was written to.
    const setupLog = await f.alice.req('GET', `/v1/sessions/${resultOf(run, 'setup').session_id}/log`);
    const toolResult = setupLog.body.find((e: any) => e.type === 'agent.tool_result');
    expect(toolResult.is_error).toBe(false);
    expect(JSON.stringify(toolResult.content)).toContain('hello from setup');

    const list = await f.alice.req('GET', '/v1/evals?limit=10');
    expect(list.body.data.map((r: any) => r.id)).toContain(run.id);
    const completed = await f.alice.req('GET', `/v1/evals?status=completed&agent_id=${agentId}`);
    expect(completed.body.data.every((r: any) => r.status === 'completed' && r.agent.id === agentId)).toBe(true);
  }, 120_000);

  it('scores with an LLM judge through a model card, and says when the judge gives no verdict', async () => {
    model.script([
      { text: 'Paris' },
      { text: 'Here is my verdict: {"pass": true, "score": 0.9, "reason": "names the capital"}' },
      { text: 'Lyon' },
      { text: 'FAIL\nLyon is not the capital.' },
      { text: 'Marseille' },
      { text: 'I am not sure.' },
    ]);
    const judge = { type: 'llm_judge', model: 'dev-ant', criteria: 'The answer names the capital of France.' };
    const created = await f.alice.req('POST', '/v1/evals', {
      agent_id: agentId,
      concurrency: 1,
      tasks: [
        { id: 'q1', messages: ['Capital of France?'], verifier: judge },
        { id: 'q2', messages: ['Capital of France, again?'], verifier: judge },
        { id: 'q3', messages: ['And once more?'], verifier: judge },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const run = await waitEval(f, created.body.id);
    expect(run.status).toBe('completed');
    expect(resultOf(run, 'q1')).toMatchObject({ status: 'passed', score: 0.9, reason: 'names the capital', output: 'Paris' });
    expect(resultOf(run, 'q2')).toMatchObject({ status: 'failed', score: 0, output: 'Lyon' });
    expect(resultOf(run, 'q3')).toMatchObject({ status: 'error', score: 0 });
    expect(resultOf(run, 'q3').reason).toMatch(/gives no verdict/);
    expect(run.score).toBeCloseTo(0.3, 3);
    // The judge saw the question, the agent's answer and the criteria, with the card's model.
    const asked = model.requests.filter((r) => r.path === '/v1/messages').map((r) => JSON.stringify(r.body));
    const judged = asked.find((b) => b.includes('You grade the answer') && b.includes('Paris'));
    expect(judged).toBeDefined();
    expect(judged).toContain('Capital of France?');
    expect(judged).toContain('The answer names the capital of France.');

    // An agent whose model has no card: its turn ends retries_exhausted, and the trial says why.
    const orphan = await f.alice.req('POST', '/v1/agents', { name: 'orphan', model: 'no-such-card', environment_id: environmentId });
    const broken = await f.alice.req('POST', '/v1/evals', { agent: orphan.body.id, cases: [{ messages: ['hi'], verifier: { type: 'exact', expected: 'hi' } }] });
    const failed = await waitEval(f, broken.body.id);
    expect(failed).toMatchObject({ status: 'completed', score: 0, progress: { errored: 1 } });
    expect(resultOf(failed, 'case-1').reason).toMatch(/retries_exhausted: No model card with model_id 'no-such-card'/);
  }, 120_000);

  it('cancels a running eval: unfinished trials are cancelled, the running session is interrupted, nothing more starts', async () => {
    model.script([{ text: 'slow answer', delayMs: 60_000 }]);
    const created = await f.alice.req('POST', '/v1/evals', { agent: agentId, concurrency: 1, cases: [{ id: 'slow', messages: ['take your time'], trials: 3 }] });
    expect(created.status).toBe(200);
    const running = await waitEval(f, created.body.id, (r) => r.progress.running === 1 && resultOf(r, 'slow').messages_sent === 1);
    const sessionId = resultOf(running, 'slow').session_id;
    const bobCancel = await f.bob.req('POST', `/v1/evals/${created.body.id}/cancel`);
    expectManagedError(bobCancel, 404, 'not_found_error');
    const cancelled = await f.alice.req('POST', `/v1/evals/${created.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.progress).toMatchObject({ cancelled: 3, running: 0, pending: 0 });
    expect(cancelled.body.ended_at).not.toBeNull();
    // The session stops (an interrupt), well before the model's slow answer.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await f.alice.req('GET', `/v1/sessions/${sessionId}`);
      if (s.body.status === 'idle') break;
      if (Date.now() > deadline) throw new Error(`session ${sessionId} is still ${s.body.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = await f.alice.req('GET', `/v1/sessions/${sessionId}/log`);
    expect(log.body.map((e: any) => e.type)).toContain('user.interrupt');
    // A cancel of an ended eval changes nothing; no trial started after the cancel.
    const again = await f.alice.req('POST', `/v1/evals/${created.body.id}/cancel`);
    expect(again.body.status).toBe('cancelled');
    expect(again.body.cases[0].results.filter((r: any) => r.session_id !== null)).toHaveLength(1);
  }, 120_000);

  it('refuses bad input and keeps runs private to their account', async () => {
    const cases = [{ messages: ['hi'] }];
    expectManagedError(await f.alice.req('POST', '/v1/evals', { agent: 'agent_nope', cases }), 400, 'invalid_request_error', /agent: agent agent_nope not found/);
    expectManagedError(await f.alice.req('POST', '/v1/evals', { cases }), 400, 'invalid_request_error', /agent is required/);
    expectManagedError(await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [] }), 400, 'invalid_request_error', /cases must be a non-empty list/);
    expectManagedError(await f.alice.req('POST', '/v1/evals', { agent: agentId }), 400, 'invalid_request_error', /tasks must be a non-empty list/);
    expectManagedError(await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ messages: [] }] }), 400, 'invalid_request_error', /cases\[0\]\.messages must be a non-empty list/);
    expectManagedError(
      await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ messages: ['hi'], verifier: { type: 'regex', pattern: '([a-z' } }] }),
      400,
      'invalid_request_error',
      /cases\[0\]\.verifier\.pattern is not a valid regular expression/,
    );
    expectManagedError(
      await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ messages: ['hi'], verifier: { type: 'vibes' } }] }),
      400,
      'invalid_request_error',
      /verifier\.type must be one of/,
    );
    expectManagedError(await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ messages: ['hi'], verifier: { type: 'exact' } }] }), 400, 'invalid_request_error', /expected is required/);
    expectManagedError(
      await f.alice.req('POST', '/v1/evals', {
        agent: agentId,
        cases: [
          { id: 'a', messages: ['x'] },
          { id: 'a', messages: ['y'] },
        ],
      }),
      400,
      'invalid_request_error',
      /used twice/,
    );
    expectManagedError(
      await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ messages: ['hi'], setup_files: [{ path: '../../etc/passwd', content: 'x' }] }] }),
      400,
      'invalid_request_error',
      /must not contain '\.\.'/,
    );
    expectManagedError(
      await f.alice.req('POST', '/v1/evals', { agent: agentId, trials: 10, cases: Array.from({ length: 60 }, () => ({ messages: ['x'] })) }),
      400,
      'invalid_request_error',
      /600 trials in all/,
    );
    expectManagedError(await f.alice.req('GET', '/v1/evals?status=exploded'), 400, 'invalid_request_error', /status 'exploded'/);
    expectManagedError(await f.alice.req('GET', '/v1/evals/evalrun_nope'), 404, 'not_found_error');

    // Bob cannot run Alice's agent, nor see, list or cancel Alice's runs.
    expectManagedError(await f.bob.req('POST', '/v1/evals', { agent: agentId, cases }), 400, 'invalid_request_error', /not found/);
    const mine = await f.alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ messages: ['private'] }] });
    expect(mine.status).toBe(200);
    expectManagedError(await f.bob.req('GET', `/v1/evals/${mine.body.id}`), 404, 'not_found_error', /Eval .* not found/);
    expect((await f.bob.req('GET', '/v1/evals')).body.data).toEqual([]);
    expectManagedError(await f.bob.req('POST', `/v1/evals/${mine.body.id}/cancel`), 404, 'not_found_error');
    expectManagedError(await f.alice.with('').req('GET', '/v1/evals'), 401, 'authentication_error');
    const done = await waitEval(f, mine.body.id);
    expect(done).toMatchObject({ status: 'completed', score: 1 });
    expect(resultOf(done, 'case-1').reason).toMatch(/no verifier/);
  }, 120_000);

  it('`agentry eval run <file>` starts the eval over HTTP, prints each trial as it ends and the score', async () => {
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'agentry-eval-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'eval.json');
    writeFileSync(
      file,
      JSON.stringify({
        agent: 'helper',
        cases: [
          { id: 'echo', messages: ['hello'], verifier: { type: 'regex', pattern: 'You said: "hello"' } },
          { id: 'wrong', messages: ['hello'], verifier: { type: 'exact', expected: 'bye' } },
        ],
      }),
    );
    const env = { AGENTRY_REGISTRY: f.server.url, AGENTRY_TOKEN: f.aliceToken, AGENTRY_CONFIG: '/nonexistent/agentry.json' };
    const run = await runCli(['eval', 'run', file, '--interval', '200', '--min-score', '0.4'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/eval evalrun_\w+: 2 cases, 2 trials/);
    expect(run.stdout).toMatch(/✓ echo#1 passed 1\.000/);
    expect(run.stdout).toMatch(/✗ wrong#1 failed 0\.000/);
    expect(run.stdout).toMatch(/score 0\.500 · 1 passed, 1 failed, 0 errors of 2 · completed/);
    const strict = await runCli(['eval', 'run', file, '--interval', '200', '--min-score', '0.9', '--json'], { env });
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout.slice(0, strict.stdout.lastIndexOf('}') + 1))).toMatchObject({ status: 'completed', score: 0.5 });
    expect(strict.stderr).toContain('below --min-score 0.9');
    const missing = await runCli(['eval', 'run', join(dir, 'none.json')], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the eval file');
  }, 120_000);
});
