import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient, type ImageManifest } from '../../src/adapters/oci-client/index.js';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { exampleAgent } from '../helpers/alquimia.js';

/**
 * Agentspaces published and pulled as OCI artifacts, round trip against Debian's docker-registry
 * (an independent OCI registry). In CI or the full local run a missing docker-registry fails this.
 */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the agentspace OCI tests: docker-registry is not installed (apt-get install -y docker-registry)');

const VALUES = ['sk-oci-global-5d1c0a', 'shared-oci-value-77e2', 'local-oci-value-19ab'];

describe.skipIf(!run).each(testStores)('agentspaces as OCI artifacts ↔ docker-registry (%s)', (store) => {
  let reg: DockerRegistry;
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let runtime: Api;
  const oci = new OciClient({ retry: { retries: 0 } });

  beforeAll(async () => {
    reg = await startDockerRegistry();
    // docker-registry is the default OCI registry of this server: publish without naming it.
    server = await startTestServer({ store, egressAllow: '127.0.0.1', env: { AGENTRY_OCI_REGISTRY_DEFAULT: reg.host } });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string);
    bob = admin.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token as string);
    runtime = admin.with((await admin.req('POST', '/api/v1/tokens', { name: 'rt', permission: 'runtime', account: 'alice' })).body.token as string);
    expect((await alice.req('POST', '/registry/', { name: 'My Agents', namespace: 'prod', description: 'Support agents' })).status).toBe(201);
    const tools = [{ provider_id: 'mcp', url: 'https://mcp.example.com', headers: { Authorization: { $secretRef: 'MCP_TOKEN' } }, env: { LOCAL: { $secretRef: 'LOCAL_KEY' } } }];
    expect(
      (await alice.req('POST', '/registry/agent', exampleAgent('my-agent', { response: { ...exampleAgent().response, profile: { system_prompt: 'Speak {{ params.language }}', tools } } }))).status,
    ).toBe(200);
    expect((await alice.req('POST', '/registry/agent', exampleAgent('second'))).status).toBe(200);
    expect((await alice.req('POST', '/registry/secret', { secret: { key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI' }, value: VALUES[0] })).status).toBe(200);
    expect((await alice.req('POST', '/registry/secret', { secret: { key: 'MCP_TOKEN', scope: 'shared' }, value: VALUES[1] })).status).toBe(200);
    expect((await alice.req('POST', '/registry/secret?assistant_id=my-agent', { secret: { key: 'LOCAL_KEY', scope: 'local' }, value: VALUES[2] })).status).toBe(200);
    expect((await alice.req('POST', '/registry/parameter', { key: 'language', type: 'enum', enum: ['en', 'es'], default: 'en' })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
    await reg?.stop();
  });

  it("publishes (000's curl) as application/vnd.alquimia.registry.v1 with one layer per part; a release tag moves latest", async () => {
    const r = await alice.req('PUT', '/registry/publish?agentspace_id=default&tag=v1.0.0', { description: 'Production release' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      reference: expect.stringMatching(new RegExp(`^${reg.host}/alice/my-agents:v1.0.0@sha256:[0-9a-f]{64}$`)),
      tags: ['v1.0.0', 'latest'],
      media_type: 'application/vnd.oci.image.manifest.v1+json',
    });
    const fetched = await oci.getManifest(`${reg.host}/alice/my-agents:v1.0.0`);
    const m = fetched.manifest as ImageManifest;
    expect(fetched.digest).toBe(r.body.digest);
    expect(m.artifactType).toBe('application/vnd.alquimia.registry.v1');
    expect(m.config).toMatchObject({ mediaType: 'application/vnd.oci.empty.v1+json', size: 2 });
    expect(m.layers.map((l) => [l.mediaType, l.annotations?.['org.opencontainers.image.title']])).toEqual([
      ['application/vnd.alquimia.registry.agents.v1+json', 'agents.json'],
      ['application/vnd.alquimia.registry.secrets.v1+json', 'secrets.json'],
      ['application/vnd.alquimia.registry.parameters.v1+json', 'parameters.json'],
    ]);
    expect(m.annotations).toMatchObject({
      'org.opencontainers.image.description': 'Production release',
      'org.opencontainers.image.version': 'v1.0.0',
      'org.opencontainers.image.created': expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await oci.resolve(`${reg.host}/alice/my-agents:latest`))?.digest).toBe(r.body.digest);
    const pulled = await oci.pullArtifact(`${reg.host}/alice/my-agents:v1.0.0`);
    const text = pulled.layers.map((l) => Buffer.from(l.data!).toString('utf8')).join('\n');
    for (const v of VALUES) expect(text).not.toContain(v);
    const secrets = JSON.parse(Buffer.from(pulled.layers[1].data!).toString('utf8'));
    expect(secrets).toEqual([
      { key: 'LOCAL_KEY', scope: 'local', description: null, assistant_id: 'my-agent' },
      { key: 'MCP_TOKEN', scope: 'shared', description: null },
      { key: 'OPENAI_API_KEY', scope: 'global', description: 'OpenAI' },
    ]);
    expect((await alice.req('GET', '/registry/')).body.tag).toBe('v1.0.0');
  });

  it('moves latest only to the highest release, never back to a lower or pre-release tag', async () => {
    const old = await alice.req('PUT', '/registry/publish?tag=v0.9.0', {});
    expect(old.body.tags).toEqual(['v0.9.0']);
    const pre = await alice.req('PUT', '/registry/publish?tag=2.0.0-rc.1');
    expect(pre.body.tags).toEqual(['2.0.0-rc.1']);
    const v11 = await alice.req('PUT', '/registry/publish?tag=1.1.0');
    expect(v11.body.tags).toEqual(['1.1.0', 'latest']);
    expect((await oci.resolve(`${reg.host}/alice/my-agents:latest`))?.digest).toBe(v11.body.digest);
  });

  it('lists repositories and tags of the OCI registry', async () => {
    const repos = await alice.req('GET', '/registry/repositories');
    expect(repos.status).toBe(200);
    expect(repos.body).toEqual({ registry: reg.host, repositories: ['alice/my-agents'] });
    expect((await alice.req('GET', `/registry/repositories?registry=${reg.host}`)).body.repositories).toEqual(['alice/my-agents']);
    const tags = await alice.req('GET', `/registry/tags?repo_id=${reg.host}/alice/my-agents`);
    expect(tags.status).toBe(200);
    expect(tags.body.tags.sort()).toEqual(['1.1.0', '2.0.0-rc.1', 'latest', 'v0.9.0', 'v1.0.0']);
    expect((await alice.req('GET', '/registry/tags?repo_id=alice/my-agents')).body.repository).toBe(`${reg.host}/alice/my-agents`);
    expect((await alice.req('GET', '/registry/tags')).status).toBe(400);
    expect((await alice.req('GET', `/registry/tags?repo_id=${reg.host}/nobody/nothing`)).status).toBe(404);
  });

  it('answers 502 when the OCI registry does not answer', async () => {
    const down = '127.0.0.1:9';
    for (const r of [
      await alice.req('GET', `/registry/repositories?registry=${down}`),
      await alice.req('GET', `/registry/tags?repo_id=${down}/alice/my-agents`),
      await alice.req('PUT', `/registry/publish?tag=v9.9.9&registry=${down}`),
      await alice.req('POST', `/registry/pull?target=${down}/alice/my-agents:v1.0.0`),
    ]) {
      expect(r.status, JSON.stringify(r.body)).toBe(502);
      expect(r.body.detail).toMatch(/The OCI registry 127\.0\.0\.1:9 did not answer as expected/);
    }
  });

  it('refuses to publish without a tag (400), an unknown agentspace (404), unvalidated agents or unused secrets (400)', async () => {
    expect((await alice.req('PUT', '/registry/publish')).status).toBe(400);
    expect((await alice.req('PUT', '/registry/publish?tag=bad tag')).status).toBe(400);
    expect((await alice.req('PUT', '/registry/publish?agentspace_id=nope&tag=v1')).status).toBe(404);
    expect((await alice.req('POST', '/registry/', { name: 'scratch', namespace: 'dev', agentspace_id: 'scratch' })).status).toBe(201);
    await alice.req(
      'POST',
      '/registry/agent?agentspace_id=scratch',
      exampleAgent('legacy', { response: { ...exampleAgent().response, config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'm', api_key: '$OPENAI_API_KEY' } } } }),
    );
    const unvalidated = await alice.req('PUT', '/registry/publish?agentspace_id=scratch&tag=v1');
    expect(unvalidated.status).toBe(400);
    expect(unvalidated.body.detail).toBe('Unvalidated agents detected: run POST /registry/validate first');
    await alice.req('POST', '/registry/validate?agentspace_id=scratch');
    await alice.req('POST', '/registry/secret?agentspace_id=scratch', { secret: { key: 'UNUSED', scope: 'shared' } });
    const unused = await alice.req('PUT', '/registry/publish?agentspace_id=scratch&tag=v1');
    expect(unused.status).toBe(400);
    expect(unused.body.detail).toBe('Unused secrets detected: run POST /registry/validate to delete them');
    expect(unused.body.errors).toEqual(["shared secret 'UNUSED' is referenced by no agent"]);
  });

  it('pulls into a new agentspace as a clone, with definitions but no values', async () => {
    const r = await alice.req('POST', `/registry/pull?agentspace_id=copy&target=${reg.host}/alice/my-agents:v1.0.0`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      created: true,
      reference: `${reg.host}/alice/my-agents:v1.0.0`,
      agents: ['my-agent', 'second'],
      secrets: ['LOCAL_KEY', 'MCP_TOKEN', 'OPENAI_API_KEY'],
      parameters: ['language'],
    });
    expect(r.body.agentspace).toMatchObject({ agentspace_id: 'copy', name: 'My Agents-2', namespace: 'prod', source_repo_id: `${reg.host}/alice/my-agents:v1.0.0`, description: 'Production release' });
    const agents = (await alice.req('POST', '/registry/agent/query?agentspace_id=copy', {})).body;
    expect(agents.map((a: { assistant_id: string }) => a.assistant_id)).toEqual(['my-agent', 'second']);
    const inspect = await alice.req('POST', '/registry/secret/inspect/my-agent?agentspace_id=copy');
    expect(inspect.body.secrets).toEqual([
      { key: 'OPENAI_API_KEY', scope: 'global' },
      { key: 'MCP_TOKEN', scope: 'shared' },
      { key: 'LOCAL_KEY', scope: 'local' },
    ]);
    // The global value is the owner's; the shared and local values did not travel.
    expect(inspect.body.errors.map((e: { id: string }) => e.id)).toEqual(['MCP_TOKEN', 'LOCAL_KEY']);
    expect((await runtime.req('GET', '/registry/agent/resolve/second?agentspace_id=copy&owner=alice')).body.response.config.connector.api_key).toBe(VALUES[0]);
    expect((await alice.req('POST', '/registry/parameter/query?agentspace_id=copy', {})).body).toEqual([{ key: 'language', type: 'enum', enum: ['en', 'es'], default: 'en' }]);
  });

  it('pulls into an existing agentspace: adds and overwrites agents by id, keeps the others', async () => {
    await bob.req('POST', '/registry/', { name: 'mine', namespace: 'local' });
    await bob.req('POST', '/registry/agent', exampleAgent('keep', { nickname: 'Kept' }));
    await bob.req('POST', '/registry/agent', exampleAgent('second', { nickname: 'Old second' }));
    const r = await bob.req('POST', `/registry/pull?target=${reg.host}/alice/my-agents:latest`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.created).toBe(false);
    const agents = (await bob.req('POST', '/registry/agent/query', {})).body;
    expect(agents.map((a: { assistant_id: string; nickname: string }) => [a.assistant_id, a.nickname])).toEqual([
      ['keep', 'Kept'],
      ['my-agent', 'Helper'],
      ['second', 'Helper'],
    ]);
    expect((await bob.req('GET', '/registry/')).body.source_repo_id).toBe(`${reg.host}/alice/my-agents:latest`);
    // Bob holds no values of Alice's: inspecting shows every secret unresolved.
    expect((await bob.req('POST', '/registry/secret/inspect/my-agent')).body.errors).toHaveLength(3);
  });

  it('refuses to pull an artifact that is not an agentspace, or one that carries values', async () => {
    await oci.pushArtifact({ ref: `${reg.host}/alice/other:v1`, artifactType: 'application/vnd.example.thing.v1', layers: [{ data: '{}', title: 'x.json' }] });
    const other = await alice.req('POST', `/registry/pull?agentspace_id=x1&target=${reg.host}/alice/other:v1`);
    expect(other.status).toBe(400);
    expect(other.body.detail).toMatch(/is not an agentspace artifact/);
    await oci.pushArtifact({
      ref: `${reg.host}/alice/evil:v1`,
      artifactType: 'application/vnd.alquimia.registry.v1',
      layers: [
        { mediaType: 'application/vnd.alquimia.registry.agents.v1+json', data: JSON.stringify([{ assistant_id: '../../etc' }]), title: 'agents.json' },
        { mediaType: 'application/vnd.alquimia.registry.secrets.v1+json', data: JSON.stringify([{ key: 'K', scope: 'shared', value: 'leaked' }]), title: 'secrets.json' },
        { mediaType: 'application/vnd.alquimia.registry.parameters.v1+json', data: '[]', title: 'parameters.json' },
      ],
    });
    const evil = await alice.req('POST', `/registry/pull?agentspace_id=x2&target=${reg.host}/alice/evil:v1`);
    expect(evil.status).toBe(400);
    expect(evil.body.errors).toEqual(['agents.json[0]: needs a valid assistant_id', 'secrets.json[0]: unexpected field value (an artifact never carries secret values)']);
    expect(JSON.stringify(evil.body)).not.toContain('leaked');
    expect((await alice.req('GET', '/registry/?agentspace_id=x2')).status).toBe(404);
    expect((await alice.req('POST', '/registry/pull')).status).toBe(400);
    expect((await alice.req('POST', `/registry/pull?target=${reg.host}/alice/none:v1`)).status).toBe(404);
  });

  it('DELETE /registry/publish removes the manifest', async () => {
    const r = await alice.req('DELETE', '/registry/publish?tag=v0.9.0');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ reference: `${reg.host}/alice/my-agents:v0.9.0`, deleted: true });
    expect(await oci.resolve(`${reg.host}/alice/my-agents:v0.9.0`)).toBeUndefined();
    expect((await alice.req('DELETE', '/registry/publish?tag=v0.9.0')).status).toBe(404);
    expect((await alice.req('DELETE', '/registry/publish')).status).toBe(400);
  });
});
