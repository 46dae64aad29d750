import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, dataOf, isIdle, openStream, readFrames, setUpAgent, waitIdle } from './session-harness.js';

const WEATHER = { type: 'custom', name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

describe.each(testStores)('sessions (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let agentId: string;
  let environmentId: string;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1', env: { AGENTRY_RUNTIME_RETRY_BASE_MS: '20', AGENTRY_SSE_HEARTBEAT_MS: '300' } });
    ({ agentId, environmentId } = await setUpAgent(f.alice, model, { tools: [WEATHER] }));
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('creates, retrieves and lists a session with the SDK; it starts idle with zero usage', async () => {
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId, title: 'first', metadata: { team: 'a' } });
    expect(s).toMatchObject({ type: 'session', status: 'idle', title: 'first', environment_id: environmentId, metadata: { team: 'a' }, vault_ids: [], archived_at: null });
    expect(s.agent).toMatchObject({ type: 'agent', id: agentId, version: 1, name: 'helper', system: 'You are terse.' });
    expect(s.usage).toMatchObject({ input_tokens: 0, output_tokens: 0 });
    expect(s.stats).toMatchObject({ active_seconds: 0 });
    const got = await f.sdk.beta.sessions.retrieve(s.id);
    expect(got.id).toBe(s.id);
    const pinned = await f.sdk.beta.sessions.create({ agent: { type: 'agent', id: agentId, version: 1 }, environment_id: environmentId });
    const ids: string[] = [];
    for await (const x of f.sdk.beta.sessions.list({ limit: 1 })) ids.push(x.id);
    expect(ids.slice(0, 2)).toEqual([pinned.id, s.id]);
    const idle = await f.sdk.beta.sessions.list({ statuses: ['idle'], agent_id: agentId, order: 'asc' } as any);
    expect(idle.data[0].id).toBe(s.id);
    const running = await f.alice.req('GET', `/v1/sessions?status=running&agent_id=${agentId}`);
    expect(running.body.data).toEqual([]);
    const byCursor = await f.alice.req('GET', '/v1/sessions?limit=1');
    const next = await f.alice.req('GET', `/v1/sessions?limit=1&cursor=${byCursor.body.next_page}`);
    expect(next.body.data[0].id).toBe(s.id);
  });

  it('runs a turn: the SDK streams running → model span → deltas → agent.message → idle end_turn, and the history matches', async () => {
    model.script([{ thinking: 'The user greets me.', text: ['Hello', ' there', '!'], usage: { input_tokens: 12, output_tokens: 3 } }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id, { event_deltas: ['agent.message'] } as any);
    const sent = await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'Hi' }] }] });
    expect(sent.data).toHaveLength(1);
    expect(sent.data![0]).toMatchObject({ type: 'user.message', content: [{ type: 'text', text: 'Hi' }] });
    expect(sent.data![0].id).toMatch(/^sevt_/);
    const events = await collectSdk(stream);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['user.message', 'session.status_running']);
    expect(types).toContain('event_start');
    const start = types.indexOf('span.model_request_start');
    const msg = types.indexOf('agent.message');
    expect(start).toBeGreaterThan(0);
    expect(types.indexOf('event_delta')).toBeGreaterThan(start);
    expect(msg).toBeGreaterThan(types.lastIndexOf('event_delta'));
    expect(types.indexOf('span.model_request_end')).toBeGreaterThan(msg);
    // The model thought first: a progress signal without the thought, just before the message.
    expect(types[msg - 1]).toBe('agent.thinking');
    expect(Object.keys(events[msg - 1]).sort()).toEqual(['id', 'processed_at', 'type']);
    expect(types.at(-1)).toBe('session.status_idle');
    const deltas = events
      .filter((e) => e.type === 'event_delta')
      .map((e) => e.delta.content.text)
      .join('');
    expect(deltas).toBe('Hello there!');
    const message = events[msg];
    expect(message.content).toEqual([{ type: 'text', text: 'Hello there!' }]);
    expect(events.find((e) => e.type === 'event_start').event).toEqual({ id: message.id, type: 'agent.message' });
    expect(events.at(-1).stop_reason).toEqual({ type: 'end_turn' });
    expect(events.find((e) => e.type === 'span.model_request_end')).toMatchObject({ is_error: false, model_usage: { input_tokens: 12, output_tokens: 3 } });
    // The model saw the system prompt and the user's message, with the card's key.
    const req = model.requests.find((r) => r.path === '/v1/messages')!;
    expect(req.body).toMatchObject({ model: 'dev-model', system: 'You are terse.', stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] });
    // History: the same events, persisted in order, without the previews; the user message is processed.
    const history: any[] = [];
    for await (const e of f.sdk.beta.sessions.events.list(s.id, { limit: 2 })) history.push(e);
    expect(history.map((e) => e.type)).toEqual(types.filter((t) => t !== 'event_start' && t !== 'event_delta'));
    expect(history[0].processed_at).toEqual(expect.any(String));
    const after = await f.sdk.beta.sessions.retrieve(s.id);
    expect(after.status).toBe('idle');
    expect(after.usage).toMatchObject({ input_tokens: 12, output_tokens: 3 });
    const log = await f.alice.req('GET', `/v1/sessions/${s.id}/log`);
    expect(log.body.map((e: any) => e.id)).toEqual(history.map((e) => e.id));
  });

  it('stops for a custom tool (requires_action) and resumes with user.custom_tool_result', async () => {
    model.script([{ toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' } }] }, { text: 'It is 22°C in Oslo.' }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'Weather in Oslo?' }] }] });
    const first = await collectSdk(stream, true);
    const use = first.find((e) => e.type === 'agent.custom_tool_use');
    expect(use, JSON.stringify(first)).toMatchObject({ name: 'get_weather', input: { city: 'Oslo' } });
    expect(first.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'requires_action', event_ids: [use.id] } });
    expect((await f.sdk.beta.sessions.retrieve(s.id)).status).toBe('idle');
    // An answer to a tool call that does not exist is refused, and changes nothing.
    expectManagedError(
      await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_nope', content: [{ type: 'text', text: 'x' }] }] }),
      400,
      'invalid_request_error',
      /sevt_nope is not a agent.custom_tool_use event/,
    );
    const second = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: '22°C' }] }] });
    const rest = await collectSdk(second);
    expect(rest.find((e) => e.type === 'agent.message').content[0].text).toBe('It is 22°C in Oslo.');
    expect(rest.at(-1).stop_reason).toEqual({ type: 'end_turn' });
    const req = model.requests.filter((r) => r.path === '/v1/messages')[1].body as any;
    expect(req.tools).toEqual([{ name: 'get_weather', description: 'The weather in a city', input_schema: WEATHER.input_schema }]);
    expect(req.messages.at(-2)).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: use.id, name: 'get_weather', input: { city: 'Oslo' } }] });
    expect(req.messages.at(-1)).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, is_error: false, content: [{ type: 'text', text: '22°C' }] }] });
    // Answering twice is a conflict.
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id }] }), 409, 'conflict_error');
  });

  it('streams over SSE with event: and id: on every frame, replays with Last-Event-ID and ?replay=1, and sends pings', async () => {
    model.script([{ text: 'one' }]);
    const s = (await f.alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId })).body;
    const live = await openStream(f.server.url, f.aliceToken, `/v1/sessions/${s.id}/events`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sent = await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'hi' }] });
    expect(sent.status).toBe(200);
    expect(sent.body.data[0]).toMatchObject({ type: 'user.message', content: [{ type: 'text', text: 'hi' }], processed_at: null });
    const frames = await readFrames(live, (fr) => fr.some(isIdle));
    const events = frames.filter((fr) => fr.event !== null && fr.event !== 'ping');
    for (const fr of events) {
      expect(fr.id).toMatch(/^\d+$/);
      expect(JSON.parse(fr.data).type).toBe(fr.event);
    }
    // Live from the moment it opened: the user message (sent after) is there, nothing earlier.
    expect(JSON.parse(events[0].data).type).toBe('user.message');
    const ids = events.map((fr) => Number(fr.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Reconnect after the third frame: exactly the rest, nothing twice.
    const resumed = await openStream(f.server.url, f.aliceToken, `/v1/sessions/${s.id}/events/stream`, { 'last-event-id': String(ids[2]) });
    const again = await readFrames(resumed, (fr) => fr.some(isIdle));
    expect(again.filter((fr) => fr.event !== 'ping' && fr.event !== null).map((fr) => Number(fr.id))).toEqual(ids.slice(3));
    const replay = await openStream(f.server.url, f.aliceToken, `/v1/sessions/${s.id}/events/stream?replay=1`);
    const all = await readFrames(replay, (fr) => fr.some(isIdle));
    expect(all.filter((fr) => fr.event !== 'ping' && fr.event !== null).map((fr) => Number(fr.id))).toEqual(ids);
    // An idle stream gets heartbeats (every 300 ms on this test server; 15 s by default).
    const quiet = await openStream(f.server.url, f.aliceToken, `/v1/sessions/${s.id}/events/stream`);
    const pings = await readFrames(quiet, (fr) => fr.filter((x) => x.event === 'ping').length >= 2);
    expect(pings[0].data).toBe('');
    expect(pings.filter((x) => x.event === 'ping')[0]).toMatchObject({ event: 'ping', id: String(ids.at(-1)) });
  });

  it('reconnects as the SDK clients do: a new stream, then the history, de-duplicated by event id, misses nothing', async () => {
    model.script([{ text: Array.from({ length: 40 }, (_, i) => `p${i} `), chunkDelayMs: 20 }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId });
    const first = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'talk' }] }] });
    const seen = new Map<string, any>();
    for await (const ev of first as AsyncIterable<any>) {
      seen.set(ev.id, ev);
      if (ev.type === 'span.model_request_start') break; // the connection drops mid-turn
    }
    const second = await f.sdk.beta.sessions.events.stream(s.id);
    for await (const h of f.sdk.beta.sessions.events.list(s.id, { limit: 1000 })) seen.set(h.id, h);
    for await (const ev of second as AsyncIterable<any>) {
      seen.set(ev.id, ev);
      if (ev.type === 'session.status_idle') break;
    }
    const history: any[] = [];
    for await (const h of f.sdk.beta.sessions.events.list(s.id, { limit: 1000 })) history.push(h);
    expect([...seen.keys()].sort()).toEqual(history.map((h) => h.id).sort());
    expect(history.at(-1).type).toBe('session.status_idle');
    expect(history.filter((h) => h.type === 'agent.message')).toHaveLength(1);
  });

  it('POST /messages sends a user turn and streams it (with chunks) until idle, then closes', async () => {
    model.script([{ text: ['Sure', ', done.'] }]);
    const s = (await f.alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId })).body;
    const res = await fetch(`${f.server.url}/v1/sessions/${s.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'Do it' }),
    });
    expect(res.status).toBe(200);
    const frames = await readFrames(res, () => false);
    const types = frames.filter((x) => x.event !== null).map((x) => x.event);
    expect(types[0]).toBe('user.message');
    expect(types).toContain('agent.message_chunk');
    expect(types.at(-1)).toBe('session.status_idle');
    expect(dataOf(frames).find((e) => e.type === 'agent.message').content[0].text).toBe('Sure, done.');
  });

  it('talks to an OpenAI-compatible card (base_url with or without /v1) through chat/completions', async () => {
    for (const baseUrl of [model.openaiBaseUrl, model.url]) {
      model.reset();
      model.script([{ toolCalls: [{ name: 'get_weather', input: { city: 'Bergen' } }] }, { text: 'Rain.', usage: { input_tokens: 7, output_tokens: 2 } }]);
      const id = `oai-${baseUrl === model.url ? 'bare' : 'v1'}`;
      const a = await setUpAgent(f.alice, model, { provider: 'oai-compatible', modelId: id, baseUrl, tools: [WEATHER] });
      const s = await f.sdk.beta.sessions.create({ agent: a.agentId, environment_id: a.environmentId });
      const stream = await f.sdk.beta.sessions.events.stream(s.id);
      await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'Weather?' }] }] });
      const first = await collectSdk(stream, true);
      const use = first.find((e) => e.type === 'agent.custom_tool_use');
      expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Bergen' } });
      const stream2 = await f.sdk.beta.sessions.events.stream(s.id);
      await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'rain' }] }] });
      const rest = await collectSdk(stream2);
      expect(rest.find((e) => e.type === 'agent.message').content).toEqual([{ type: 'text', text: 'Rain.' }]);
      const reqs = model.requests.filter((r) => r.path === '/v1/chat/completions');
      expect(reqs).toHaveLength(2);
      const body = reqs[1].body as any;
      expect(body.messages[0]).toEqual({ role: 'system', content: 'You are terse.' });
      expect(body.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: use.id, content: 'rain' });
      expect(body.tools[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      expect(rest.find((e) => e.type === 'span.model_request_end').model_usage).toMatchObject({ input_tokens: 7, output_tokens: 2 });
      const spans = [...first, ...rest].filter((e) => e.type === 'span.model_request_end').map((e) => e.model_usage);
      expect((await f.sdk.beta.sessions.retrieve(s.id)).usage).toMatchObject({ input_tokens: spans[0].input_tokens + 7, output_tokens: spans[0].output_tokens + 2 });
    }
  });

  it('retries 429 and overloaded answers with session.error retrying, and gives up with retries_exhausted', async () => {
    model.script([{ error: { status: 429, retryAfterMs: 10 } }, { error: { status: 529 } }, { text: 'finally' }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
    const events = await collectSdk(stream);
    const errors = events.filter((e) => e.type === 'session.error').map((e) => e.error);
    expect(errors).toEqual([
      expect.objectContaining({ type: 'model_rate_limited_error', retry_status: { type: 'retrying' } }),
      expect.objectContaining({ type: 'model_overloaded_error', retry_status: { type: 'retrying' } }),
    ]);
    expect(events.filter((e) => e.type === 'session.status_rescheduled')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'span.model_request_end').map((e) => e.is_error)).toEqual([true, true, false]);
    expect(events.find((e) => e.type === 'agent.message').content[0].text).toBe('finally');
    expect(events.at(-1).stop_reason).toEqual({ type: 'end_turn' });

    model.script([0, 1, 2, 3].map(() => ({ error: { status: 500 } })));
    const stream2 = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'again' }] }] });
    const failed = await collectSdk(stream2);
    const statuses = failed.filter((e) => e.type === 'session.error').map((e) => e.error.retry_status.type);
    expect(statuses).toEqual(['retrying', 'retrying', 'retrying', 'exhausted']);
    expect(failed.at(-1).stop_reason).toEqual({ type: 'retries_exhausted' });
    // A bad key (401) is not retried: the turn ends, the session stays usable.
    model.script([{ error: { status: 401, message: 'bad key' } }]);
    const stream3 = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'third' }] }] });
    const unauthorized = await collectSdk(stream3);
    expect(unauthorized.filter((e) => e.type === 'session.error').map((e) => e.error.retry_status.type)).toEqual(['exhausted']);
    expect(unauthorized.at(-1).stop_reason).toEqual({ type: 'retries_exhausted' });
    // A request refused as malformed (400) would be refused again with the same history: terminal, the session terminates.
    model.script([{ error: { status: 400, message: 'bad request' } }]);
    const stream4 = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'fourth' }] }] });
    const refused = await collectSdk(stream4);
    expect(refused.filter((e) => e.type === 'session.error').map((e) => e.error.retry_status.type)).toEqual(['terminal']);
    expect(refused.at(-1).type).toBe('session.status_terminated');
    expect(refused.some((e) => e.type === 'session.status_idle')).toBe(false);
    expect((await f.sdk.beta.sessions.retrieve(s.id)).status).toBe('terminated');
    const after = await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'more' }] }] });
    expectManagedError(after as any, 400, 'invalid_request_error', /terminated/);
    // A terminated session can be deleted.
    expect((await f.alice.req('DELETE', `/v1/sessions/${s.id}`)).status).toBe(200);
  });

  it('interrupts a running turn (user.interrupt and /cancel); delete and archive are refused while it runs', async () => {
    model.script([{ text: Array.from({ length: 200 }, (_, i) => `w${i} `), chunkDelayMs: 50 }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id, { event_deltas: ['agent.message'] } as any);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'long' }] }] });
    const seen: any[] = [];
    for await (const ev of stream) {
      seen.push(ev);
      if (ev.type === 'event_delta') break;
    }
    expect((await f.sdk.beta.sessions.retrieve(s.id)).status).toBe('running');
    expectManagedError(await f.alice.req('DELETE', `/v1/sessions/${s.id}`), 409, 'conflict_error', /running/);
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/archive`), 409, 'conflict_error');
    const after = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt' }] });
    const rest = await collectSdk(after);
    expect(rest.at(-1).stop_reason).toEqual({ type: 'end_turn' });
    expect(rest.find((e) => e.type === 'span.model_request_end')?.is_error).toBe(true);
    const idle = await waitIdle(f.alice, s.id);
    expect(idle.status).toBe('idle');
    // The cancel route is the same interrupt.
    model.script([{ text: Array.from({ length: 200 }, (_, i) => `v${i} `), chunkDelayMs: 50 }]);
    await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'again' }] });
    const cancelled = await f.alice.req('POST', `/v1/sessions/${s.id}/cancel`);
    expect(cancelled.status).toBe(200);
    await waitIdle(f.alice, s.id);
    const del = await f.sdk.beta.sessions.delete(s.id);
    expect(del).toMatchObject({ id: s.id, type: 'session_deleted' });
    expectManagedError(await f.alice.req('GET', `/v1/sessions/${s.id}`), 404, 'not_found_error');
  });

  it('runs built-in tools in the session workspace: always_allow at once, always_ask after user.tool_confirmation', async () => {
    const toolset = {
      type: 'agent_toolset_20260401',
      default_config: { enabled: true, permission_policy: { type: 'always_allow' } },
      configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }],
    };
    const a = await setUpAgent(f.alice, model, { tools: [toolset] });
    model.script([
      { toolCalls: [{ name: 'write', input: { file_path: 'note.txt', content: 'hello from the workspace' } }] },
      { toolCalls: [{ name: 'bash', input: { command: 'cat note.txt' } }] },
      { text: 'It says hello.' },
    ]);
    const s = await f.sdk.beta.sessions.create({ agent: a.agentId, environment_id: a.environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'Write and read a note' }] }] });
    const first = await collectSdk(stream, true);
    const write = first.find((e) => e.type === 'agent.tool_use' && e.name === 'write');
    expect(write.evaluated_permission).toBe('allow');
    expect(first.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === write.id)).toMatchObject({ is_error: false });
    const bash = first.find((e) => e.type === 'agent.tool_use' && e.name === 'bash');
    expect(bash.evaluated_permission).toBe('ask');
    expect(first.at(-1)).toMatchObject({ stop_reason: { type: 'requires_action', event_ids: [bash.id] } });
    const tools = (model.requests.find((r) => r.path === '/v1/messages')!.body as any).tools.map((t: any) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch']));
    const second = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: bash.id, result: 'allow' }] });
    const rest = await collectSdk(second);
    const result = rest.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === bash.id);
    // bash runs under bubblewrap (installed in CI, see .ci/run) in the session's workspace, where write put the note.
    expect(result.is_error).toBe(false);
    expect(JSON.stringify(result.content)).toContain('hello from the workspace');
    expect(rest.at(-1).stop_reason).toEqual({ type: 'end_turn' });
  });

  it('refuses bad input: unknown event types, another account, huge messages, a missing agent or environment', async () => {
    const s = (await f.alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId })).body;
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'agent.message', content: [] }] }), 400, 'invalid_request_error', /not an event a client may send/);
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message' }] }), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [] }), 400, 'invalid_request_error');
    expectManagedError(
      await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.tool_confirmation', tool_use_id: 'sevt_x', result: 'allow' }] }),
      400,
      'invalid_request_error',
    );
    expectManagedError(
      await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'x'.repeat(1_000_001) }] }] }),
      400,
      'invalid_request_error',
      /larger than/,
    );
    // Nothing of the refused requests was written.
    expect((await f.alice.req('GET', `/v1/sessions/${s.id}/events`)).body.data).toEqual([]);
    // Bob sees nothing of Alice's session, and cannot write to it.
    for (const [method, path, body] of [
      ['GET', `/v1/sessions/${s.id}`],
      ['GET', `/v1/sessions/${s.id}/events`],
      ['GET', `/v1/sessions/${s.id}/log`],
      ['GET', `/v1/sessions/${s.id}/events/stream`],
      ['POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'hi' }] }],
      ['POST', `/v1/sessions/${s.id}`, { title: 'mine' }],
      ['POST', `/v1/sessions/${s.id}/cancel`],
      ['DELETE', `/v1/sessions/${s.id}`],
    ] as const) {
      expectManagedError(await f.bob.req(method, path, body), 404, 'not_found_error');
    }
    expect((await f.bob.req('GET', '/v1/sessions')).body.data).toEqual([]);
    expectManagedError(await f.bob.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId }), 400, 'invalid_request_error', /agent .* not found/);
    expectManagedError(await f.alice.req('POST', '/v1/sessions', { agent: 'agent_missing', environment_id: environmentId }), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: 'env_missing' }), 400, 'invalid_request_error', /environment/);
    expectManagedError(await f.alice.req('POST', '/v1/sessions', { agent: { type: 'agent', id: agentId, version: 9 }, environment_id: environmentId }), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('GET', '/v1/sessions?statuses[]=sleeping'), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('GET', `/v1/sessions/${s.id}/events/stream`, undefined, { 'last-event-id': 'abc', accept: 'text/event-stream' }), 400, 'invalid_request_error');
    const noAuth = await fetch(`${f.server.url}/v1/sessions`);
    expect(noAuth.status).toBe(401);
  });

  it('updates title and metadata (session.updated), archives, and refuses events to an archived session', async () => {
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId, metadata: { a: '1' } });
    const u = await f.sdk.beta.sessions.update(s.id, { title: 'renamed', metadata: { a: null, b: '2' } });
    expect(u).toMatchObject({ title: 'renamed', metadata: { b: '2' } });
    const ev = await f.alice.req('GET', `/v1/sessions/${s.id}/events?types[]=session.updated`);
    expect(ev.body.data).toHaveLength(1);
    const patched = await f.alice.req('PATCH', `/v1/sessions/${s.id}`, { title: 'again' });
    expect(patched.body.title).toBe('again');
    const archived = await f.sdk.beta.sessions.archive(s.id);
    expect(archived.archived_at).toEqual(expect.any(String));
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'hi' }] }), 400, 'invalid_request_error', /archived/);
    const list = await f.alice.req('GET', '/v1/sessions?limit=100');
    expect(list.body.data.map((x: any) => x.id)).not.toContain(s.id);
    const all = await f.alice.req('GET', '/v1/sessions?limit=100&include_archived=true');
    expect(all.body.data.map((x: any) => x.id)).toContain(s.id);
  });

  it('says so when the agent names no model card', async () => {
    const env = (await f.alice.req('POST', '/v1/environments', { name: 'nocard' })).body;
    const agent = (await f.alice.req('POST', '/v1/agents', { name: 'nocard', model: 'claude-none', environment_id: env.id })).body;
    const s = await f.sdk.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    const events = await collectSdk(stream);
    expect(events.find((e) => e.type === 'session.error').error).toMatchObject({
      type: 'model_request_failed_error',
      message: expect.stringMatching(/No model card with model_id 'claude-none'/),
      retry_status: { type: 'exhausted' },
    });
    expect(events.at(-1).stop_reason).toEqual({ type: 'retries_exhausted' });
  });
});

