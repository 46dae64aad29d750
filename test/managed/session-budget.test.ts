import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * Session budgets (the SDK's `budget: {type: "limit", max_list_cost}`): the list cost accrues from
 * each model answer's usage at the card's list price; at the ceiling the loop issues no more model
 * requests and the turn ends `budget_reached` after a `session.usage`.
 */

const TOOLSET = { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } };
/** One cent per token, in and out: a call of 30 + 20 tokens costs 50 cents. */
const PRICE = { input_per_mtok: '1000000', output_per_mtok: '1000000' };
const USAGE = { input_tokens: 30, output_tokens: 20 };
const budget = (cents: string) => ({ type: 'limit', max_list_cost: { amount: cents, currency: 'USD' } });

describe.each(testStores)('sessions: budgets and termination (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let priced: { agentId: string; environmentId: string };
  let unpriced: { agentId: string; environmentId: string };

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    const card = await f.alice.req('POST', '/v1/model_cards', { model_id: 'priced', provider: 'ant', model: 'dev-model', base_url: model.anthropicBaseUrl, api_key: 'sk-dev-1234', list_price: PRICE });
    expect(card.status, JSON.stringify(card.body)).toBe(200);
    expect(card.body.list_price).toEqual({ currency: 'USD', ...PRICE, cache_read_per_mtok: '1000000', cache_write_per_mtok: '1000000' });
    priced = await setUpAgent(f.alice, model, { modelId: 'priced', tools: [TOOLSET] });
    unpriced = await setUpAgent(f.alice, model, { tools: [TOOLSET] });
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('stops issuing model requests at the budget: session.usage then idle budget_reached; raising it lets the session go on', async () => {
    model.script([
      { toolCalls: [{ name: 'glob', input: { pattern: '*' } }], usage: USAGE },
      { toolCalls: [{ name: 'glob', input: { pattern: '*' } }], usage: USAGE },
      { text: 'over budget: never asked', usage: USAGE },
    ]);
    const s = await f.sdk.beta.sessions.create({ agent: priced.agentId, environment_id: priced.environmentId, budget: budget('100') } as any);
    expect(s.budget).toEqual(budget('100'));
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
    const events = await collectSdk(stream);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'budget_reached' } });
    const usage = events.at(-2);
    expect(usage).toMatchObject({ type: 'session.usage', usage: { input_tokens: 60, output_tokens: 40, list_cost: { amount: '100', currency: 'USD' } }, budget: budget('100') });
    // Both tool rounds ran; the third model request was never made.
    expect(events.filter((e) => e.type === 'agent.tool_result')).toHaveLength(2);
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(2);
    const got = await f.sdk.beta.sessions.retrieve(s.id);
    expect(got).toMatchObject({ status: 'idle', budget: budget('100'), usage: { list_cost: { amount: '100', currency: 'USD' } } });

    // A new message at the ceiling stops at once.
    const again = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'more?' }] }] });
    expect((await collectSdk(again)).at(-1).stop_reason).toEqual({ type: 'budget_reached' });
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(2);

    // Lowering to what was spent is refused; raising it works and the session goes on.
    const low = await f.sdk.beta.sessions.update(s.id, { budget: budget('100') } as any).catch((e: any) => e);
    expect(low.status).toBe(400);
    expect(low.errorCode ?? low.error?.error?.details?.error_code).toBe('budget_not_raised');
    const raised = await f.sdk.beta.sessions.update(s.id, { budget: budget('200') } as any);
    expect(raised.budget).toEqual(budget('200'));
    const third = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'now' }] }] });
    const rest = await collectSdk(third);
    expect(rest.at(-1).stop_reason).toEqual({ type: 'end_turn' });
    expect(rest.find((e) => e.type === 'agent.message').content[0].text).toBe('over budget: never asked');
    expect((await f.sdk.beta.sessions.retrieve(s.id)).usage).toMatchObject({ list_cost: { amount: '150', currency: 'USD' } });

    // Removed, a budget cannot come back.
    expect((await f.sdk.beta.sessions.update(s.id, { budget: null } as any)).budget).toBeNull();
    const back = await f.alice.req('POST', `/v1/sessions/${s.id}`, { budget: budget('500') });
    expectManagedError(back, 400, 'invalid_request_error', /only be set when a session is created/);
    expect(back.body.error.details).toEqual({ error_code: 'budget_create_only' });
  });

  it('refuses budgets it cannot enforce or read: a model without a list price, bad amounts, another currency, adding one later', async () => {
    const none = await f.alice.req('POST', '/v1/sessions', { agent: unpriced.agentId, environment_id: unpriced.environmentId, budget: budget('100') });
    expectManagedError(none, 400, 'invalid_request_error', /no list price/);
    expect(none.body.error.details).toEqual({ error_code: 'model_not_budgetable' });
    for (const bad of [budget('1.5'), budget('-1'), { type: 'limit', max_list_cost: { amount: '100', currency: 'EUR' } }, { type: 'cap', max_list_cost: { amount: '1', currency: 'USD' } }]) {
      const r = await f.alice.req('POST', '/v1/sessions', { agent: priced.agentId, environment_id: priced.environmentId, budget: bad });
      expectManagedError(r, 400, 'invalid_request_error');
    }
    const plain = await f.sdk.beta.sessions.create({ agent: priced.agentId, environment_id: priced.environmentId });
    expect(plain.budget).toBeNull();
    const later = await f.alice.req('POST', `/v1/sessions/${plain.id}`, { budget: budget('100') });
    expect(later.body.error.details).toEqual({ error_code: 'budget_create_only' });
    // A card's list price is checked too, and can be cleared.
    const cards = await f.alice.req('GET', '/v1/model_cards?limit=100');
    const card = cards.body.data.find((c: any) => c.model_id === 'priced');
    expectManagedError(await f.alice.req('POST', `/v1/model_cards/${card.id}`, { list_price: { input_per_mtok: 'cheap', output_per_mtok: '1' } }), 400, 'invalid_request_error');
    const cleared = await f.alice.req('POST', '/v1/model_cards', {
      model_id: 'priced2',
      provider: 'ant',
      model: 'dev-model',
      base_url: model.anthropicBaseUrl,
      api_key: 'sk-dev-1234',
      list_price: PRICE,
    });
    expect((await f.alice.req('POST', `/v1/model_cards/${cleared.body.id}`, { list_price: null })).body.list_price).toBeNull();
  });

  it('an unrecoverable error terminates the session: POST /messages streams session.status_terminated and closes', async () => {
    model.script([{ error: { status: 400, message: 'messages: invalid history' } }]);
    const s = await f.sdk.beta.sessions.create({ agent: priced.agentId, environment_id: priced.environmentId });
    const res = await fetch(`${f.server.url}/v1/sessions/${s.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.aliceToken}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: 'hi' }),
    });
    expect(res.status).toBe(200);
    // The body ends by itself (a stream left open would time the test out).
    const frames = (await res.text()).split('\n\n').filter((x) => x.includes('event:'));
    const names = frames.map((fr) => /event: (\S+)/.exec(fr)![1]);
    expect(names.at(-1)).toBe('session.status_terminated');
    expect(names).not.toContain('session.status_idle');
    const error = JSON.parse(/data: (.*)/.exec(frames[names.indexOf('session.error')])![1]);
    expect(error.error).toMatchObject({ type: 'model_request_failed_error', retry_status: { type: 'terminal' } });
    expect((await f.sdk.beta.sessions.retrieve(s.id)).status).toBe('terminated');
  });
});
