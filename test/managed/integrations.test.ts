import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { slackHeaders, startFakeSlack, type FakeSlack } from '../helpers/slack-api.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { setUpAgent, waitIdle } from './session-harness.js';

const BOT_TOKEN = 'xoxb-1111-2222-integration-test-token';
const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const CHANNEL = 'C0PUBLISHED';

let eventCounter = 0;
const messageEvent = (channel: string, ts: string, text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'T0TEAM',
    api_app_id: 'A0APP',
    type: 'event_callback',
    event_id: `Ev${++eventCounter}${Date.now()}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'message', channel, user: 'U0USER', text, ts, channel_type: 'channel', ...extra },
  });

describe.each(testStores)('integrations: Slack (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let slack: FakeSlack;
  let agentId: string;
  let integrationId: string;

  const deliver = (id: string, body: string, headers: Record<string, string> = slackHeaders(SIGNING_SECRET, body)) =>
    fetch(`${f.server.url}/v1/integrations/${id}/events`, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  beforeAll(async () => {
    model = await startTestModel();
    slack = await startFakeSlack({ botToken: BOT_TOKEN, channels: [CHANNEL, 'C0OTHER'], app: { clientId: '111.222', clientSecret: 'app-client-secret', team: { id: 'T0OAUTH', name: 'OAuth Team' } } });
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1', env: { AGENTRY_RUNTIME_RETRY_BASE_MS: '20' } });
    ({ agentId } = await setUpAgent(f.alice, model));
    const created = await f.alice.req('POST', '/v1/integrations', {
      provider: 'slack',
      name: 'Team Slack',
      credentials: { bot_token: BOT_TOKEN, signing_secret: SIGNING_SECRET },
      api_base_url: slack.baseUrl,
    });
    expect(created.status).toBe(200);
    integrationId = created.body.id;
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
    await slack?.close();
  });

  it('installs with credentials kept in the secret store and never returned; private to the account', async () => {
    const got = await f.alice.req('GET', `/v1/integrations/${integrationId}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      type: 'integration',
      provider: 'slack',
      name: 'Team Slack',
      status: 'active',
      api_base_url: slack.baseUrl,
      credentials: ['bot_token', 'signing_secret'],
      events_path: `/v1/integrations/${integrationId}/events`,
      last_delivery: null,
    });
    const list = await f.alice.req('GET', '/v1/integrations');
    expect(list.body.data.map((i: any) => i.id)).toEqual([integrationId]);
    expect(list.body.providers).toEqual([{ id: 'slack', name: 'Slack', credentials: ['bot_token', 'signing_secret', 'client_id', 'client_secret'], default_api_base_url: 'https://slack.com/api' }]);
    for (const text of [JSON.stringify(got.body), JSON.stringify(list.body)]) {
      expect(text).not.toContain(BOT_TOKEN);
      expect(text).not.toContain(SIGNING_SECRET);
    }
    // Another account sees and changes nothing of it.
    expect((await f.bob.req('GET', '/v1/integrations')).body.data).toEqual([]);
    expectManagedError(await f.bob.req('GET', `/v1/integrations/${integrationId}`), 404, 'not_found_error');
    expectManagedError(await f.bob.req('DELETE', `/v1/integrations/${integrationId}`), 404, 'not_found_error');
    expectManagedError(await f.bob.req('GET', `/v1/integrations/${integrationId}/publications`), 404, 'not_found_error');
    const { agentId: bobAgent } = await setUpAgent(f.bob, model);
    expectManagedError(await f.bob.req('POST', `/v1/integrations/${integrationId}/publications`, { agent_id: bobAgent, channel: CHANNEL }), 404, 'not_found_error');
    // Bad installs.
    expectManagedError(await f.alice.req('POST', '/v1/integrations', { provider: 'irc', credentials: {} }), 400, 'invalid_request_error', /unknown provider/);
    expectManagedError(await f.alice.req('POST', '/v1/integrations', { provider: 'slack', credentials: { bot_token: 'xoxb-x' } }), 400, 'invalid_request_error');
    expectManagedError(
      await f.alice.req('POST', '/v1/integrations', { provider: 'slack', credentials: { bot_token: 'x', signing_secret: 'y', password: 'z' } }),
      400,
      'invalid_request_error',
      /not a Slack credential/,
    );
    expectManagedError(
      await f.alice.req('POST', '/v1/integrations', { provider: 'slack', credentials: { bot_token: 'x', signing_secret: 'y' }, api_base_url: 'ftp://x' }),
      400,
      'invalid_request_error',
    );
    expect((await f.alice.req('POST', '/v1/integrations', { provider: 'slack' })).status).toBe(400);
    expect((await fetch(`${f.server.url}/v1/integrations`)).status).toBe(401);
  });

  it('publishes an agent on a channel; refuses agents that are not the caller’s', async () => {
    expectManagedError(await f.alice.req('POST', `/v1/integrations/${integrationId}/publications`, { agent_id: 'agent_nope', channel: CHANNEL }), 400, 'invalid_request_error', /agent_id/);
    const pub = await f.alice.req('POST', `/v1/integrations/${integrationId}/publications`, { agent_id: agentId, channel: CHANNEL });
    expect(pub.status).toBe(200);
    expect(pub.body).toMatchObject({ type: 'integration_publication', integration_id: integrationId, agent_id: agentId, channel: CHANNEL, workspace: null, environment_id: null });
    expectManagedError(await f.alice.req('POST', `/v1/integrations/${integrationId}/publications`, { agent_id: agentId, channel: CHANNEL }), 400, 'invalid_request_error', /already published/);
    const list = await f.alice.req('GET', `/v1/integrations/${integrationId}/publications`);
    expect(list.body.data.map((p: any) => p.id)).toEqual([pub.body.id]);
    expectManagedError(await f.bob.req('DELETE', `/v1/integrations/${integrationId}/publications/${pub.body.id}`), 404, 'not_found_error');
  });

  it('answers url_verification only when signed with the install’s secret, within five minutes', async () => {
    const body = JSON.stringify({ token: 'x', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
    expect(await deliver(integrationId, body)).toEqual({ status: 200, body: { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' } });
    // Wrong secret, tampered body, stale or future timestamps, missing headers: 401, no challenge.
    expect((await deliver(integrationId, body, slackHeaders('not-the-secret', body))).status).toBe(401);
    expect((await deliver(integrationId, body.replace('url_verification', 'url_verification '), slackHeaders(SIGNING_SECRET, body))).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    expect((await deliver(integrationId, body, slackHeaders(SIGNING_SECRET, body, now - 6 * 60))).status).toBe(401);
    expect((await deliver(integrationId, body, slackHeaders(SIGNING_SECRET, body, now + 6 * 60))).status).toBe(401);
    expect((await deliver(integrationId, body, slackHeaders(SIGNING_SECRET, body, now - 4 * 60))).status).toBe(200);
    const refused = await deliver(integrationId, body, { 'content-type': 'application/json' });
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).not.toContain(SIGNING_SECRET);
    const v1 = slackHeaders(SIGNING_SECRET, body);
    expect((await deliver(integrationId, body, { ...v1, 'x-slack-signature': v1['x-slack-signature'].replace('v0=', 'v1=') })).status).toBe(401);
    expect((await deliver('intg_unknown', body)).status).toBe(404);
  });

  it('starts a session for a message in a published channel, posts the reply in the thread, continues the thread, and drops replays', async () => {
    model.reset();
    model.script([{ text: 'Hi from the agent.' }, { text: 'Second answer.' }, { text: 'New thread answer.' }]);
    const before = slack.posted.length;
    const first = messageEvent(CHANNEL, '1700000000.000100', 'Hello agent');
    const headers = slackHeaders(SIGNING_SECRET, first);
    const r1 = await deliver(integrationId, first, headers);
    expect(r1.status).toBe(200);
    expect(r1.body.session_id).toMatch(/^sesn_/);
    const sessionId = r1.body.session_id;
    const [reply] = (await slack.waitPosted(before + 1)).slice(before);
    expect(reply).toMatchObject({ channel: CHANNEL, thread_ts: '1700000000.000100', text: 'Hi from the agent.', token: BOT_TOKEN });
    // The session is alice's, with the user's text as its message; bob cannot see it.
    const s = await waitIdle(f.alice, sessionId);
    expect(s.metadata).toMatchObject({ integration_id: integrationId, channel: CHANNEL, thread: '1700000000.000100' });
    const events = await f.alice.req('GET', `/v1/sessions/${sessionId}/events?limit=100`);
    expect(events.body.data.find((e: any) => e.type === 'user.message').content).toEqual([{ type: 'text', text: 'Hello agent' }]);
    expect((await f.bob.req('GET', `/v1/sessions/${sessionId}`)).status).toBe(404);

    // The same delivery again (a Slack retry, or a captured request replayed in the window): no second turn.
    const replay = await deliver(integrationId, first, headers);
    expect(replay).toEqual({ status: 200, body: { ok: true, ignored: 'event already received' } });

    // A reply in the thread continues the same session.
    const second = messageEvent(CHANNEL, '1700000000.000200', 'And more?', { thread_ts: '1700000000.000100' });
    const r2 = await deliver(integrationId, second);
    expect(r2.body.session_id).toBe(sessionId);
    const reply2 = (await slack.waitPosted(before + 2))[before + 1];
    expect(reply2).toMatchObject({ channel: CHANNEL, thread_ts: '1700000000.000100', text: 'Second answer.' });
    await waitIdle(f.alice, sessionId);
    const all = await f.alice.req('GET', `/v1/sessions/${sessionId}/events?limit=100`);
    expect(all.body.data.filter((e: any) => e.type === 'user.message')).toHaveLength(2);
    // The model saw the first exchange in the second turn.
    const last = model.requests.filter((r) => r.path === '/v1/messages').at(-1)!;
    expect(JSON.stringify(last.body)).toContain('Hi from the agent.');

    // A new top-level message is a new thread: a new session.
    const r3 = await deliver(integrationId, messageEvent(CHANNEL, '1700000001.000300', 'Another topic'));
    expect(r3.body.session_id).toMatch(/^sesn_/);
    expect(r3.body.session_id).not.toBe(sessionId);
    expect((await slack.waitPosted(before + 3))[before + 2]).toMatchObject({ thread_ts: '1700000001.000300', text: 'New thread answer.' });
    await waitIdle(f.alice, r3.body.session_id);
    const got = await f.alice.req('GET', `/v1/integrations/${integrationId}`);
    expect(got.body.last_delivery).toMatchObject({ ok: true, error: null });

    // The user deleted the thread's session: the next message in the thread starts a new one.
    expect((await f.alice.req('DELETE', `/v1/sessions/${r3.body.session_id}`)).status).toBe(200);
    model.script([{ text: 'Fresh start.' }]);
    const r4 = await deliver(integrationId, messageEvent(CHANNEL, '1700000001.000400', 'Still there?', { thread_ts: '1700000001.000300' }));
    expect(r4.status).toBe(200);
    expect(r4.body.session_id).toMatch(/^sesn_/);
    expect(r4.body.session_id).not.toBe(r3.body.session_id);
    expect((await slack.waitPosted(before + 4))[before + 3]).toMatchObject({ thread_ts: '1700000001.000300', text: 'Fresh start.' });
    await waitIdle(f.alice, r4.body.session_id);
  });

  it('ignores unknown channels, bot messages and edits without starting a session', async () => {
    const sessionsBefore = (await f.alice.req('GET', '/v1/sessions?limit=100')).body.data.length;
    expect((await deliver(integrationId, messageEvent('C0OTHER', '1700000002.000100', 'hi'))).body).toEqual({ ok: true, ignored: 'channel C0OTHER is not published' });
    expect((await deliver(integrationId, messageEvent(CHANNEL, '1700000002.000200', 'echo', { bot_id: 'B0FAKE', subtype: 'bot_message' }))).body.ignored).toMatch(/bot message/);
    expect((await deliver(integrationId, messageEvent(CHANNEL, '1700000002.000300', 'edit', { subtype: 'message_changed' }))).body.ignored).toMatch(/bot message or a message change/);
    const notJson = 'payload=%7B%7D';
    expect((await deliver(integrationId, notJson, { ...slackHeaders(SIGNING_SECRET, notJson), 'content-type': 'application/x-www-form-urlencoded' })).body.ignored).toBe('not a JSON body');
    expect((await f.alice.req('GET', '/v1/sessions?limit=100')).body.data.length).toBe(sessionsBefore);
  });

  it('refuses events for another account’s integration signed with one’s own secret, and records a refused delivery', async () => {
    // Bob installs with his own secret and a bot token Slack does not know.
    const { agentId: bobAgent } = await setUpAgent(f.bob, model);
    const bobInt = await f.bob.req('POST', '/v1/integrations', { provider: 'slack', credentials: { bot_token: 'xoxb-bob-revoked', signing_secret: 'bob-secret' }, api_base_url: slack.baseUrl });
    expect(bobInt.status).toBe(200);
    expect((await f.bob.req('POST', `/v1/integrations/${bobInt.body.id}/publications`, { agent_id: bobAgent, channel: CHANNEL })).status).toBe(200);
    const body = messageEvent(CHANNEL, '1700000003.000100', 'hi bob');
    // Alice's secret does not open bob's integration.
    expect((await deliver(bobInt.body.id, body, slackHeaders(SIGNING_SECRET, body))).status).toBe(401);
    model.reset();
    model.script([{ text: 'Bob’s agent answers.' }]);
    const r = await deliver(bobInt.body.id, body, slackHeaders('bob-secret', body));
    expect(r.status).toBe(200);
    await waitIdle(f.bob, r.body.session_id);
    // Slack refused the token: the integration says so, with Slack's error and never the token.
    let got: any;
    for (let i = 0; i < 100; i++) {
      got = await f.bob.req('GET', `/v1/integrations/${bobInt.body.id}`);
      if (got.body.last_delivery) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(got.body.last_delivery).toMatchObject({ ok: false, error: 'invalid_auth' });
    expect(slack.calls.at(-1)).toEqual({ method: '/api/chat.postMessage', error: 'invalid_auth' });
    // Uninstalled: the credentials are gone and events are no longer taken.
    expect((await f.bob.req('POST', `/v1/integrations/${bobInt.body.id}/uninstall`)).body).toEqual({ id: bobInt.body.id, type: 'integration_deleted' });
    expect((await f.bob.req('GET', `/v1/integrations/${bobInt.body.id}`)).status).toBe(404);
    expect((await deliver(bobInt.body.id, body, slackHeaders('bob-secret', body))).status).toBe(404);
  });

  it('installs by OAuth against configurable endpoints: authorize URL with a bound state, oauth.v2.access, then replies with the granted token', async () => {
    const authorize = slack.baseUrl.replace(/\/api$/, '/oauth/v2/authorize');
    const created = await f.alice.req('POST', '/v1/integrations', {
      provider: 'slack',
      name: 'OAuth Slack',
      credentials: { client_id: '111.222', client_secret: 'app-client-secret', signing_secret: 'oauth-signing-secret' },
      api_base_url: slack.baseUrl,
      oauth_authorize_url: authorize,
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ status: 'pending', oauth_authorize_url: authorize, workspace: null, credentials: ['client_id', 'client_secret', 'signing_secret'] });
    const id = created.body.id;
    expectManagedError(await f.alice.req('GET', `/v1/integrations/${integrationId}/install`), 400, 'invalid_request_error', /installed with credentials/);
    expectManagedError(await f.bob.req('GET', `/v1/integrations/${id}/install`), 404, 'not_found_error');
    const start = await f.alice.req('GET', `/v1/integrations/${id}/install`);
    expect(start.status).toBe(200);
    const url = new URL(start.body.url);
    expect(`${url.origin}${url.pathname}`).toBe(authorize);
    expect(url.searchParams.get('client_id')).toBe('111.222');
    expect(url.searchParams.get('scope')).toContain('chat:write');
    const redirectUri = url.searchParams.get('redirect_uri')!;
    expect(redirectUri).toBe(`${f.server.url}/v1/integrations/${id}/oauth/callback`);
    const state = url.searchParams.get('state')!;
    expect(JSON.stringify(start.body)).not.toContain('app-client-secret');

    // The user approves at Slack, which redirects the browser (no Agentry token) with a code and the state.
    const callback = (q: Record<string, string>) => fetch(`${redirectUri}?${new URLSearchParams(q)}`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const code = slack.issueCode('111.222', redirectUri);
    expect((await callback({ code, state: state.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) })).status).toBe(400);
    expect((await callback({ code })).status).toBe(400);
    const done = await callback({ code, state });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id, status: 'active', workspace: 'T0OAUTH', credentials: ['bot_token', 'client_id', 'client_secret', 'signing_secret'] });
    expect(JSON.stringify(done.body)).not.toMatch(/xoxb-/);
    // A code is good once (Slack says invalid_code): a 502 that names Slack's error.
    const again = await callback({ code, state });
    expect(again.status).toBe(502);
    expect(JSON.stringify(again.body)).toContain('invalid_code');

    // The granted token is the one replies are posted with.
    expect((await f.alice.req('POST', `/v1/integrations/${id}/publications`, { agent_id: agentId, channel: CHANNEL })).status).toBe(200);
    model.reset();
    model.script([{ text: 'Installed by OAuth.' }]);
    const before = slack.posted.length;
    const body = messageEvent(CHANNEL, '1700000009.000100', 'hello oauth');
    const r = await deliver(id, body, slackHeaders('oauth-signing-secret', body));
    expect(r.status).toBe(200);
    const posted = (await slack.waitPosted(before + 1))[before];
    expect(posted).toMatchObject({ channel: CHANNEL, thread_ts: '1700000009.000100', text: 'Installed by OAuth.' });
    expect(posted.token).toMatch(/^xoxb-T0OAUTH-/);
    await waitIdle(f.alice, r.body.session_id);
  });

  it('stops taking events when the token that installed the integration is revoked', async () => {
    const key = await f.alice.req('POST', '/v1/api_keys', { name: 'slack-installer' });
    const installer = f.alice.with(key.body.key);
    const i = await installer.req('POST', '/v1/integrations', { provider: 'slack', credentials: { bot_token: BOT_TOKEN, signing_secret: 'revocable-secret' }, api_base_url: slack.baseUrl });
    expect(i.status).toBe(200);
    expect((await installer.req('POST', `/v1/integrations/${i.body.id}/publications`, { agent_id: agentId, channel: CHANNEL })).status).toBe(200);
    expect((await f.alice.req('DELETE', `/v1/api_keys/${key.body.id}`)).status).toBe(200);
    const sessionsBefore = (await f.alice.req('GET', '/v1/sessions?limit=100')).body.data.length;
    const body = messageEvent(CHANNEL, '1700000010.000100', 'anyone?');
    const r = await deliver(i.body.id, body, slackHeaders('revocable-secret', body));
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).toMatch(/install it again/);
    expect((await f.alice.req('GET', '/v1/sessions?limit=100')).body.data.length).toBe(sessionsBefore);
  });

  it('waits out a rate-limited chat.postMessage (429 with Retry-After) and posts the reply', async () => {
    model.reset();
    model.script([{ text: 'Patient reply.' }]);
    slack.rateLimitNext(1, 1);
    const before = slack.posted.length;
    const callsBefore = slack.calls.length;
    const r = await deliver(integrationId, messageEvent(CHANNEL, '1700000011.000100', 'busy?'));
    expect(r.status).toBe(200);
    expect((await slack.waitPosted(before + 1))[before]).toMatchObject({ thread_ts: '1700000011.000100', text: 'Patient reply.' });
    expect(slack.calls.slice(callsBefore).map((c) => c.error)).toEqual(['ratelimited', null]);
    await waitIdle(f.alice, r.body.session_id);
  });
});