describe('sessions: streams that never read', () => {
  it('a client that never reads its stream holds back nothing: the turn ends and other readers get every event', async () => {
    const model = await startTestModel();
    const f = await startManagedFixture('sqlite', { egressAllow: '127.0.0.1' });
    try {
      const { agentId, environmentId } = await setUpAgent(f.alice, model);
      const s = (await f.alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId })).body;
      // A raw socket that asks for the stream (with previews and chunks) and then never reads a byte.
      const { connect } = await import('node:net');
      const url = new URL(f.server.url);
      const sock = connect({ host: url.hostname, port: Number(url.port) });
      sock.pause();
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(
        `GET /v1/sessions/${s.id}/events/stream?include=chunks&event_deltas[]=agent.message HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${f.aliceToken}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      const big = Array.from({ length: 3000 }, (_, i) => `chunk ${i} ${'x'.repeat(1000)} `);
      model.script([{ text: big }]);
      const reader = await openStream(f.server.url, f.aliceToken, `/v1/sessions/${s.id}/events/stream`);
      await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'a lot please' }] });
      const frames = await readFrames(reader, (fr) => fr.some(isIdle), 60_000);
      const message = dataOf(frames).find((e) => e.type === 'agent.message');
      // As much as the model gave within max_tokens (the dev model stops there, as providers do).
      expect(message.content[0].text.length).toBeGreaterThan(30_000);
      expect(big.join('').startsWith(message.content[0].text)).toBe(true);
      expect((await waitIdle(f.alice, s.id)).status).toBe('idle');
      sock.destroy();
    } finally {
      await f.server.close(1000);
      await model.close();
    }
  }, 120_000);
});
