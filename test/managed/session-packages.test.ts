import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, sameAgentFromTwoProcesses, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * Issue 19: an agent.yaml package runs as a session (`agent: {type: "package", name, version?}`):
 * mapped onto a managed agent of the caller (system prompt, model card, tools from permissions),
 * shared by later runs of the same version, read through the access policy, refusals by field.
 */

const EXTRA = ['config:', '  model: dev-ant', 'permissions:', '  execute_commands: false', '  filesystem: false', '  network: true', 'examples:', '  - prompt: Write a haiku about tea'].join('\n');

const publishAgent = async (f: ManagedFixture, name: string, version: string, extra: string, readme = `# ${name}\n\nAlways answer in haiku.\n`) => {
  const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name, version, scope: 'alice', description: `The ${name} agent`, extra }), 'README.md': readme });
  const r = await f.alice.publish(`/api/v1/agents/@alice/${name}`, tgz);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return createHash('sha256').update(tgz).digest('hex');
};

describe.each(testStores)('sessions: agent.yaml packages (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;
  let env: string;
  let sha: string;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    env = (await setUpAgent(f.alice, model)).environmentId;
    sha = await publishAgent(f, 'haiku', '1.0.0', EXTRA);
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('runs a package: the model gets the mapped system prompt and tools; the session shows the version and sha256; a second run shares the agent', async () => {
    model.script([{ text: 'Steam curls from the cup' }]);
    const s: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/haiku' }, environment_id: env } as any);
    expect(s.agent.source).toEqual({ type: 'package', name: '@alice/haiku', version: '1.0.0', sha256: sha, suggested_prompts: ['Write a haiku about tea'] });
    expect(s.agent.model.id).toBe('dev-ant');
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'tea?' }] }] });
    const events = await collectSdk(stream);
    expect(events.find((e) => e.type === 'agent.message').content[0].text).toBe('Steam curls from the cup');
    const req: any = model.requests.find((r) => r.path === '/v1/messages')!.body;
    const system = JSON.stringify(req.system);
    expect(system).toContain('The haiku agent');
    expect(system).toContain('Always answer in haiku.');
    const tools = (req.tools as any[]).map((t) => t.name).sort();
    expect(tools).toContain('read');
    expect(tools).toContain('web_fetch');
    for (const off of ['bash', 'write', 'edit']) expect(tools).not.toContain(off);

    const again: any = await f.sdk.beta.sessions.create({ agent: { type: 'package', name: '@alice/haiku', version: '1.0.0' }, environment_id: env } as any);
    expect(again.agent.id).toBe(s.agent.id);
    expect(again.agent.version).toBe(s.agent.version);
    const agent = await f.alice.req('GET', `/v1/agents/${s.agent.id}`);
    expect(agent.body).toMatchObject({ model: { id: 'dev-ant' }, metadata: { 'agentry.package': '@alice/haiku', 'agentry.package_version': '1.0.0' } });
  });

  it("counts the sessions that ran each version, shown to the package's maintainers only", async () => {
    await publishAgent(f, 'counted', '1.0.0', 'config:\n  model: dev-ant');
    await publishAgent(f, 'counted', '1.1.0', 'config:\n  model: dev-ant');
    const run = (version: string) => f.alice.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/counted', version }, environment_id: env });
    for (const v of ['1.0.0', '1.1.0', '1.1.0']) expect((await run(v)).status).toBe(200);
    expect((await run('9.9.9')).status).toBe(404); // a refused run counts nothing
    const counts = async (api: Api) => {
      const r = await api.req('GET', '/api/v1/agents/@alice/counted/versions');
      expect(r.status).toBe(200);
      return Object.fromEntries(r.body.versions.map((v: any) => [v.version, v.session_count]));
    };
    expect(await counts(f.alice)).toEqual({ '1.1.0': 2, '1.0.0': 1 });
    // Readers who do not maintain @alice (bob, anyone) see no counts.
    expect(await counts(f.bob)).toEqual({ '1.1.0': undefined, '1.0.0': undefined });
    expect(await counts(new Api(f.server.url))).toEqual({ '1.1.0': undefined, '1.0.0': undefined });
  });

  it('concurrent first runs of a version, on two processes of one store, share one agent (insert-or-read on the run key)', async () => {
    await publishAgent(f, 'burst', '1.0.0', 'config:\n  model: dev-ant');
    const id = await sameAgentFromTwoProcesses(f, 8, (alice) => alice.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/burst', version: '1.0.0' }, environment_id: env }));
    const agents = (await f.alice.req('GET', '/v1/agents?limit=100&include_archived=true')).body.data.filter((a: any) => a.metadata['agentry.package'] === '@alice/burst');
    expect(agents.map((a: any) => a.id)).toEqual([id]);
  });

  it('a private package runs only for who may read it; config.system_prompt wins over the README', async () => {
    await publishAgent(f, 'secret', '0.1.0', 'config:\n  model: dev-ant\n  system_prompt: You keep secrets.');
    expect((await f.alice.req('PUT', '/api/v1/access/@alice/secret', { visibility: 'private' })).status).toBe(200);
    const bobEnv = await f.bob.req('POST', '/v1/environments', { name: 'bob-env' });
    const denied = await f.bob.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/secret' }, environment_id: bobEnv.body.id });
    expectManagedError(denied, 404, 'not_found_error');
    const mine = await f.alice.req('POST', '/v1/sessions', { agent: { type: 'package', name: '@alice/secret' }, environment_id: env });
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
    expect(mine.body.agent.system).toBe('You keep secrets.');
    expect(mine.body.agent.source).toMatchObject({ name: '@alice/secret', version: '0.1.0' });
  });

  it("a private org package runs for the org's members (with their own agent), not for others; members who do not maintain see no counts", async () => {
    expect((await f.admin.req('POST', '/api/v1/orgs', { name: 'acme', owner: 'alice' })).status).toBe(201);
    expect((await f.admin.req('PUT', '/api/v1/orgs/acme/members/bob', { role: 'member' })).status).toBe(200);
    const carol = f.admin.with((await f.admin.req('POST', '/api/v1/users', { username: 'carol' })).body.token);
    const tgz = await makeTarball({ 'agent.yaml': agentYaml({ name: 'vault', version: '1.0.0', scope: 'acme', description: 'Org only', extra: 'config:\n  model: dev-ant' }) });
    expect((await f.alice.publish('/api/v1/agents/@acme/vault', tgz, { access: 'private' })).status).toBe(200);
    const bobEnv = (await setUpAgent(f.bob, model)).environmentId;
    const carolEnv = (await setUpAgent(carol, model)).environmentId;
    const ref = { type: 'package', name: '@acme/vault' };
    const bobs = await f.bob.req('POST', '/v1/sessions', { agent: ref, environment_id: bobEnv });
    expect(bobs.status, JSON.stringify(bobs.body)).toBe(200);
    const alices = await f.alice.req('POST', '/v1/sessions', { agent: ref, environment_id: env });
    expect(alices.body.agent.id).not.toBe(bobs.body.agent.id); // each runs an agent of their own
    expectManagedError(await carol.req('POST', '/v1/sessions', { agent: ref, environment_id: carolEnv }), 404, 'not_found_error');
    const counts = async (api: Api) => (await api.req('GET', '/api/v1/agents/@acme/vault/versions')).body.versions[0].session_count;
    expect(await counts(f.alice)).toBe(2);
    expect(await counts(f.bob)).toBeUndefined();
  });

  it('refuses what the mapping cannot express by field name, and bad references', async () => {
    await publishAgent(f, 'mailer', '1.0.0', 'config:\n  model: dev-ant\nmcp_servers:\n  gmail:\n    command: python\n    args: ["-m", "gmail_mcp"]');
    await publishAgent(f, 'warm', '1.0.0', 'config:\n  model: dev-ant\n  temperature: 0.2');
    await publishAgent(f, 'nomodel', '1.0.0', '');
    const skill = await makeTarball({ 'SKILL.md': '---\nname: tool\ndescription: A skill\nmetadata:\n  version: 1.0.0\n---\n# tool\n' });
    expect((await f.alice.publish('/api/v1/skills/@alice/tool', skill)).status).toBe(200);
    const run = (agent: unknown) => f.alice.req('POST', '/v1/sessions', { agent, environment_id: env });
    expectManagedError(await run({ type: 'package', name: '@alice/mailer' }), 400, 'invalid_request_error', /'mcp_servers\.gmail\.command'.*'python' is not supported/);
    expectManagedError(await run({ type: 'package', name: '@alice/warm' }), 400, 'invalid_request_error', /'config\.temperature'/);
    expectManagedError(await run({ type: 'package', name: '@alice/nomodel' }), 400, 'invalid_request_error', /config\.model/);
    expectManagedError(await run({ type: 'package', name: '@alice/nomodel', model: 'no-such-card' }), 400, 'invalid_request_error', /no model card 'no-such-card'/);
    expect((await run({ type: 'package', name: '@alice/nomodel', model: 'dev-ant' })).status).toBe(200);
    expectManagedError(await run({ type: 'package', name: '@alice/nobody' }), 404, 'not_found_error');
    expectManagedError(await run({ type: 'package', name: '@alice/haiku', version: '9.9.9' }), 404, 'not_found_error', /no version '9\.9\.9'/);
    expectManagedError(await run({ type: 'package', name: '@alice/tool' }), 400, 'invalid_request_error', /skill package, not an agent/);
    expectManagedError(await run({ type: 'package', name: 'haiku' }), 400, 'invalid_request_error');
  });
});
