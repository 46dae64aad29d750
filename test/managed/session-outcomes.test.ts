import { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent, waitIdle } from './session-harness.js';

/**
 * Outcomes (`user.define_outcome`): the agent starts on the task at once; each finished turn is
 * graded against the rubric by the evals' LLM judge on the agent's model card (the dev model,
 * scripted here: agent answers and grader verdicts alternate), `needs_revision` feeds the
 * explanation back until `satisfied` or `max_iterations`; spans carry the grader's usage.
 */

const RUBRIC = '- The CSV has a numeric `price` column';
const verdict = (pass: boolean, reason: string) => JSON.stringify({ pass, score: pass ? 1 : 0.2, reason });
const messagesOf = (model: DevModel) => model.requests.filter((r) => r.path === '/v1/messages').map((r) => r.body as any);
const textOfRequest = (body: any): string => JSON.stringify(body.messages);
const outcome = (rubric: unknown, max?: number) => ({ type: 'user.define_outcome', description: 'Write prices.csv', rubric, ...(max === undefined ? {} : { max_iterations: max }) }) as any;

describe.each(testStores)('sessions: outcomes (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let a: { agentId: string; environmentId: string };

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1', env: { AGENTRY_SSE_HEARTBEAT_MS: '150' } });
    a = await setUpAgent(f.alice, model);
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  /** Defines an outcome, sends user.interrupt at the first event of type `on`; answers the events up to idle. */
  const defineAndInterruptOn = async (id: string, on: string): Promise<any[]> => {
    const stream = await f.sdk.beta.sessions.events.stream(id);
    await f.sdk.beta.sessions.events.send(id, { events: [outcome({ type: 'text', content: RUBRIC })] });
    const seen: any[] = [];
    for await (const e of stream) {
      seen.push(e);
      if (e.type === on) await f.sdk.beta.sessions.events.send(id, { events: [{ type: 'user.interrupt' }] });
      if (e.type === 'session.status_idle') break;
    }
    return seen;
  };

  it('grades each finished turn: needs_revision feeds the explanation back, then satisfied; events in order with usage (POST events)', async () => {
    model.script([
      { text: 'draft one', usage: { input_tokens: 100, output_tokens: 10 } },
      { text: verdict(false, 'The price column is missing.'), usage: { input_tokens: 41, output_tokens: 9 } },
      { text: 'draft two, with price', usage: { input_tokens: 100, output_tokens: 10 } },
      { text: verdict(true, 'Every criterion is met.'), usage: { input_tokens: 52, output_tokens: 8 } },
    ]);
    const s = await f.sdk.beta.sessions.create({ agent: a.agentId, environment_id: a.environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    const [sent] = (await f.sdk.beta.sessions.events.send(s.id, { events: [outcome({ type: 'text', content: RUBRIC })] })).data as any[];
    expect(sent).toMatchObject({ type: 'user.define_outcome', outcome_id: expect.stringMatching(/^outc_/), max_iterations: 3, rubric: { type: 'text', content: RUBRIC } });
    const events = await collectSdk(stream);
    const spans = events.filter((e) => e.type.startsWith('span.outcome_evaluation_') && e.type !== 'span.outcome_evaluation_ongoing');
    expect(spans.map((e) => [e.type, e.iteration, e.result])).toEqual([
      ['span.outcome_evaluation_start', 0, undefined],
      ['span.outcome_evaluation_end', 0, 'needs_revision'],
      ['span.outcome_evaluation_start', 1, undefined],
      ['span.outcome_evaluation_end', 1, 'satisfied'],
    ]);
    for (const e of spans) expect(e.outcome_id).toBe(sent.outcome_id);
    expect(spans[1]).toMatchObject({ outcome_evaluation_start_id: spans[0].id, explanation: 'The price column is missing.', usage: { input_tokens: 41, output_tokens: 9 } });
    expect(spans[3]).toMatchObject({ outcome_evaluation_start_id: spans[2].id, explanation: 'Every criterion is met.', usage: { input_tokens: 52, output_tokens: 8 } });
    // Order: the agent's answer, then its evaluation, then the revision, then the last evaluation, then idle.
    const order = events
      .map((e) => (e.type === 'agent.message' ? e.content[0].text : e.type))
      .filter((t) => !t.startsWith('span.model') && t !== 'session.usage' && t !== 'span.outcome_evaluation_ongoing');
    expect(order).toEqual([
      'user.define_outcome',
      'session.status_running',
      'draft one',
      'span.outcome_evaluation_start',
      'span.outcome_evaluation_end',
      'draft two, with price',
      'span.outcome_evaluation_start',
      'span.outcome_evaluation_end',
      'session.status_idle',
    ]);
    expect(events.at(-1).stop_reason).toEqual({ type: 'end_turn' });
    // The agent was given the task and rubric, the grader the work and rubric, the revision the feedback.
    const reqs = messagesOf(model);
    expect(reqs).toHaveLength(4);
    expect(textOfRequest(reqs[0])).toContain('Write prices.csv');
    expect(reqs[1].system).toMatch(/grade/i);
    expect(textOfRequest(reqs[1])).toContain('draft one');
    expect(textOfRequest(reqs[1])).toContain('numeric `price` column');
    expect(textOfRequest(reqs[2])).toContain('The price column is missing.');
    expect(textOfRequest(reqs[3])).toContain('draft two, with price');
    const got = await f.sdk.beta.sessions.retrieve(s.id);
    // The grader's tokens count in the session's usage.
    expect(got.usage).toMatchObject({ input_tokens: 100 + 41 + 100 + 52, output_tokens: 10 + 9 + 10 + 8 });
    expect(got.outcome_evaluations).toEqual([
      {
        type: 'outcome_evaluation',
        outcome_id: sent.outcome_id,
        description: 'Write prices.csv',
        iteration: 1,
        result: 'satisfied',
        explanation: 'Every criterion is met.',
        completed_at: expect.any(String),
      },
    ]);
  });

  it('takes a file rubric in initial_events, resolved to its text; max_iterations_reached is followed by one closing turn', async () => {
    const file = await f.sdk.beta.files.upload({ file: await toFile(Buffer.from(`# Rubric\n${RUBRIC}\n`), 'rubric.md', { type: 'text/markdown' }) });
    model.script([{ text: 'no prices here' }, { text: verdict(false, 'Still no price column.') }, { text: 'I could not add the price column.' }]);
    const s = await f.sdk.beta.sessions.create({ agent: a.agentId, environment_id: a.environmentId, initial_events: [outcome({ type: 'file', file_id: file.id }, 1)] } as any);
    expect(s.outcome_evaluations).toMatchObject([{ result: 'running', iteration: 0, completed_at: null }]);
    await waitIdle(f.alice, s.id);
    const events: any[] = [];
    for await (const e of f.sdk.beta.sessions.events.list(s.id)) events.push(e);
    expect(events[0]).toMatchObject({ type: 'user.define_outcome', max_iterations: 1, rubric: { type: 'text', content: `# Rubric\n${RUBRIC}\n` } });
    const end = events.find((e) => e.type === 'span.outcome_evaluation_end');
    expect(end).toMatchObject({ result: 'max_iterations_reached', iteration: 0, explanation: 'Still no price column.' });
    expect(events.filter((e) => e.type === 'span.outcome_evaluation_start')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'agent.message').at(-1).content[0].text).toBe('I could not add the price column.');
    expect(events.indexOf(end)).toBeLessThan(events.findIndex((e) => e.type === 'agent.message' && e.content[0].text.startsWith('I could not')));
    expect(textOfRequest(messagesOf(model)[1])).toContain('# Rubric');
    expect(messagesOf(model)).toHaveLength(3);
    expect((await f.sdk.beta.sessions.retrieve(s.id)).outcome_evaluations).toMatchObject([{ result: 'max_iterations_reached', completed_at: expect.any(String) }]);
  });

  it('a grader that cannot be asked ends the outcome failed with the reason; an interrupt stops grading (interrupted)', async () => {
    model.script([{ text: 'done' }, { error: { status: 400, message: 'grader request refused' } }]);
    const s = await f.sdk.beta.sessions.create({ agent: a.agentId, environment_id: a.environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [outcome({ type: 'text', content: RUBRIC })] });
    const events = await collectSdk(stream);
    expect(events.find((e) => e.type === 'span.outcome_evaluation_end')).toMatchObject({ result: 'failed', explanation: expect.stringMatching(/grader request refused/) });
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    // The session stays usable: a new outcome, whose grading is interrupted while it runs.
    model.reset();
    // The model answers only after the test's own timeout: only the interrupt ends the grading, however loaded the machine.
    model.script([{ text: 'again' }, { text: verdict(true, 'fine'), delayMs: 120_000 }]);
    const seen = await defineAndInterruptOn(s.id, 'span.outcome_evaluation_ongoing');
    const end = seen.find((e) => e.type === 'span.outcome_evaluation_end');
    expect(end).toMatchObject({ result: 'interrupted', iteration: 0 });
    expect(seen.findIndex((e) => e.type === 'span.outcome_evaluation_ongoing')).toBeLessThan(seen.indexOf(end));
    // Interrupted while the agent works on it (no evaluation yet), an outcome ends interrupted too.
    model.script([{ text: 'slow', delayMs: 120_000 }]);
    const rest = await defineAndInterruptOn(s.id, 'span.model_request_start');
    expect(rest.some((e) => e.type.startsWith('span.outcome_evaluation'))).toBe(false);
    const got = await f.sdk.beta.sessions.retrieve(s.id);
    expect(got.outcome_evaluations.map((o) => o.result)).toEqual(['failed', 'interrupted', 'interrupted']);
  });

  it('refuses bad outcomes: rubric files not found or of another account, max_iterations out of range, two at once, a terminated session', async () => {
    const s = await f.sdk.beta.sessions.create({ agent: a.agentId, environment_id: a.environmentId });
    const send = (ev: unknown) => f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [ev] });
    const bobs = await f.bobSdk.beta.files.upload({ file: await toFile(Buffer.from('bob rubric'), 'r.md') });
    expectManagedError(await send(outcome({ type: 'file', file_id: bobs.id })), 400, 'invalid_request_error', /rubric\.file_id: file .* not found/);
    expectManagedError(await send(outcome({ type: 'file', file_id: 'file_nope' })), 400, 'invalid_request_error', /not found/);
    const created = await f.alice.req('POST', '/v1/sessions', { agent: a.agentId, environment_id: a.environmentId, initial_events: [outcome({ type: 'file', file_id: bobs.id })] });
    expectManagedError(created, 400, 'invalid_request_error', /initial_events\[0\]\.rubric\.file_id/);
    for (const max of [0, 21, 1.5, '3']) expectManagedError(await send(outcome({ type: 'text', content: RUBRIC }, max as number)), 400, 'invalid_request_error', /max_iterations/);
    expectManagedError(await send(outcome({ type: 'url', content: RUBRIC })), 400, 'invalid_request_error', /rubric\.type/);
    expectManagedError(await send({ type: 'user.define_outcome', description: 'x' }), 400, 'invalid_request_error', /rubric is required/);
    const two = await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [outcome({ type: 'text', content: RUBRIC }), outcome({ type: 'text', content: RUBRIC })] });
    expectManagedError(two, 409, 'conflict_error', /one user\.define_outcome/);
    expect((await f.sdk.beta.sessions.retrieve(s.id)).outcome_evaluations).toEqual([]);
    // A terminated session takes no outcome.
    model.script([{ error: { status: 400, message: 'messages: invalid history' } }]);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    for (let i = 0; i < 100 && (await f.sdk.beta.sessions.retrieve(s.id)).status !== 'terminated'; i++) await new Promise((r) => setTimeout(r, 50));
    expectManagedError(await send(outcome({ type: 'text', content: RUBRIC })), 400, 'invalid_request_error', /terminated/);
  });
});
