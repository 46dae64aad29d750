import { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http.js';
import { testStores } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * A session's resources as first-class objects (the SDK's `sessions.resources`): list, add, get,
 * rotate a repository's token, delete; changes while idle apply from the next turn, and are refused
 * while a turn runs. github_repository resources are cloned over git smart HTTP (a local
 * `git http-backend`) through the egress policy, with the token never shown.
 */

const TOOLSET = { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } };
const TOKEN = 'ghp_resources_test_token_0123456789';

describe.each(testStores)('sessions: resources (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let git: GitHttpServer;

  beforeAll(async () => {
    [model, git] = await Promise.all([startTestModel(), startGitHttpServer('tools', { token: TOKEN })]);
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await Promise.all([model?.close(), git?.close()]);
  });
  beforeEach(() => model.reset());

  const turn = async (sessionId: string, text: string): Promise<any[]> => {
    const stream = await f.sdk.beta.sessions.events.stream(sessionId);
    await f.sdk.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
    return (await collectSdk(stream)).filter((e) => e.type === 'agent.tool_result').map((e) => ({ is_error: e.is_error, text: e.content.map((c: any) => c.text).join('') }));
  };

  it('lists, adds, gets, rotates and deletes resources with the SDK; never shows a token; 409 while running; 404 for others', async () => {
    const a = await setUpAgent(f.alice, model, { tools: [TOOLSET] });
    const file = await f.sdk.beta.files.upload({ file: await toFile(Buffer.from('x'), 'x.txt') });
    const s = await f.sdk.beta.sessions.create({
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [{ type: 'github_repository', url: `${git.url}/tools.git`, authorization_token: TOKEN }] as any,
    });
    const repo = s.resources[0] as any;
    expect(repo).toMatchObject({ type: 'github_repository', url: `${git.url}/tools.git`, mount_path: '/workspace/tools', checkout: null });

    const added = await f.sdk.beta.sessions.resources.add(s.id, { type: 'file', file_id: file.id });
    expect(added).toMatchObject({ type: 'file', file_id: file.id, mount_path: `/mnt/session/uploads/${file.id}` });
    expect(added.id).toMatch(/^sesrsc_/);
    const all = [];
    for await (const r of f.sdk.beta.sessions.resources.list(s.id, { limit: 1 })) all.push((r as any).id);
    expect(all).toEqual([repo.id, added.id]);
    expect((await f.sdk.beta.sessions.resources.retrieve(added.id, { session_id: s.id })) as any).toMatchObject({ id: added.id });

    const rotated = await f.sdk.beta.sessions.resources.update(repo.id, { session_id: s.id, authorization_token: 'ghp_new_token' });
    expect(rotated).toMatchObject({ id: repo.id, type: 'github_repository' });
    const fileRotate = await f.alice.req('POST', `/v1/sessions/${s.id}/resources/${added.id}`, { authorization_token: 'x' });
    expectManagedError(fileRotate, 400, 'invalid_request_error', /only github_repository/);
    const again = await f.alice.req('POST', `/v1/sessions/${s.id}/resources`, { type: 'file', file_id: file.id, mount_path: `/mnt/session/uploads/${file.id}/x` });
    expectManagedError(again, 400, 'invalid_request_error', /overlaps/);

    // No answer ever carries a token.
    const seen = JSON.stringify([s, await f.sdk.beta.sessions.retrieve(s.id), (await f.alice.req('GET', `/v1/sessions/${s.id}/resources`)).body, rotated]);
    expect(seen).not.toContain(TOKEN);
    expect(seen).not.toContain('ghp_new_token');
    expect(seen).not.toContain('authorization_token');

    // Another account sees nothing; an unknown resource is a 404.
    expectManagedError(await f.bob.req('GET', `/v1/sessions/${s.id}/resources`), 404, 'not_found_error');
    expectManagedError(await f.bob.req('POST', `/v1/sessions/${s.id}/resources`, { type: 'file', file_id: file.id }), 404, 'not_found_error');
    expectManagedError(await f.bob.req('DELETE', `/v1/sessions/${s.id}/resources/${added.id}`), 404, 'not_found_error');
    expectManagedError(await f.alice.req('GET', `/v1/sessions/${s.id}/resources/sesrsc_nope`), 404, 'not_found_error');

    // While a turn runs, the set cannot change (409); the token can still be rotated. The model
    // answers only after the test's own timeout: only the interrupt below ends the turn, so it is
    // still running however slowly a loaded machine gets to the checks.
    model.script([{ text: 'slow', delayMs: 120_000 }]);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    await waitFor('running', async () => ((await f.sdk.beta.sessions.retrieve(s.id)).status === 'running' ? true : undefined), 20_000);
    expectManagedError(await f.alice.req('POST', `/v1/sessions/${s.id}/resources`, { type: 'file', file_id: file.id, mount_path: '/workspace/x.txt' }), 409, 'conflict_error', /running.*next turn/);
    expectManagedError(await f.alice.req('DELETE', `/v1/sessions/${s.id}/resources/${added.id}`), 409, 'conflict_error');
    expect((await f.alice.req('POST', `/v1/sessions/${s.id}/resources/${repo.id}`, { authorization_token: TOKEN })).status).toBe(200);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt' }] });
    await waitFor('idle', async () => ((await f.sdk.beta.sessions.retrieve(s.id)).status === 'idle' ? true : undefined), 20_000);

    const deleted = await f.sdk.beta.sessions.resources.delete(added.id, { session_id: s.id });
    expect(deleted).toEqual({ id: added.id, type: 'session_resource_deleted' });
    expect((await f.sdk.beta.sessions.retrieve(s.id)).resources.map((r: any) => r.id)).toEqual([repo.id]);
  }, 60_000);

  it('clones repositories into the workspace through the egress policy; adding and removing while idle applies on the next turn', async () => {
    const a = await setUpAgent(f.alice, model, { tools: [TOOLSET] });
    const s = await f.sdk.beta.sessions.create({
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [{ type: 'github_repository', url: `${git.url}/tools.git`, authorization_token: TOKEN }] as any,
    });
    model.script([
      {
        toolCalls: [
          { name: 'read', input: { file_path: '/workspace/tools/README.md' } },
          { name: 'read', input: { file_path: '/workspace/tools/.git/config' } },
        ],
      },
      { text: 'ok' },
    ]);
    let results = await turn(s.id, 'read the repo');
    expect(results[0]).toMatchObject({ is_error: false });
    expect(results[0].text).toContain('hello from main');
    expect(results[1].text).toContain('[remote "origin"]');
    expect(results[1].text).not.toContain(TOKEN);
    const sent = git.authorizations.filter((h) => h !== undefined);
    expect(sent.length).toBeGreaterThan(0);
    expect(Buffer.from(sent[0]!.replace(/^Basic /, ''), 'base64').toString()).toBe(`x-access-token:${TOKEN}`);

    // While idle: the feature branch at another path comes in, the first clone goes.
    const first = s.resources[0] as any;
    const feature = await f.alice.req('POST', `/v1/sessions/${s.id}/resources`, {
      type: 'github_repository',
      url: `${git.url}/tools.git`,
      authorization_token: TOKEN,
      checkout: { type: 'branch', name: 'feature' },
      mount_path: '/workspace/feat',
    });
    expect(feature.status, JSON.stringify(feature.body)).toBe(200);
    await f.sdk.beta.sessions.resources.delete(first.id, { session_id: s.id });
    model.script([
      {
        toolCalls: [
          { name: 'read', input: { file_path: '/workspace/feat/FEATURE.md' } },
          { name: 'glob', input: { pattern: '*/*.md', path: '/workspace' } },
        ],
      },
      { text: 'ok' },
    ]);
    results = await turn(s.id, 'again');
    expect(results[0]).toMatchObject({ is_error: false });
    expect(results[0].text).toContain('on the feature branch');
    expect(results[1].text).toContain('/workspace/feat/README.md');
    expect(results[1].text).not.toContain('/workspace/tools/');

    // A commit checkout, a wrong token and a refused host fail the tool call with the reason (the host named), never the token.
    const pinned = await f.sdk.beta.sessions.create({
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [{ type: 'github_repository', url: `${git.url}/tools.git`, authorization_token: TOKEN, checkout: { type: 'commit', sha: git.commits.main } }] as any,
    });
    model.script([{ toolCalls: [{ name: 'glob', input: { pattern: '*.md', path: '/workspace/tools' } }] }, { text: 'ok' }]);
    results = await turn(pinned.id, 'pinned');
    expect(results[0].text).toContain('README.md');
    expect(results[0].text).not.toContain('FEATURE.md');

    const refused = await f.sdk.beta.sessions.create({
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [{ type: 'github_repository', url: 'http://10.255.0.1:9/x.git', authorization_token: 'ghp_secret_for_refused' }] as any,
    });
    model.script([{ toolCalls: [{ name: 'read', input: { file_path: '/workspace/x/README.md' } }] }, { text: 'ok' }]);
    results = await turn(refused.id, 'refused');
    expect(results[0].is_error).toBe(true);
    expect(results[0].text).toMatch(/egress policy refused 10\.255\.0\.1/);

    const wrong = await f.sdk.beta.sessions.create({
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [{ type: 'github_repository', url: `${git.url}/tools.git`, authorization_token: 'ghp_wrong_token_value' }] as any,
    });
    model.script([{ toolCalls: [{ name: 'read', input: { file_path: '/workspace/tools/README.md' } }] }, { text: 'ok' }]);
    results = await turn(wrong.id, 'wrong');
    expect(results[0].is_error).toBe(true);
    expect(results[0].text).toMatch(/could not be cloned/);
    expect(results[0].text).not.toContain('ghp_wrong_token_value');
  }, 90_000);
});
