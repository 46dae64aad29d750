import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { sameAgentFromTwoProcesses, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { waitIdle } from './session-harness.js';

/**
 * Issue 19: an Alquimia AssistantConfig of an agentspace runs as a session
 * (`agent: {type: "agentspace", agentspace_id, assistant_id}`), its connector's `$secretRef` key
 * and its rendered system prompt reaching the provider; held agents, other accounts' agentspaces
 * and fields the runtime cannot express are refused.
 */

const KEY = 'sk-agentspace-secret-7781';

describe.each(testStores)('sessions: agentspace agents (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let envId: string;

  const spec = (id: string, profile: Record<string, unknown> = {}, connector: Record<string, unknown> = {}) =>
    exampleAgent(id, {
      response: {
        provider_id: 'alquimia',
        config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'dev-model', base_url: model.openaiBaseUrl, api_key: { $secretRef: 'LLM_KEY' }, ...connector } },
        profile: { system_prompt: 'You work for {{ params.company }}.', evaluation_strategy: { evaluation_strategy_id: 'one-shoot' }, ...profile },
      },
    });
  const run = (api = f.alice, assistantId = 'helper', agentspaceId = 'default') =>
    api.req('POST', '/v1/sessions', { agent: { type: 'agentspace', agentspace_id: agentspaceId, assistant_id: assistantId }, environment_id: envId });

  beforeAll(async () => {
    // The provider accepts only the agentspace's secret: a session that gets an answer used it.
    model = await startTestModel({ apiKey: KEY });
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    for (const [m, p, b] of [
      ['POST', '/registry/', { name: 'agents', namespace: 'local' }],
      ['POST', '/registry/secret', { secret: { key: 'LLM_KEY', scope: 'global' }, value: KEY }],
      ['POST', '/registry/parameter', { key: 'company', type: 'string', default: 'ACME' }],
      ['POST', '/registry/agent', spec('helper')],
      ['POST', '/registry/agent', spec('held')],
      ['PUT', '/registry/agent/hold/held', undefined],
      ['POST', '/registry/agent', spec('chatty', { prompt_clauses: { tone: 'warm' } }, { temperature: 0.3 })],
    ] as const) {
      const r = await f.alice.req(m, p, b);
      expect(r.status, `${m} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    }
    envId = (await f.alice.req('POST', '/v1/environments', { name: 'as-env' })).body.id;
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('runs the AssistantConfig: the $secretRef key and the rendered system prompt reach the provider; later runs share the agent', async () => {
    const s = await run();
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body.agent).toMatchObject({
      type: 'agent',
      version: 1,
      name: 'Helper',
      model: { id: 'agentspace:default:helper' },
      system: 'You work for ACME.',
      source: { type: 'agentspace', agentspace_id: 'default', assistant_id: 'helper' },
    });
    expect(JSON.stringify(s.body)).not.toContain(KEY);
    model.script([{ text: 'Hello from ACME.' }]);
    const sent = await f.alice.req('POST', `/v1/sessions/${s.body.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    expect(sent.status).toBe(200);
    await waitIdle(f.alice, s.body.id);
    const events = (await f.alice.req('GET', `/v1/sessions/${s.body.id}/events?limit=100`)).body.data;
    expect(events.find((e: any) => e.type === 'agent.message')?.content[0].text).toBe('Hello from ACME.');
    const chat = model.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(chat).toHaveLength(1);
    expect(chat[0].status).toBe(200);
    expect((chat[0].body as any).messages[0]).toEqual({ role: 'system', content: 'You work for ACME.' });
    // The card keeps the key server-side: only its last 4 characters show.
    const card = (await f.alice.req('GET', '/v1/model_cards?limit=100')).body.data.find((c: any) => c.model_id === 'agentspace:default:helper');
    expect(card).toMatchObject({ provider: 'oai-compatible', model: 'dev-model' });
    expect(JSON.stringify(card)).not.toContain(KEY);

    // The same config again: the same agent and version; a changed parameter: a new version of it.
    const probes = () => model.requests.filter((r) => r.path === '/v1/models').length;
    const probed = probes();
    const again = await run();
    expect(again.body.agent).toMatchObject({ id: s.body.agent.id, version: 1 });
    expect(probes()).toBe(probed); // the card is reused, not probed again
    await f.alice.req('POST', '/registry/parameter', { key: 'company', type: 'string', default: 'Initech' });
    const changed = await run();
    expect(changed.body.agent).toMatchObject({ id: s.body.agent.id, version: 2, system: 'You work for Initech.' });
    // A changed secret rotates the card, probed with the new key: one the provider refuses stops the run.
    await f.alice.req('POST', '/registry/secret', { secret: { key: 'LLM_KEY', scope: 'global' }, value: 'sk-wrong-0000' });
    const refused = await run();
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/capability probe failed.*key was refused/);
    expect(JSON.stringify(refused.body)).not.toContain('sk-wrong-0000');
    await f.alice.req('POST', '/registry/secret', { secret: { key: 'LLM_KEY', scope: 'global' }, value: KEY });
    expect((await run()).status).toBe(200);
  });

  it('maps evaluation_strategy.max_steps onto the loop: the turn stops after that many model requests', async () => {
    const stepper = spec('stepper', { evaluation_strategy: { evaluation_strategy_id: 'native', max_steps: 1, max_concurrent_tools: 2, tool_choice: 'auto' } });
    expect((await f.alice.req('POST', '/registry/agent', stepper)).status).toBeLessThan(300);
    const s = await run(f.alice, 'stepper');
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    // The model asks for a tool the agent does not have: without the cap the loop would ask the model again.
    model.script([{ toolCalls: [{ name: 'lookup', input: {} }] }, { text: 'never sent' }]);
    await f.alice.req('POST', `/v1/sessions/${s.body.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'look it up' }] }] });
    await waitIdle(f.alice, s.body.id);
    const events = (await f.alice.req('GET', `/v1/sessions/${s.body.id}/events?limit=100`)).body.data;
    expect(events.find((e: any) => e.type === 'session.error')?.error.message).toBe('The turn made 1 model requests and was stopped');
    expect(model.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it('concurrent first runs, on two processes of one store, share one agent (insert-or-read on the run record)', async () => {
    expect((await f.alice.req('POST', '/registry/agent', spec('burst'))).status).toBeLessThan(300);
    const id = await sameAgentFromTwoProcesses(f, 6, (alice) => run(alice, 'burst'));
    const live = (await f.alice.req('GET', '/v1/agents?limit=100')).body.data.filter((a: any) => a.metadata['agentry.source'] === 'agentspace:default/burst');
    expect(live.map((a: any) => a.id)).toEqual([id]);
  });

  it('refuses a held agent as resolve does, another account gets 404, and an inexpressible field is refused by name', async () => {
    const held = await run(f.alice, 'held');
    expect(held.status).toBe(409);
    expect(held.body.error.message).toBe("Agent 'held' is on hold: it serves no inference until it is unheld");
    const bob = await run(f.bob);
    expect(bob.status).toBe(404);
    expect(bob.body.error.message).toMatch(/Agentspace 'default' not found/);
    const chatty = await run(f.alice, 'chatty');
    expect(chatty.status).toBe(400);
    expect(JSON.stringify(chatty.body)).toContain('response.profile.prompt_clauses');
    expect(JSON.stringify(chatty.body)).toContain('response.config.connector.temperature');
    expect(JSON.stringify(chatty.body)).not.toContain(KEY);
    const extra = await f.alice.req('POST', '/v1/sessions', { agent: { type: 'agentspace', agentspace_id: 'default', assistant_id: 'helper', version: 2 }, environment_id: envId });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/unknown field 'version'/);
    expect(model.requests).toHaveLength(0);
  });
});
