import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * Multi-agent threads (the SDK's `sessions.threads.*`): a coordinator whose `multiagent` roster
 * names another agent gets a `call_agent_<name>` tool; a call runs that agent as a thread of the
 * session (its own conversation, events tagged with session_thread_id), and its reply comes back
 * as the tool result. Threads are listed, retrieved, archived, paged and streamed.
 */

const TOOLSET = { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } };
const text = (t: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text: t }] });
const asked = (model: DevModel) => model.requests.filter((r) => r.path === '/v1/messages').map((r) => r.body as any);
const toolNames = (body: any): string[] => (body.tools ?? []).map((t: any) => t.name);

describe.each(testStores)('sessions: multi-agent threads (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let coordinator: string;
  let environmentId: string;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    const base = await setUpAgent(f.alice, model);
    environmentId = base.environmentId;
    const researcher = await f.sdk.beta.agents.create({ name: 'Researcher', model: 'dev-ant', system: 'You research.', tools: [TOOLSET] } as any);
    const lead = await f.alice.req('POST', '/v1/agents', { name: 'lead', model: 'dev-ant', system: 'You coordinate.', multiagent: { type: 'coordinator', agents: [researcher.id] } });
    expect(lead.status, JSON.stringify(lead.body)).toBe(200);
    coordinator = lead.body.id;
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('runs a delegated agent as a thread: tagged events, reply as tool result, list/retrieve/page/stream/archive', async () => {
    model.script([
      { toolCalls: [{ name: 'call_agent_researcher', input: { message: 'What is six times seven?' } }] },
      { toolCalls: [{ name: 'glob', input: { pattern: '*' } }] },
      { text: '42' },
      { text: 'The researcher says 42.' },
    ]);
    const s = await f.sdk.beta.sessions.create({ agent: coordinator, environment_id: environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [text('Ask the researcher')] });
    const events = await collectSdk(stream);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });

    // The coordinator was offered the delegation tool; the thread ran the researcher's own prompt and tools, without it.
    const [first, inThread, inThread2, last] = asked(model);
    expect(toolNames(first)).toContain('call_agent_researcher');
    expect(inThread.system).toBe('You research.');
    expect(toolNames(inThread)).toContain('glob');
    expect(toolNames(inThread)).not.toContain('call_agent_researcher');
    expect(inThread.messages[0]).toMatchObject({ role: 'user', content: [{ type: 'text', text: 'What is six times seven?' }] });
    expect(inThread2.messages.at(-1).content[0]).toMatchObject({ type: 'tool_result' });
    const lastResult = last.messages.at(-1).content.find((b: any) => b.type === 'tool_result');
    expect(lastResult.content).toEqual([{ type: 'text', text: '42' }]);

    // The session stream carries the thread's life, the thread's events tagged with its id.
    const created = events.find((e) => e.type === 'session.thread_created');
    const tid = created.session_thread_id as string;
    expect(created.agent_name).toBe('Researcher');
    const types = events.map((e) => e.type);
    for (const t of ['agent.thread_message_sent', 'session.thread_status_running', 'session.thread_status_idle', 'agent.thread_message_received', 'agent.tool_result']) expect(types).toContain(t);
    expect(events.find((e) => e.type === 'agent.thread_message_sent')).toMatchObject({ to_session_thread_id: tid, content: [{ type: 'text', text: 'What is six times seven?' }] });
    expect(events.find((e) => e.type === 'agent.message' && e.session_thread_id === tid).content[0].text).toBe('42');
    expect(events.find((e) => e.type === 'agent.thread_message_received' && !e.session_thread_id)).toMatchObject({ from_session_thread_id: tid, content: [{ type: 'text', text: '42' }] });
    expect(events.filter((e) => e.type === 'agent.tool_use' && e.session_thread_id === tid).map((e) => e.name)).toEqual(['glob']);

    // Threads: the primary thread first, then the child, both idle; the child has its own usage.
    const threads: any[] = [];
    for await (const t of f.sdk.beta.sessions.threads.list(s.id, { limit: 1 })) threads.push(t);
    expect(threads.map((t) => t.parent_thread_id === null)).toEqual([true, false]);
    const [primary, child] = threads;
    expect(child).toMatchObject({ type: 'session_thread', id: tid, session_id: s.id, parent_thread_id: primary.id, status: 'idle', archived_at: null, agent: { name: 'Researcher', type: 'agent' } });
    expect(child.usage.output_tokens).toBeGreaterThan(0);
    expect(await f.sdk.beta.sessions.threads.retrieve(tid, { session_id: s.id })).toMatchObject({ id: tid, status: 'idle' });
    expect((await f.sdk.beta.sessions.threads.list(s.id, { statuses: ['running'] })).data).toEqual([]);

    // A thread's events page on their own; the primary thread's leave the thread's out.
    const mine: any[] = [];
    for await (const e of f.sdk.beta.sessions.threads.events.list(tid, { session_id: s.id, limit: 2 })) mine.push(e);
    expect(mine.length).toBeGreaterThan(4);
    expect(mine.every((e) => e.session_thread_id === tid)).toBe(true);
    expect(mine.map((e) => e.type)).toEqual(events.filter((e) => e.session_thread_id === tid).map((e) => e.type));
    const main = (await f.sdk.beta.sessions.threads.events.list(primary.id, { session_id: s.id, limit: 1000 })).data;
    expect(main.some((e: any) => e.session_thread_id)).toBe(false);
    expect(main.map((e: any) => e.type)).toContain('agent.tool_result');

    // A second call continues the same thread (its earlier conversation included); its stream shows only its events.
    let before = asked(model).length;
    model.script([{ toolCalls: [{ name: 'call_agent_researcher', input: { message: 'And plus one?' } }] }, { text: '43' }, { text: 'It is 43.' }]);
    const threadStream = await f.sdk.beta.sessions.threads.events.stream(tid, { session_id: s.id, event_deltas: ['agent.message'] });
    await f.sdk.beta.sessions.events.send(s.id, { events: [text('Again')] });
    const seen: any[] = [];
    for await (const e of threadStream as AsyncIterable<any>) {
      seen.push(e);
      if (e.type === 'session.thread_status_idle') break;
    }
    expect(seen.every((e) => e.session_thread_id === tid)).toBe(true);
    expect(seen.find((e) => e.type === 'agent.message').content[0].text).toBe('43');
    const message = seen.find((e) => e.type === 'agent.message');
    expect(
      seen
        .filter((e) => e.type === 'event_delta' && e.event_id === message.id)
        .map((e) => e.delta.content.text)
        .join(''),
    ).toBe('43');
    const again = asked(model)[before + 1];
    expect(again.messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    await waitIdle(f, s.id);

    // Archived, the thread stays readable; a new call starts a new thread.
    const archived = await f.sdk.beta.sessions.threads.archive(tid, { session_id: s.id });
    expect(archived.archived_at).not.toBeNull();
    before = asked(model).length;
    model.script([{ toolCalls: [{ name: 'call_agent_researcher', input: { message: 'Fresh start' } }] }, { text: 'ok' }, { text: 'done' }]);
    const third = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [text('Once more')] });
    await collectSdk(third);
    expect(asked(model)[before + 1].messages).toHaveLength(1);
    const all = (await f.sdk.beta.sessions.threads.list(s.id)).data;
    expect(all).toHaveLength(3);
    expect(all.filter((t) => t.archived_at === null && t.parent_thread_id !== null)).toHaveLength(1);
  }, 60_000);

  it('interrupts one thread; refuses unknown and archived threads and other accounts', async () => {
    model.script([{ toolCalls: [{ name: 'call_agent_researcher', input: { message: 'Take your time' } }] }, { text: 'never finished', delayMs: 30_000 }, { text: 'It was interrupted.' }]);
    const s = await f.sdk.beta.sessions.create({ agent: coordinator, environment_id: environmentId });
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [text('Go')] });
    let tid = '';
    const events: any[] = [];
    for await (const e of stream as AsyncIterable<any>) {
      events.push(e);
      if (e.type === 'span.model_request_start' && e.session_thread_id) {
        tid = e.session_thread_id;
        // Running: it cannot be archived; its interrupt stops it and the coordinator goes on.
        const busy = await f.alice.req('POST', `/v1/sessions/${s.id}/threads/${tid}/archive`);
        expectManagedError(busy, 409, 'conflict_error');
        await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt', session_thread_id: tid } as any] });
      }
      if (e.type === 'session.status_idle') break;
    }
    expect(events.find((e) => e.type === 'session.thread_status_idle')).toMatchObject({ session_thread_id: tid, stop_reason: { type: 'end_turn' } });
    expect(events.find((e) => e.type === 'agent.tool_result' && !e.session_thread_id)).toMatchObject({ is_error: true });
    expect(events.filter((e) => e.type === 'agent.message' && !e.session_thread_id).at(-1).content[0].text).toBe('It was interrupted.');
    expect(events.some((e) => e.type === 'agent.message' && e.session_thread_id)).toBe(false);

    // Unknown thread ids, the primary thread's archive, another account's session.
    expectManagedError(await f.alice.req('GET', `/v1/sessions/${s.id}/threads/sthr_nope`), 404, 'not_found_error');
    expectManagedError(await f.alice.req('GET', `/v1/sessions/${s.id}/threads/sthr_nope/events`), 404, 'not_found_error');
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/threads/sthr_nope/archive`), 404, 'not_found_error');
    const primary = (await f.sdk.beta.sessions.threads.list(s.id)).data[0];
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/threads/${primary.id}/archive`), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.interrupt', session_thread_id: 'sthr_nope' }] }), 400, 'invalid_request_error');
    for (const path of [`/v1/sessions/${s.id}/threads`, `/v1/sessions/${s.id}/threads/${tid}`, `/v1/sessions/${s.id}/threads/${tid}/events`]) {
      expectManagedError(await f.bob.req('GET', path), 404, 'not_found_error');
    }
    expectManagedError(await f.bob.req('POST', `/v1/sessions/${s.id}/threads/${tid}/archive`), 404, 'not_found_error');
    const bobStream = await fetch(`${f.server.url}/v1/sessions/${s.id}/threads/${tid}/stream`, { headers: { authorization: `Bearer ${f.bobToken}` } });
    expect(bobStream.status).toBe(404);
    await bobStream.body?.cancel();

    // A roster names live agents of the caller without a roster of their own (depth limit 1).
    const roster = (agents: unknown[]) => f.alice.req('POST', '/v1/agents', { name: 'bad-lead', model: 'dev-ant', multiagent: { type: 'coordinator', agents } });
    expectManagedError(await roster([coordinator]), 400, 'invalid_request_error', /one level deep/);
    expectManagedError(await roster(['agent_nope']), 400, 'invalid_request_error', /not found/);
    expectManagedError(await roster([]), 400, 'invalid_request_error');
    const bobs = await f.bob.req('POST', '/v1/agents', { name: 'bobs', model: 'dev-ant' });
    expectManagedError(await roster([bobs.body.id]), 400, 'invalid_request_error', /not found/);

    // An archived thread takes no more events.
    await f.sdk.beta.sessions.threads.archive(tid, { session_id: s.id });
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.interrupt', session_thread_id: tid }] }), 400, 'invalid_request_error', /archived/);

    // A session's own interrupt stops the running thread and the turn: nothing more is asked of the model.
    model.script([{ toolCalls: [{ name: 'call_agent_researcher', input: { message: 'Slowly' } }] }, { text: 'never', delayMs: 30_000 }, { text: 'not asked' }]);
    const asked0 = asked(model).length;
    const live = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [text('Once more')] });
    const seen: any[] = [];
    for await (const e of live as AsyncIterable<any>) {
      seen.push(e);
      if (e.type === 'span.model_request_start' && e.session_thread_id) await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt' }] });
      if (e.type === 'session.status_idle') break;
    }
    expect(seen.filter((e) => e.type === 'session.thread_status_idle')).toHaveLength(1);
    expect(seen.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    expect(asked(model).length - asked0).toBe(2);
  }, 60_000);
});

const waitIdle = async (f: ManagedFixture, id: string): Promise<void> => {
  const deadline = Date.now() + 20_000;
  while ((await f.sdk.beta.sessions.retrieve(id)).status !== 'idle') {
    if (Date.now() > deadline) throw new Error(`session ${id} did not go idle`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
