import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { setUpAgent } from './session-harness.js';

const SECRET = 'whsec-sessions-0123456789';

/** session.idle reaches the webhooks of the session's account, and no other account's. */
describe.each(testStores)('webhooks on session events (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    model = await startTestModel();
    receiver = await startWebhookReceiver(() => SECRET);
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
    await receiver?.close();
  });

  it("sends session.idle when a turn ends, to the session owner's webhook only", async () => {
    const events = ['session.idle', 'session.terminated'];
    expect((await f.alice.req('POST', '/api/v1/users/alice/webhooks', { url: `${receiver.url}/alice`, events, secret: SECRET })).status).toBe(201);
    expect((await f.bob.req('POST', '/api/v1/users/bob/webhooks', { url: `${receiver.url}/bob`, events, secret: SECRET })).status).toBe(201);
    const { agentId, environmentId } = await setUpAgent(f.alice, model);
    model.script([{ text: 'hello' }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: environmentId } as any);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    const hit = await waitFor('session.idle', async () => receiver.got.find((g) => g.path === '/alice'), 30_000);
    expect(hit.signed).toBe(true);
    expect(hit.headers['x-agentry-event']).toBe('session.idle');
    expect(JSON.parse(hit.body)).toMatchObject({ type: 'session.idle', owner: 'alice', data: { session_id: s.id, stop_reason: { type: 'end_turn' } } });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.got.filter((g) => g.path === '/alice')).toHaveLength(1);
    expect(receiver.got.filter((g) => g.path === '/bob')).toEqual([]);
  });
});
