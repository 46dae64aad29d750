import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { startScaleOut, type ScaleOut } from './scaleout-harness.js';
import { isIdle, openStream, readFrames, setUpAgent } from './session-harness.js';

const DB = process.env.AGENTRY_TEST_DATABASE_URL;

/**
 * Scale-out on one PostgreSQL database: an API process that runs no workers (`--no-runtime`),
 * worker processes, and a stream read from one process while the session is driven through
 * another. A worker killed mid-turn (SIGKILL) loses its lease; another takes the session again,
 * closes the partial model request and finishes the turn.
 */
describe.skipIf(!DB)('sessions across processes (postgres)', () => {
  let x: ScaleOut;

  beforeAll(async () => {
    x = await startScaleOut(DB!);
  }, 120_000);
  afterAll(() => x?.close());

  it('streams from one process a session driven through another, and recovers a turn whose worker was killed', async () => {
    const { model, api, alice, aliceToken } = x;
    const worker = await x.worker();
    const { agentId, environmentId } = await setUpAgent(alice, model);
    const s = (await alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId })).body;

    // Driven through the worker's process, streamed from the API process (which runs no workers).
    model.script([{ text: ['across ', 'processes'] }]);
    const stream = await openStream(api.url, aliceToken, `/v1/sessions/${s.id}/events/stream?event_deltas[]=agent.message`);
    const sent = await new Api(worker.url, aliceToken).req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'hi' }] });
    expect(sent.status).toBe(200);
    const frames = await readFrames(stream, (fr) => fr.some(isIdle), 60_000);
    const types = frames.filter((x) => x.event && x.event !== 'ping').map((x) => x.event);
    expect(types).toEqual(
      expect.arrayContaining(['user.message', 'session.status_running', 'span.model_request_start', 'event_delta', 'agent.message', 'span.model_request_end', 'session.status_idle']),
    );
    expect(JSON.parse(frames.find((x) => x.event === 'agent.message')!.data).content[0].text).toBe('across processes');

    // A slow turn; the only worker dies in the middle of it.
    model.script([{ text: Array.from({ length: 400 }, (_, i) => `w${i} `), chunkDelayMs: 25 }, { text: 'recovered' }]);
    const live = await openStream(api.url, aliceToken, `/v1/sessions/${s.id}/events/stream?event_deltas[]=agent.message`);
    await alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'long one' }] });
    const before = await readFrames(live, (fr) => fr.some((x) => x.event === 'event_delta'), 60_000);
    expect(before.some((x) => x.event === 'span.model_request_start')).toBe(true);
    await worker.kill();
    expect((await alice.req('GET', `/v1/sessions/${s.id}`)).body.status).toBe('running');

    // Another worker takes the session once the dead one's lease runs out.
    const resume = await openStream(api.url, aliceToken, `/v1/sessions/${s.id}/events/stream`, { 'last-event-id': before.filter((x) => x.id).at(-1)!.id! });
    await x.worker();
    const after = await readFrames(resume, (fr) => fr.some(isIdle), 90_000);
    const events = after.filter((x) => x.event && x.event !== 'ping').map((x) => JSON.parse(x.data));
    const kinds = events.map((e) => e.type);
    expect(kinds[0]).toBe('span.model_request_end');
    expect(events[0].is_error).toBe(true);
    expect(kinds).toContain('session.status_rescheduled');
    expect(events.find((e) => e.type === 'agent.message').content[0].text).toBe('recovered');
    expect(events.at(-1).stop_reason).toEqual({ type: 'end_turn' });
    const log = (await alice.req('GET', `/v1/sessions/${s.id}/log`)).body as Array<{ type: string }>;
    // Every model request is closed, exactly once.
    const starts = log.filter((e) => e.type === 'span.model_request_start').length;
    expect(log.filter((e) => e.type === 'span.model_request_end')).toHaveLength(starts);
  }, 240_000);
});
