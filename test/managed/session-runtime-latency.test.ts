import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { dataOf, isIdle, openStream, readFrames, setUpAgent, waitIdle } from './session-harness.js';

/**
 * What the runtime's fast path must keep: no delta is shown outside its model request's span; a
 * stream fed by this process's notices
 * (not the store) yields the same events as the history; and `--max-running-sessions` caps the
 * sessions one process runs at once (the figures themselves are bench/sessions.mjs's).
 */
describe.each(testStores)('sessions: the runtime fast path and its cap (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let agent: { agentId: string; environmentId: string };

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1', env: { AGENTRY_MAX_RUNNING_SESSIONS: '1' } });
    agent = await setUpAgent(f.alice, model);
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  const newSession = async (): Promise<string> => {
    const s = await f.alice.req('POST', '/v1/sessions', { agent: agent.agentId, environment_id: agent.environmentId });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    return s.body.id as string;
  };
  const send = async (id: string, text: string): Promise<void> => {
    const r = await f.alice.req('POST', `/v1/sessions/${id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };

  it('shows no delta before its span start, and streams exactly the history, in order, turn after turn', async () => {
    const id = await newSession();
    const res = await openStream(f.server.url, f.aliceToken, `/v1/sessions/${id}/events/stream?event_deltas[]=agent.message`);
    expect(res.status).toBe(200);
    const framesP = readFrames(res, (fs) => fs.filter(isIdle).length >= 3);
    for (let i = 0; i < 3; i++) {
      model.script([{ text: ['one ', 'two ', 'three'] }]);
      await send(id, `turn ${i}`);
      await waitIdle(f.alice, id);
    }
    const seen = dataOf(await framesP);
    // Every delta comes after the span start of its request, and before that request's end.
    let open = false;
    let deltas = 0;
    for (const e of seen) {
      if (e.type === 'span.model_request_start') open = true;
      if (e.type === 'span.model_request_end') open = false;
      if (e.type === 'event_delta') {
        expect(open, 'a delta outside its model request span').toBe(true);
        deltas++;
      }
    }
    expect(deltas).toBeGreaterThanOrEqual(3);
    const history = await f.alice.req('GET', `/v1/sessions/${id}/events?limit=1000`);
    const stored = history.body.data.map((e: any) => e.id);
    const streamed = seen.filter((e) => e.type !== 'event_delta' && e.type !== 'event_start').map((e) => e.id);
    expect(streamed).toEqual(stored);
  }, 60_000);

  it('runs at most --max-running-sessions sessions at once; the others wait, running, and then run', async () => {
    model.script([
      { text: 'first', delayMs: 400 },
      { text: 'second', delayMs: 400 },
    ]);
    const a = await newSession();
    const b = await newSession();
    await Promise.all([send(a, 'go'), send(b, 'go')]);
    await Promise.all([waitIdle(f.alice, a), waitIdle(f.alice, b)]);
    const span = async (id: string) => {
      const ev = (await f.alice.req('GET', `/v1/sessions/${id}/events?limit=1000`)).body.data as any[];
      const start = Date.parse(ev.find((e) => e.type === 'span.model_request_start').processed_at);
      const end = Date.parse(ev.find((e) => e.type === 'span.model_request_end').processed_at);
      return { start, end };
    };
    const [x, y] = [await span(a), await span(b)];
    // With a cap of one the two model requests never overlap (both answer after 400 ms).
    const [first, second] = x.start <= y.start ? [x, y] : [y, x];
    expect(second.start).toBeGreaterThanOrEqual(first.end);
  }, 60_000);
});
