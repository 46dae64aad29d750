import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball, agentYaml, makeTarball } from '../helpers/packages.js';
import { expectError, expectNothingWritten, registryState, type RegistryState } from '../helpers/refusals.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Publishes the registry must refuse for what they say: taken versions (409) and manifests that
 * are invalid or disagree with the URL, the form fields or themselves (400 with one detail per
 * problem, in the core's exact words). Each refusal writes nothing and the server keeps serving.
 */
describe.each(testStores)('bad input: publish and manifests (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  const path = '/api/v1/agents/@alice/helper';
  const terms = ['helpful', 'helper', 'mismatch'];
  const yaml = (o: Partial<{ name: string; version: string; scope: string; description: string; extra: string }> = {}) => agentYaml({ name: 'helper', version: '2.0.0', scope: 'alice', ...o });
  const tarballWith = (agentYamlText: string, more: Record<string, string> = {}) => makeTarball({ 'agent.yaml': agentYamlText, 'README.md': '# helper\n', ...more });

  /** Publishes, expects a refusal, and checks nothing was written and the server still serves. */
  const refused = async (publish: () => Promise<{ status: number; body: any }>, status: number, error: string | RegExp, details?: Array<string | RegExp>): Promise<void> => {
    const before: RegistryState = await registryState(server, admin, terms);
    const r = await publish();
    expectError(r, status, error, details);
    await expectNothingWritten(server, admin, before);
  };

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    expect((await admin.req('POST', '/api/v1/users', { username: 'bob' })).status).toBe(201);
    for (const version of ['1.0.0', '1.0.1']) {
      expect((await alice.publish(path, await agentTarball({ name: 'helper', version, scope: 'alice' }))).status).toBe(200);
    }
    expect((await alice.req('DELETE', `${path}/1.0.1`)).status).toBe(200);
    const skill = await makeTarball({ 'SKILL.md': '---\nname: pdf-tools\ndescription: PDFs\nmetadata:\n  version: 0.1.0\n---\n# PDF\n' });
    expect((await alice.publish('/api/v1/skills/@alice/pdf-tools', skill)).status).toBe(200);
  });
  afterAll(() => server?.close());

  describe('taken versions (409)', () => {
    it('refuses the same version again, even with other content', async () => {
      await refused(
        async () => alice.publish(path, await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice', description: 'Different bytes' })),
        409,
        'Version 1.0.0 already exists. Bump the version number.',
      );
      // Names are case-insensitive: @Alice/Helper is the same package.
      await refused(
        async () => alice.publish('/api/v1/agents/@Alice/Helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice' })),
        409,
        'Version 1.0.0 already exists. Bump the version number.',
      );
    });

    it('never lets an unpublished version be published again', async () => {
      await refused(
        async () => alice.publish(path, await agentTarball({ name: 'helper', version: '1.0.1', scope: 'alice' })),
        409,
        'Version 1.0.1 of @alice/helper was unpublished and can never be reused. Bump the version number.',
      );
    });

    it('answers concurrent publishes of one new version with one 200 and 409s, never a 500', async () => {
      const attempts = await Promise.all(
        [1, 2, 3].map(async (i) => alice.publish('/api/v1/agents/@alice/racer', await agentTarball({ name: 'racer', version: '1.0.0', scope: 'alice', description: `variant ${i}` }))),
      );
      expect(attempts.map((a) => a.status).sort()).toEqual([200, 409, 409]);
      const versions = await alice.req('GET', '/api/v1/agents/@alice/racer/versions');
      expect(versions.body.versions).toHaveLength(1);
      const winner = attempts.find((a) => a.status === 200)!;
      expect(versions.body.versions[0].sha256).toBe(winner.body.sha256);
    });
  });

  describe('names and versions (400)', () => {
    it('refuses versions that are not exact semver', async () => {
      for (const v of ['1.0', 'v2.0.0', '2.0.0+build.7', '^2.0.0']) {
        await refused(async () => alice.publish(path, await tarballWith(yaml({ version: `"${v}"` }))), 400, 'Validation failed', [`agent.yaml: version '${v}' is not valid semver`]);
      }
    });

    it('refuses bad scope and package names in the URL', async () => {
      const tgz = await tarballWith(yaml());
      await refused(() => alice.publish('/api/v1/agents/@alice/-helper', tgz), 400, 'Invalid package name', [
        "name '-helper' is invalid: use 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      ]);
      await refused(() => alice.publish('/api/v1/agents/@alice/a..b', tgz), 400, 'Invalid package name', [
        "name 'a..b' is invalid: use 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      ]);
      await refused(() => alice.publish('/api/v1/agents/@alice/..%2F..%2Fetc', tgz), 400, 'Invalid package name', [
        "name '../../etc' is invalid: use 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      ]);
      await refused(() => alice.publish('/api/v1/agents/@al!ce/helper', tgz), 400, 'Invalid package name', [
        "scope '@al!ce' is invalid: use 1-100 letters, digits, '-' or '.', starting and ending with a letter or digit",
      ]);
      await refused(() => alice.publish('/api/v1/agents/@-x-/in%20valid', tgz), 400, 'Invalid package name', [
        "scope '@-x-' is invalid: use 1-100 letters, digits, '-' or '.', starting and ending with a letter or digit",
        "name 'in valid' is invalid: use 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      ]);
    });

    it('refuses a name agent.yaml does not allow even when the URL does', async () => {
      await refused(async () => alice.publish('/api/v1/agents/@alice/My_Agent', await tarballWith(yaml({ name: 'My_Agent' }))), 400, 'Validation failed', [
        "agent.yaml: field 'name' value 'My_Agent' must match ^[a-z0-9-]+$",
      ]);
    });
  });

  describe('manifest fields (400)', () => {
    it('names every missing required field', async () => {
      await refused(async () => alice.publish(path, await tarballWith('license: MIT\n')), 400, 'Validation failed', [
        "agent.yaml: missing required field 'name'",
        "agent.yaml: missing required field 'version'",
        "agent.yaml: missing required field 'description'",
        "agent.yaml: missing required field 'author'",
      ]);
      await refused(async () => alice.publish(path, await tarballWith('name: helper\nversion: 2.0.0\nauthor: "@alice"\n')), 400, 'Validation failed', [
        "agent.yaml: missing required field 'description'",
      ]);
    });

    it('refuses unknown fields', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml({ extra: 'entrypoint: run.sh\nhomepage_url: x' }))), 400, 'Validation failed', [
        "agent.yaml: unknown field 'entrypoint'",
        "agent.yaml: unknown field 'homepage_url'",
      ]);
    });

    it('refuses a manifest whose name is not the package being published', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml({ name: 'mismatch' }))), 400, 'Validation failed', [
        "agent.yaml: name 'mismatch' does not match the package being published ('helper')",
      ]);
    });

    it('refuses an author scope that is not the scope published to', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml({ scope: 'bob' }))), 400, 'Validation failed', [
        "agent.yaml: author declares scope '@bob' but the package is published to '@alice'",
      ]);
    });

    it('lists every problem of one publish together', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml({ name: 'mismatch', scope: 'bob' })), { version: '9.9.9' }), 400, 'Validation failed', [
        "agent.yaml: name 'mismatch' does not match the package being published ('helper')",
        "agent.yaml: author declares scope '@bob' but the package is published to '@alice'",
        "version: '9.9.9' was sent but agent.yaml says '2.0.0'",
      ]);
    });

    it('refuses invalid values and unparseable YAML', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml().replace('category: productivity', 'category: games'))), 400, 'Validation failed', [
        "agent.yaml: field 'category' must be one of: productivity, devtools, communication, data, research, writing, finance, marketing, education, entertainment, security, other",
      ]);
      await refused(async () => alice.publish(path, await tarballWith('name: [helper\n')), 400, 'Validation failed', [/^agent\.yaml: not valid YAML \(.+\)$/]);
      await refused(async () => alice.publish(path, await tarballWith('- just\n- a list\n')), 400, 'Validation failed', ['agent.yaml: must be a YAML mapping']);
    });
  });

  describe('form fields disagreeing with the tarball (400)', () => {
    const asJson = (o: Record<string, unknown>) => JSON.stringify(o);
    const manifestObject = { name: 'helper', version: '2.0.0', description: 'A helpful test agent', author: '@alice', license: 'MIT', tags: ['test', 'helper'], category: 'productivity' };

    it('accepts an agent_yaml field equal to agent.yaml (the control)', async () => {
      const r = await alice.publish('/api/v1/agents/@alice/control', await makeTarball({ 'agent.yaml': agentYaml({ name: 'control', version: '1.0.0', scope: 'alice' }) }), {
        agent_yaml: asJson({ ...manifestObject, name: 'control', version: '1.0.0' }),
      });
      expect(r.status).toBe(200);
    });

    it('refuses an agent_yaml field that disagrees with agent.yaml, naming each field', async () => {
      await refused(
        async () => alice.publish(path, await tarballWith(yaml()), { agent_yaml: asJson({ ...manifestObject, description: 'Something else', license: undefined, extra: 1 }) }),
        400,
        'Validation failed',
        [
          "agent_yaml: field 'description' differs from agent.yaml in the tarball",
          "agent_yaml: field 'extra' differs from agent.yaml in the tarball",
          "agent_yaml: field 'license' differs from agent.yaml in the tarball",
        ],
      );
    });

    it('refuses an agent_yaml field that is not a JSON object', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml()), { agent_yaml: 'name: helper' }), 400, 'Validation failed', ['agent_yaml: not valid JSON']);
      await refused(async () => alice.publish(path, await tarballWith(yaml()), { agent_yaml: '[1, 2]' }), 400, 'Validation failed', ['agent_yaml: must be a JSON object']);
    });

    it('refuses a readme or version field that disagrees with the tarball', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml()), { readme: '# another readme' }), 400, 'Validation failed', ['readme: differs from README.md in the tarball']);
      await refused(async () => alice.publish(path, await tarballWith(yaml()), { version: '2.0.1' }), 400, 'Validation failed', ["version: '2.0.1' was sent but agent.yaml says '2.0.0'"]);
    });

    it('refuses an invalid dist-tag', async () => {
      await refused(async () => alice.publish(path, await tarballWith(yaml()), { tag: '2.0.0' }), 400, 'Invalid dist-tag', [
        "dist-tag '2.0.0' is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter",
      ]);
      await refused(async () => alice.publish(path, await tarballWith(yaml()), { tag: 'next release' }), 400, 'Invalid dist-tag', [
        "dist-tag 'next release' is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter",
      ]);
    });
  });

  describe('the manifest file itself (400)', () => {
    it('refuses a tarball without a manifest at its root', async () => {
      await refused(async () => alice.publish(path, await makeTarball({ 'README.md': '# helper' })), 400, 'Validation failed', [
        'tarball: no manifest at the root of the archive (expected agent.yaml)',
      ]);
      await refused(async () => alice.publish(path, await makeTarball({ 'helper/agent.yaml': yaml() })), 400, 'Validation failed', [
        'tarball: no manifest at the root of the archive (expected agent.yaml)',
      ]);
      await refused(async () => alice.publish('/api/v1/packages/@alice/helper', await makeTarball({ 'README.md': '# helper' })), 400, 'Validation failed', [
        'tarball: no manifest at the root of the archive (expected agent.yaml, SKILL.md, server.json, recipe.yaml)',
      ]);
    });

    it('refuses a skill published through the agents door', async () => {
      const skill = await makeTarball({ 'SKILL.md': '---\nname: helper\ndescription: d\nmetadata:\n  version: 2.0.0\n---\n' });
      await refused(() => alice.publish(path, skill), 400, 'Validation failed', ['tarball: no manifest at the root of the archive (expected agent.yaml)']);
    });

    it('refuses two manifests at the root of a generic publish', async () => {
      const both = await makeTarball({ 'agent.yaml': yaml(), 'SKILL.md': '---\nname: helper\ndescription: d\n---\n' });
      await refused(() => alice.publish('/api/v1/packages/@alice/helper', both), 400, 'Validation failed', ['tarball: more than one manifest at the root (agent.yaml, SKILL.md); keep exactly one']);
    });

    it('refuses a skill without a version, and MCP server names in another namespace', async () => {
      const noVersion = await makeTarball({ 'SKILL.md': '---\nname: pdf-tools\ndescription: PDFs\n---\n# PDF\n' });
      await refused(() => alice.publish('/api/v1/skills/@alice/pdf-tools', noVersion), 400, 'Validation failed', [
        "SKILL.md: no version; set metadata.version in the front matter or send a 'version' field",
      ]);
      await refused(() => alice.publish('/api/v1/skills/@alice/pdf-tools', noVersion, { version: 'one' }), 400, 'Validation failed', ["version 'one' is not valid semver"]);
      const server = await makeTarball({ 'server.json': JSON.stringify({ name: 'bob/weather', description: 'Weather', version: '1.0.0' }) });
      await refused(() => alice.publish('/api/v1/mcp-servers/@alice/weather', server), 400, 'Validation failed', ["server.json: name declares scope '@bob' but the package is published to '@alice'"]);
    });
  });

  describe('conflicts found inside the publish transaction', () => {
    const skillNamedHelper = () => makeTarball({ 'SKILL.md': '---\nname: helper\ndescription: d\nmetadata:\n  version: 3.0.0\n---\n' });

    it('refuses a package of another kind under a taken name with 409', async () => {
      const before = await registryState(server, admin, terms);
      expectError(await alice.publish('/api/v1/packages/@alice/helper', await skillNamedHelper()), 409, "@alice/helper is a package of kind 'agent', not 'skill'");
      const after = await registryState(server, admin, terms);
      expect({ ...after, blobs: [] }).toEqual({ ...before, blobs: [] });
    });

    it('refuses an admin publishing into a scope that does not exist with 404', async () => {
      const before = await registryState(server, admin, terms);
      expectError(
        await admin.publish('/api/v1/agents/@nobody/helper', await agentTarball({ name: 'helper', version: '1.0.0', scope: 'nobody' })),
        404,
        'Scope @nobody does not exist; create the user or organisation first',
      );
      const after = await registryState(server, admin, terms);
      expect({ ...after, blobs: [] }).toEqual({ ...before, blobs: [] });
    });

    // Refused inside the transaction (kind conflict): the blob this publish wrote is taken back.
    it('leaves no blob behind when the transaction refuses the publish', async () => {
      const before = await registryState(server, admin, terms);
      expect((await alice.publish('/api/v1/packages/@alice/helper', await makeTarball({ 'SKILL.md': '---\nname: helper\ndescription: orphan\nmetadata:\n  version: 4.0.0\n---\n' }))).status).toBe(409);
      expect((await registryState(server, admin, terms)).blobs).toEqual(before.blobs);
    });
  });
});
