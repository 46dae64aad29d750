import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { onStore } from '../helpers/on-store.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWebhookReceiver, type Received } from '../helpers/webhook-receiver.js';
import { setUpAgent } from '../managed/session-harness.js';

/**
 * Webhooks, issue 18 part 3: the session and workload events, delivered over real HTTP to a receiver
 * that checks `X-Agentry-Signature`; and the outbox: a package write and its deliveries are one
 * transaction, so a queue that cannot be written fails the write instead of losing its event.
 */
const SECRET = 'whsec-events-0123456789abcdef';

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 2_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };

/** A trigger that makes every insert into the delivery queue fail (the outbox's database refusing). */
const FAIL_OUTBOX = {
  sqlite: { on: [`CREATE TRIGGER fail_outbox BEFORE INSERT ON webhook_deliveries BEGIN SELECT RAISE(ABORT, 'outbox refused'); END`], off: ['DROP TRIGGER fail_outbox'] },
  postgres: {
    on: [
      `CREATE FUNCTION fail_outbox() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$ LANGUAGE plpgsql`,
      'CREATE TRIGGER fail_outbox BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION fail_outbox()',
    ],
    off: ['DROP TRIGGER fail_outbox ON webhook_deliveries', 'DROP FUNCTION fail_outbox()'],
  },
} as const;

