import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, sdkFor, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { setUpAgent, waitIdle } from './session-harness.js';

const TOOLSET = { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } };

/** The SDK's error for a call that should fail. */
const failure = async (p: Promise<unknown>): Promise<any> => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('the call succeeded');
};

describe.each(testStores)('self-hosted environments: the work queue (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let agentId: string;
  let envId: string;
  let envKey: string;
  let keySdk: Anthropic;
  let workdir: string;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1', env: { AGENTRY_SSE_HEARTBEAT_MS: '300' } });
    await setUpAgent(f.alice, model);
    const env = (await f.sdk.beta.environments.create({ name: 'my-laptop', config: { type: 'self_hosted' } })) as any;
    envId = env.id;
    envKey = env.environment_key;
    keySdk = sdkFor(f.server.url, envKey);
    const agent = await f.alice.req('POST', '/v1/agents', { name: 'remote', model: 'dev-ant', tools: [TOOLSET], environment_id: envId });
    agentId = agent.body.id;
    workdir = await mkdtemp(join(tmpdir(), 'agentry-worker-'));
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });
  beforeEach(() => model.reset());

  it('shows a self-hosted environment its key once; cloud environments have none', async () => {
    expect(envKey).toMatch(new RegExp(`^agentry_envkey_${envId}_[A-Za-z0-9_-]{43}$`));
    const again = (await f.sdk.beta.environments.retrieve(envId)) as any;
    expect(again.environment_key).toBeUndefined();
    expect(again.config).toEqual({ type: 'self_hosted' });
    const listed = await f.alice.req('GET', '/v1/environments?limit=100');
    expect(JSON.stringify(listed.body)).not.toContain(envKey.slice(-43));
    const cloud = (await f.sdk.beta.environments.create({ name: 'cloud' })) as any;
    expect(cloud.environment_key).toBeUndefined();
  });

  it("runs a session's tool calls in the SDK's own environment worker, which posts user.tool_result", async () => {
    model.script([{ toolCalls: [{ name: 'bash', input: { command: 'echo hello-from-the-worker > out.txt && cat out.txt' } }] }, { text: 'The worker said hello.' }]);
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: envId });
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'Say hello on the worker' }] }] });
    const ac = new AbortController();
    // The worker authenticates with the environment key only; its default tools are the SDK's toolset on this machine.
    const worker = new Anthropic({ apiKey: 'unused', baseURL: f.server.url, maxRetries: 0 }).beta.environments.work.worker({
      environmentId: envId,
      environmentKey: envKey,
      workdir,
      maxIdleMs: 300,
      memorySyncIntervalMs: null,
      signal: ac.signal,
    } as any);
    const running = worker.run().catch(() => undefined);
    try {
      const deadline = Date.now() + 30_000;
      let events: any[] = [];
      for (;;) {
        events = (await f.sdk.beta.sessions.events.list(s.id, { limit: 1000 } as any)).data as any[];
        const last = events.at(-1);
        if (last?.type === 'session.status_idle' && last.stop_reason.type === 'end_turn') break;
        if (Date.now() > deadline) throw new Error(`no end of turn: ${JSON.stringify(events.map((e) => [e.type, e.stop_reason]))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const use = events.find((e) => e.type === 'agent.tool_use');
      expect(use).toMatchObject({ name: 'bash', evaluated_permission: 'allow' });
      // The server ran nothing itself: the result came from the worker.
      expect(events.some((e) => e.type === 'agent.tool_result')).toBe(false);
      const result = events.find((e) => e.type === 'user.tool_result');
      expect(result).toMatchObject({ tool_use_id: use.id, is_error: false });
      expect(JSON.stringify(result.content)).toContain('hello-from-the-worker');
      expect(events.find((e) => e.type === 'agent.message').content).toEqual([{ type: 'text', text: 'The worker said hello.' }]);
      // While the worker had the call, the turn waited for it (requires_action), then went on.
      expect(events.some((e) => e.type === 'session.status_idle' && e.stop_reason.type === 'requires_action' && e.stop_reason.event_ids.includes(use.id))).toBe(true);
      const second = model.requests.filter((r) => r.path === '/v1/messages')[1].body as any;
      expect(JSON.stringify(second.messages)).toContain('hello-from-the-worker');
    } finally {
      ac.abort();
      await running;
    }
    // The worker stopped its work item when it let go of the session.
    const items = await f.sdk.beta.environments.work.list(envId);
    const mine = items.data.filter((w) => w.data.id === s.id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0]).toMatchObject({ type: 'work', environment_id: envId, data: { type: 'session', id: s.id } });
    await waitIdle(f.alice, s.id);
  });

  it('hands a work item to one poller, leases it by heartbeat, re-delivers it when the lease runs out, and refuses stale heartbeats and double acks', async () => {
    const s = await f.sdk.beta.sessions.create({ agent: agentId, environment_id: envId });
    // Earlier tests' items are stopped by their workers; take this session's item.
    let work: any = null;
    for (let i = 0; i < 20 && (!work || work.data.id !== s.id); i++) work = await keySdk.beta.environments.work.poll(envId, { block_ms: 200, reclaim_older_than_ms: 60_000 });
    expect(work).toMatchObject({ type: 'work', state: 'queued', environment_id: envId, data: { type: 'session', id: s.id }, secret: null, acknowledged_at: null });
    // Handed out: a second poll does not get it again while it is fresh.
    expect(await keySdk.beta.environments.work.poll(envId, { block_ms: 50, reclaim_older_than_ms: 60_000 })).toBeNull();
    const stats = await f.sdk.beta.environments.work.stats(envId);
    expect(stats).toMatchObject({ type: 'work_queue_stats', pending: 1 });

    const acked = await keySdk.beta.environments.work.ack(work.id, { environment_id: envId });
    expect(acked).toMatchObject({ state: 'starting' });
    expect(acked.acknowledged_at).toEqual(expect.any(String));
    const twice = await failure(keySdk.beta.environments.work.ack(work.id, { environment_id: envId }));
    expect(twice.status).toBe(409);

    const beat = await keySdk.beta.environments.work.heartbeat(work.id, { environment_id: envId, expected_last_heartbeat: 'NO_HEARTBEAT', desired_ttl_seconds: 1 });
    expect(beat).toMatchObject({ type: 'work_heartbeat', lease_extended: true, state: 'active', ttl_seconds: 1 });
    const stale = await failure(keySdk.beta.environments.work.heartbeat(work.id, { environment_id: envId, expected_last_heartbeat: 'NO_HEARTBEAT' }));
    expect(stale).toBeInstanceOf(Anthropic.PreconditionFailedError);
    expect(stale.errorCode).toBe('heartbeat_precondition_failed');
    expect(stale.details.current_state).toMatchObject({ state: 'active', last_heartbeat: beat.last_heartbeat, lease_extended: false });

    // The lease runs out: the next poll hands the item out again, fresh.
    await new Promise((r) => setTimeout(r, 1500));
    const again = await keySdk.beta.environments.work.poll(envId, { block_ms: 50 });
    expect(again).toMatchObject({ id: work.id, state: 'queued', latest_heartbeat_at: null, acknowledged_at: null });
    // The first worker's next heartbeat learns it lost the lease.
    const lost = await failure(keySdk.beta.environments.work.heartbeat(work.id, { environment_id: envId, expected_last_heartbeat: beat.last_heartbeat }));
    expect(lost.status).toBe(412);
    // The owner's token works as well as the key.
    await f.sdk.beta.environments.work.ack(work.id, { environment_id: envId });
    const got = await f.sdk.beta.environments.work.retrieve(work.id, { environment_id: envId });
    expect(got.state).toBe('starting');
    const updated = await f.sdk.beta.environments.work.update(work.id, { environment_id: envId, metadata: { host: 'laptop' } });
    expect(updated.metadata).toEqual({ host: 'laptop' });

    const stopping = await keySdk.beta.environments.work.stop(work.id, { environment_id: envId });
    expect(stopping.state).toBe('stopping');
    const told = await keySdk.beta.environments.work.heartbeat(work.id, { environment_id: envId });
    expect(told).toMatchObject({ state: 'stopping', lease_extended: false });
    const stopped = await keySdk.beta.environments.work.stop(work.id, { environment_id: envId, force: true });
    expect(stopped).toMatchObject({ state: 'stopped' });
    expect(stopped.stopped_at).toEqual(expect.any(String));
    expect((await failure(keySdk.beta.environments.work.stop(work.id, { environment_id: envId, force: true }))).status).toBe(409);

    // A new user message queues new work for the session.
    model.script([{ text: 'ok' }]);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'again' }] }] });
    let next: any = null;
    for (let i = 0; i < 20 && (!next || next.data.id !== s.id); i++) next = await keySdk.beta.environments.work.poll(envId, { block_ms: 200, reclaim_older_than_ms: 60_000 });
    expect(next.id).not.toBe(work.id);
    await waitIdle(f.alice, s.id);
    // Deleting the session stops its work item: no worker is handed a session that is gone.
    await f.sdk.beta.sessions.delete(s.id);
    expect((await f.sdk.beta.environments.work.retrieve(next.id, { environment_id: envId })).state).toBe('stopped');
  });

  it('refuses bad credentials and bad input: a wrong key, another environment, another account, other routes, a cloud environment', async () => {
    const wrongKey = envKey.slice(0, -43) + 'A'.repeat(43);
    const wrong = await failure(sdkFor(f.server.url, wrongKey).beta.environments.work.poll(envId));
    expect(wrong.status).toBe(401);
    expectManagedError(await f.alice.with(wrongKey).req('GET', `/v1/environments/${envId}/work/poll`), 401, 'authentication_error');

    const other = (await f.sdk.beta.environments.create({ name: 'other', config: { type: 'self_hosted' } })) as any;
    expectManagedError(await f.alice.with(envKey).req('GET', `/v1/environments/${other.id}/work/poll`), 403, 'permission_error');
    // The key reaches the queue and its environment's sessions, nothing else.
    expectManagedError(await f.alice.with(envKey).req('GET', '/v1/agents'), 403, 'permission_error');
    expectManagedError(await f.alice.with(envKey).req('POST', '/v1/sessions', { agent: agentId, environment_id: envId }), 403, 'permission_error');
    expectManagedError(await f.alice.with(envKey).req('GET', `/v1/environments/${envId}/work/stats`), 403, 'permission_error');
    const { agentId: cloudAgent, environmentId: cloudEnv } = await setUpAgent(f.alice, model);
    const cloudSession = await f.sdk.beta.sessions.create({ agent: cloudAgent, environment_id: cloudEnv });
    expectManagedError(await f.alice.with(envKey).req('GET', `/v1/sessions/${cloudSession.id}`), 404, 'not_found_error');
    expectManagedError(
      await f.alice.with(envKey).req('POST', `/v1/sessions/${cloudSession.id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'x' }] }] }),
      404,
      'not_found_error',
    );
    // Another account sees neither the environment nor its queue.
    expectManagedError(await f.bob.req('GET', `/v1/environments/${envId}/work/poll`), 404, 'not_found_error');
    expectManagedError(await f.bob.req('POST', `/v1/environments/${envId}/work/work_nope/ack`), 404, 'not_found_error');
    // A cloud environment has no queue; bad parameters are refused.
    expectManagedError(await f.alice.req('GET', `/v1/environments/${cloudEnv}/work/poll`), 400, 'invalid_request_error', /not self_hosted/);
    expectManagedError(await f.alice.req('GET', `/v1/environments/${envId}/work/poll?block_ms=5000`), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', `/v1/environments/${envId}/work/work_nope/heartbeat`), 404, 'not_found_error');
    // An archived environment's key stops working.
    const gone = (await f.sdk.beta.environments.create({ name: 'gone', config: { type: 'self_hosted' } })) as any;
    await f.sdk.beta.environments.archive(gone.id);
    expectManagedError(await f.alice.with(gone.environment_key).req('GET', `/v1/environments/${gone.id}/work/poll`), 401, 'authentication_error');
  });
});
