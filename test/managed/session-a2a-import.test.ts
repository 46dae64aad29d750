import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A2A_TEST_TOKEN, startTestA2aServer, type TestA2aServer } from '../helpers/a2a-agent.js';
import { testStores } from '../helpers/server.js';
import type { Api } from '../helpers/packages.js';
import { startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { waitIdle } from './session-harness.js';

/**
 * Issue 20, import: an A2A agent card (fetched by URL through the egress policy, or sent whole) is
 * published as an agent package; its sessions send each user message to the remote agent (a real
 * A2A server built with the SDK's server side, allow-listed on 127.0.0.1) and keep its contextId.
 */

const newSession = async (api: Api, name: string, env: string, vaultIds: string[] = []): Promise<string> => {
  const r = await api.req('POST', '/v1/sessions', { agent: { type: 'package', name }, environment_id: env, ...(vaultIds.length > 0 ? { vault_ids: vaultIds } : {}) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.id;
};

/** Sends one user message, waits for the turn to end, and answers the events it added. */
const turn = async (api: Api, id: string, text: string): Promise<any[]> => {
  const before = (await api.req('GET', `/v1/sessions/${id}/events?limit=1000`)).body.data.length;
  const sent = await api.req('POST', `/v1/sessions/${id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  await waitIdle(api, id);
  return (await api.req('GET', `/v1/sessions/${id}/events?limit=1000`)).body.data.slice(before);
};

const answerOf = (events: any[]): string | undefined => events.find((e) => e.type === 'agent.message')?.content[0].text;
const errorOf = (events: any[]): string | undefined => events.find((e) => e.type === 'session.error')?.error.message;

describe.each(testStores)('A2A import: remote agents as agent packages (%s)', (store) => {
  let f: ManagedFixture;
  let a2a: TestA2aServer;
  let env: string;

  beforeAll(async () => {
    a2a = await startTestA2aServer();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    env = (await f.alice.req('POST', '/v1/environments', { name: 'a2a-env' })).body.id;
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await a2a?.close();
  });

  it('imports a card by URL: an agent package recording the card; a session answers through the remote agent and keeps its contextId', async () => {
    const r = await f.alice.req('POST', '/api/v1/a2a/imports', { url: a2a.cardUrl('echo') });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ success: true, full_name: '@alice/test-echo-agent', kind: 'agent', version: '1.0.0' });
    const pkg = await f.alice.req('GET', '/api/v1/agents/@alice/test-echo-agent');
    expect(pkg.status).toBe(200);
    expect(JSON.stringify(pkg.body)).toContain(`${a2a.url}/echo`);

    const id = await newSession(f.alice, '@alice/test-echo-agent', env);
    const s = await f.alice.req('GET', `/v1/sessions/${id}`);
    expect(s.body.agent.source).toMatchObject({
      type: 'package',
      name: '@alice/test-echo-agent',
      suggested_prompts: ['say hello to echo'],
      a2a: { url: `${a2a.url}/echo`, transport: 'JSONRPC', streaming: false },
    });
    const first = await turn(f.alice, id, 'hello there');
    expect(answerOf(first)).toBe('echo: hello there');
    const second = await turn(f.alice, id, 'and again');
    expect(answerOf(second)).toBe('echo: and again');
    const mine = a2a.received.filter((m) => m.agent === 'echo');
    expect(mine.map((m) => m.text)).toEqual(['hello there', 'and again']);
    expect(mine[0].contextId).toBeUndefined();
    expect(mine[1].contextId).toMatch(/.+/); // the context the remote agent gave the first answer
    await turn(f.alice, id, 'third');
    expect(a2a.received.filter((m) => m.agent === 'echo')[2].contextId).toBe(mine[1].contextId);
    // Another session is another conversation.
    const other = await newSession(f.alice, '@alice/test-echo-agent', env);
    await turn(f.alice, other, 'new');
    expect(a2a.received.filter((m) => m.agent === 'echo')[3]).toMatchObject({ text: 'new', contextId: undefined });
  });

  it('imports a card sent whole (a file); a streaming agent answers over message/stream', async () => {
    const r = await f.alice.req('POST', '/api/v1/a2a/imports', { card: a2a.card('stream'), name: 'streamer' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.full_name).toBe('@alice/streamer');
    const id = await newSession(f.alice, '@alice/streamer', env);
    expect(answerOf(await turn(f.alice, id, 'abc'))).toBe('streamed: abc');
    expect(answerOf(await turn(f.alice, id, 'def'))).toBe('streamed: def');
    const mine = a2a.received.filter((m) => m.agent === 'stream');
    expect(mine[1].contextId).toMatch(/.+/);
  });

  it('a remote agent that is down, or whose task fails, is a session.error naming it; the session stays usable', async () => {
    const down = { ...a2a.card('echo'), name: 'Gone Agent', url: 'http://127.0.0.1:9/echo' };
    expect((await f.alice.req('POST', '/api/v1/a2a/imports', { card: down })).status).toBe(201);
    const id = await newSession(f.alice, '@alice/gone-agent', env);
    const events = await turn(f.alice, id, 'anyone?');
    expect(errorOf(events)).toBe("Remote A2A agent 'Gone Agent' (http://127.0.0.1:9/echo) failed: the upstream could not be reached");
    expect(answerOf(events)).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'retries_exhausted' } });

    expect((await f.alice.req('POST', '/api/v1/a2a/imports', { url: a2a.cardUrl('fail') })).status).toBe(201);
    const failing = await newSession(f.alice, '@alice/test-fail-agent', env);
    expect(errorOf(await turn(f.alice, failing, 'work'))).toMatch(/^Remote A2A agent 'Test Fail Agent' .* failed: its task ended failed: no capacity$/);
  });

  it('a card that asks for a bearer token: the token comes from the caller’s vault, never the manifest', async () => {
    expect((await f.alice.req('POST', '/api/v1/a2a/imports', { url: a2a.cardUrl('secure') })).status).toBe(201);
    const manifest = JSON.stringify((await f.alice.req('GET', '/api/v1/agents/@alice/test-secure-agent')).body);
    expect(manifest).not.toContain(A2A_TEST_TOKEN);
    const without = await newSession(f.alice, '@alice/test-secure-agent', env);
    expect(errorOf(await turn(f.alice, without, 'hi'))).toContain(`asks for a credential (security scheme 'bearer'): add a static_bearer credential with mcp_server_url ${a2a.url}`);
    const vault = await f.alice.req('POST', '/v1/vaults', { display_name: 'a2a' });
    expect(vault.status, JSON.stringify(vault.body)).toBe(200);
    const cred = await f.alice.req('POST', `/v1/vaults/${vault.body.id}/credentials`, { auth: { type: 'static_bearer', token: A2A_TEST_TOKEN, mcp_server_url: a2a.url } });
    expect(cred.status, JSON.stringify(cred.body)).toBe(200);
    const withVault = await newSession(f.alice, '@alice/test-secure-agent', env, [vault.body.id]);
    expect(answerOf(await turn(f.alice, withVault, 'let me in'))).toBe('echo: let me in');
    expect(a2a.received.filter((m) => m.agent === 'secure').at(-1)).toMatchObject({ text: 'let me in', authorization: `Bearer ${A2A_TEST_TOKEN}` });
  });

  it('refuses a card URL on an address the egress policy refuses, and an unreachable one', async () => {
    const refused = await f.alice.req('POST', '/api/v1/a2a/imports', { url: 'http://10.1.2.3/.well-known/agent-card.json' });
    expect(refused.status).toBe(422);
    expect(refused.body.details).toEqual(['url: the egress policy refuses 10.1.2.3 (an operator allows it with --egress-allow)']);
    const metadata = await f.alice.req('POST', '/api/v1/a2a/imports', { url: 'http://169.254.169.254/latest/meta-data' });
    expect(metadata.status).toBe(422);
    const closed = await f.alice.req('POST', '/api/v1/a2a/imports', { url: 'http://127.0.0.1:9/.well-known/agent-card.json' });
    expect(closed.status).toBe(502);
    expect(closed.body.details).toEqual(['url: the upstream could not be reached']);
    const notFound = await f.alice.req('POST', '/api/v1/a2a/imports', { url: `${a2a.url}/nobody/.well-known/agent-card.json` });
    expect(notFound.status).toBe(502);
    expect(notFound.body.error).toBe('The agent card URL answered 404');
  });

  it('bad cards are 422 naming the field; bad requests are 400; imports need a token that may publish to the scope', async () => {
    const card = a2a.card('echo');
    const bad = async (c: unknown, extra: Record<string, unknown> = {}) => {
      const r = await f.alice.req('POST', '/api/v1/a2a/imports', { card: c, ...extra });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      return r.body.details as string[];
    };
    const { skills: _s, ...noSkills } = card;
    expect(await bad(noSkills)).toEqual(['card.skills: missing required field']);
    expect(await bad({ ...card, skills: [{ name: 'x', description: 'y', tags: [] }] })).toEqual(['card.skills[0].id: missing required field']);
    expect(await bad({ ...card, capabilities: 'yes' })).toEqual(['card.capabilities: must be an object']);
    expect(await bad({ ...card, url: 'ftp://example.com/agent' })).toEqual(['card.url: must be an http(s) URL']);
    expect(await bad({ ...card, preferredTransport: 'GRPC' })).toEqual(['card.preferredTransport: Agentry calls A2A agents over JSONRPC or HTTP+JSON; the card offers GRPC']);
    expect(await bad({ ...card, version: 'v1' })).toEqual(["card.version: 'v1' is not a semantic version (an agent package's version must be one, e.g. 1.0.0)"]);
    expect(await bad({ ...card, security: [{ mtls: [] }], securitySchemes: { mtls: { type: 'mutualTLS' } } })).toEqual([
      'card.security: Agentry sends one bearer token or one API key in a header; the card asks for mtls',
    ]);
    expect(await bad({ ...card, securitySchemes: { key: { type: 'apiKey', in: 'header' } } })).toEqual(['card.securitySchemes.key.name: missing required field']);
    expect(await bad('a card')).toEqual(['card: must be an object (an A2A agent card)']);
    expect(await bad({ ...card, name: '***' })).toEqual(["card.name: '***' gives no package name: pass name"]);
    expect(await bad(card, { name: 'Bad Name' })).toEqual(['name: must match ^[a-z0-9-]+$ (at most 100)']);

    expect((await f.alice.req('POST', '/api/v1/a2a/imports', {})).status).toBe(400);
    expect((await f.alice.req('POST', '/api/v1/a2a/imports', { card, url: a2a.cardUrl('echo') })).status).toBe(400);
    // bob may not publish to @alice; nobody anonymous imports.
    expect((await f.bob.req('POST', '/api/v1/a2a/imports', { card, scope: 'alice', name: 'other' })).status).toBe(403);
    const anon = await fetch(`${f.server.url}/api/v1/a2a/imports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card }) });
    expect(anon.status).toBe(401);
    // A version once: the same card again is a conflict.
    expect((await f.alice.req('POST', '/api/v1/a2a/imports', { url: a2a.cardUrl('echo') })).status).toBe(409);
    // An agent.yaml published by hand with a broken a2a card is refused at publish too, naming the field.
    const { makeTarball, agentYaml } = await import('../helpers/packages.js');
    const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name: 'hand', version: '1.0.0', scope: 'alice', description: 'By hand', extra: 'a2a:\n  card:\n    name: x' }) });
    const pub = await f.alice.publish('/api/v1/agents/@alice/hand', tgz);
    expect(pub.status).toBe(400); // as every manifest problem at publish
    expect(pub.body.details).toContain('agent.yaml: a2a.card.url: missing required field');
  });

  it('a model override for a remote agent is refused', async () => {
    const r = await f.alice.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/test-echo-agent', model: 'dev-ant' }, environment_id: env });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('is a remote A2A agent');
  });
});