describe.each(testStores)('webhook events (%s)', (store) => {
  let server: TestServer;
  let model: DevModel;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let admin: Api;
  let alice: Api;

  const hits = (path: string): Received[] => receiver.got.filter((g) => g.path === path);
  const hitsOf = (path: string, event: string): Received[] => hits(path).filter((g) => g.headers['x-agentry-event'] === event);

  beforeAll(async () => {
    receiver = await startWebhookReceiver(() => SECRET);
    model = await startTestModel();
    server = await startTestServer({ store, egressAllow: '127.0.0.1', workloadTimings: TIMINGS, env: { AGENTRY_WEBHOOK_RETRY_BASE_MS: '200', AGENTRY_RUNTIME_RETRY_BASE_MS: '20' } });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await model?.close();
    await receiver?.close();
  });

  /** Checks what every delivery of these tests must be: signed, named, a JSON body whose type is the event. */
  const checkDelivery = (g: Received, event: string, owner: string) => {
    expect(g.signed).toBe(true);
    expect(g.headers['x-agentry-event']).toBe(event);
    expect(g.headers['x-agentry-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(g.headers['x-agentry-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const body = JSON.parse(g.body);
    expect(body).toMatchObject({ type: event, owner, id: expect.any(String), created_at: expect.any(String) });
    return body.data as Record<string, unknown>;
  };

  it('delivers session.idle when a turn ends and session.terminated when the session ends for good', async () => {
    const hook = await alice.req('POST', '/api/v1/users/alice/webhooks', { url: `${receiver.url}/sessions`, events: ['session.idle', 'session.terminated'], secret: SECRET });
    expect(hook.status).toBe(201);
    const { agentId, environmentId } = await setUpAgent(alice, model);
    const created = await alice.req('POST', '/v1/sessions', { agent: agentId, environment_id: environmentId });
    expect(created.status).toBe(200);
    const id = created.body.id as string;

    model.script([{ text: 'hello back' }]);
    expect((await alice.req('POST', `/v1/sessions/${id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] })).status).toBe(200);
    const idle = await waitFor('session.idle delivered', async () => hitsOf('/sessions', 'session.idle')[0]);
    expect(checkDelivery(idle, 'session.idle', 'alice')).toEqual({ session_id: id, stop_reason: { type: 'end_turn' } });
    expect(hitsOf('/sessions', 'session.terminated')).toEqual([]);

    // A request the model refuses as malformed ends the session for good.
    model.script([{ error: { status: 400, message: 'bad request' } }]);
    expect((await alice.req('POST', `/v1/sessions/${id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'again' }] }] })).status).toBe(200);
    const terminated = await waitFor('session.terminated delivered', async () => hitsOf('/sessions', 'session.terminated')[0]);
    expect(checkDelivery(terminated, 'session.terminated', 'alice')).toEqual({ session_id: id });
    // One idle (the first turn), one terminated; the log says delivered.
    await new Promise((r) => setTimeout(r, 300));
    expect(hitsOf('/sessions', 'session.idle')).toHaveLength(1);
    expect(hitsOf('/sessions', 'session.terminated')).toHaveLength(1);
    const log = await waitFor('both delivered', async () => {
      const d = (await alice.req('GET', `/api/v1/users/alice/webhooks/${hook.body.id}/deliveries`)).body.deliveries as Array<{ status: string; event: string }>;
      return d.length === 2 && d.every((x) => x.status === 'delivered') ? d : undefined;
    });
    expect(log.map((d) => d.event)).toEqual(['session.terminated', 'session.idle']);
    // Nobody else's sessions reach alice's hook: bob's session goes idle unheard.
    const bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    const bobAgent = await setUpAgent(bob, model);
    const bobSession = await bob.req('POST', '/v1/sessions', { agent: bobAgent.agentId, environment_id: bobAgent.environmentId });
    model.script([{ text: 'hi bob' }]);
    await bob.req('POST', `/v1/sessions/${bobSession.body.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    await waitFor('bob idle', async () => ((await bob.req('GET', `/v1/sessions/${bobSession.body.id}`)).body.status === 'idle' && model.requests.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(hits('/sessions').map((g) => JSON.parse(g.body).data.session_id)).not.toContain(bobSession.body.id);
  }, 60_000);

  it('delivers workload.status as the supervisor writes each status', async () => {
    const hook = await admin.req('POST', '/api/v1/users/admin/webhooks', { url: `${receiver.url}/workloads`, events: ['workload.status'], secret: SECRET });
    expect(hook.status).toBe(201);
    const created = await admin.req('POST', '/api/v1beta/workloads', {
      name: 'hooked',
      command: process.execPath,
      cmd_arguments: [EVERYTHING, 'stdio'],
      permission_profile: { read: [NODE_MODULES], write: [] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const running = await waitFor('workload.status running delivered', async () => hitsOf('/workloads', 'workload.status').find((g) => JSON.parse(g.body).data.status === 'running'), 60_000);
    expect(checkDelivery(running, 'workload.status', 'admin')).toMatchObject({ workload: 'hooked', status: 'running', context: expect.any(String) });
    expect((await admin.req('POST', '/api/v1beta/workloads/hooked/stop')).status).toBe(202);
    const stopped = await waitFor('workload.status stopped delivered', async () => hitsOf('/workloads', 'workload.status').find((g) => JSON.parse(g.body).data.status === 'stopped'), 30_000);
    expect(checkDelivery(stopped, 'workload.status', 'admin')).toMatchObject({ workload: 'hooked', status: 'stopped' });
    const statuses = hitsOf('/workloads', 'workload.status').map((g) => JSON.parse(g.body).data.status as string);
    expect(statuses.indexOf('running')).toBeLessThan(statuses.indexOf('stopped'));
    expect((await admin.req('DELETE', '/api/v1beta/workloads/hooked')).status).toBe(202);
  }, 90_000);

  it('writes a package change and its deliveries in one transaction: a refused outbox fails the write', async () => {
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'atom', owner: 'alice' })).status).toBe(201);
    const hook = await alice.req('POST', '/api/v1/orgs/atom/webhooks', { url: `${receiver.url}/atom`, events: ['package.published', 'dist_tag.changed'], secret: SECRET });
    expect(hook.status).toBe(201);
    expect((await alice.publish('/api/v1/agents/@atom/bot', await agentTarball({ name: 'bot', version: '1.0.0', scope: 'atom' }))).status).toBe(200);
    await waitFor('1.0.0 delivered', async () => hits('/atom')[0]);

    await onStore(store, server.dataDir, server.schema, [...FAIL_OUTBOX[store].on]);
    try {
      const refused = await alice.publish('/api/v1/agents/@atom/bot', await agentTarball({ name: 'bot', version: '1.1.0', scope: 'atom' }));
      expect(refused.status).toBe(500);
      expect(JSON.stringify(refused.body)).not.toMatch(/outbox refused|at .*\.ts:\d+/);
      // The version was not published: an event never queued tells of nothing that happened.
      expect((await alice.req('GET', '/api/v1/agents/@atom/bot/1.1.0')).status).toBe(404);
      expect((await alice.req('PUT', '/api/v1/agents/@atom/bot/dist-tags/beta', { version: '1.0.0' })).status).toBe(500);
      expect((await alice.req('GET', '/api/v1/agents/@atom/bot')).body['dist-tags'] ?? {}).not.toHaveProperty('beta');
    } finally {
      await onStore(store, server.dataDir, server.schema, [...FAIL_OUTBOX[store].off]);
    }
    expect((await alice.publish('/api/v1/agents/@atom/bot', await agentTarball({ name: 'bot', version: '1.1.0', scope: 'atom' }))).status).toBe(200);
    const second = await waitFor('1.1.0 delivered', async () => hits('/atom').find((g) => JSON.parse(g.body).data.version === '1.1.0'));
    expect(checkDelivery(second, 'package.published', 'atom')).toMatchObject({ package: '@atom/bot', version: '1.1.0' });
    await new Promise((r) => setTimeout(r, 300));
    expect(hits('/atom').map((g) => JSON.parse(g.body).type)).toEqual(['package.published', 'package.published']);
    // A package of an owner without webhooks: written and nothing queued.
    expect((await admin.req('POST', '/api/v1/orgs', { name: 'quiet', owner: 'alice' })).status).toBe(201);
    expect((await alice.publish('/api/v1/agents/@quiet/bot', await agentTarball({ name: 'bot', version: '1.0.0', scope: 'quiet' }))).status).toBe(200);
    // Once the hook is removed, atom's writes queue nothing either.
    expect((await alice.req('DELETE', `/api/v1/orgs/atom/webhooks/${hook.body.id}`)).status).toBe(200);
    expect((await alice.publish('/api/v1/agents/@atom/bot', await agentTarball({ name: 'bot', version: '1.2.0', scope: 'atom' }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(hits('/atom')).toHaveLength(2);
  }, 60_000);
});
