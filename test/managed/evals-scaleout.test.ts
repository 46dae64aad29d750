import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScaleOut, type ScaleOut } from './scaleout-harness.js';
import { setUpAgent } from './session-harness.js';

const DB = process.env.AGENTRY_TEST_DATABASE_URL;

const poll = async <T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 90_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not there within ${timeoutMs} ms: ${JSON.stringify(v).slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
};

/**
 * An eval whose runner dies (SIGKILL) in the middle of a trial: another worker process takes the
 * run once the lease runs out and goes on with the same session from the last message sent, so
 * nothing is sent twice and the trial still ends scored.
 */
describe.skipIf(!DB)('evals across processes (postgres)', () => {
  let x: ScaleOut;

  beforeAll(async () => {
    x = await startScaleOut(DB!);
  }, 120_000);
  afterAll(() => x?.close());

  it('goes on with a run whose runner was killed mid-trial, in the same session, sending nothing twice', async () => {
    const { model, alice } = x;
    const worker = await x.worker();
    const { agentId } = await setUpAgent(alice, model);
    // The first answer is slow: the worker dies while the trial's session waits on it.
    model.script([{ text: 'too late', delayMs: 30_000 }]);
    const created = await alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ id: 'two-turns', messages: ['first', 'second'], verifier: { type: 'regex', pattern: 'You said: "second"' } }] });
    expect(created.status).toBe(200);
    const id = created.body.id;
    const mid = await poll(
      'the first message sent',
      async () => (await alice.req('GET', `/v1/evals/${id}`)).body,
      (r) => r.cases[0].results[0].messages_sent === 1,
    );
    const sessionId = mid.cases[0].results[0].session_id;
    // The model has the slow request (a logged span.model_request_start may not have reached it yet:
    // killed then, the next worker's request would get the slow answer and the test wait it out).
    await poll(
      'the slow model request received',
      async () => model.pending(),
      (n) => n === 0,
    );
    await worker.kill();
    expect((await alice.req('GET', `/v1/evals/${id}`)).body.status).toBe('running');

    await x.worker();
    const done = await poll(
      'the run to end',
      async () => (await alice.req('GET', `/v1/evals/${id}`)).body,
      (r) => r.status !== 'running' && r.status !== 'pending',
    );
    expect(done.status).toBe('completed');
    expect(done.cases[0].results[0]).toMatchObject({ status: 'passed', session_id: sessionId, messages_sent: 2 });
    const log = (await alice.req('GET', `/v1/sessions/${sessionId}/log`)).body as Array<{ type: string; content?: Array<{ text: string }> }>;
    expect(log.filter((e) => e.type === 'user.message').map((e) => e.content![0].text)).toEqual(['first', 'second']);
    expect(log.some((e) => e.type === 'session.status_rescheduled')).toBe(true);
    // One session: the new runner made none of its own.
    const sessions = (await alice.req('GET', `/v1/sessions?agent_id=${agentId}&limit=100`)).body.data;
    expect(sessions).toHaveLength(1);
  }, 240_000);
});
