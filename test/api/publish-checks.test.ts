import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plantedSecrets, standIns } from '../../bench/planted-secrets.mjs';
import { Api, agentYaml, makeTarball } from '../helpers/packages.js';
import { EMPTY_CONFIG, OciClient, sha256 } from '../helpers/oci.js';
import { expectNothingWritten, registryState } from '../helpers/refusals.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Publish-time checks (issue 18, point 4), over HTTP: a package carrying a plaintext secret is
 * refused with a 422 naming the file, line and rule (never the secret) through every door that
 * publishes files; an allow comment, placeholders and binary files pass; risky agent permissions
 * and MCP packages from unknown registries are published and flagged in the version's findings.
 */
describe.each(testStores)('publish-time checks (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  const yaml = (version: string, extra = '') => agentYaml({ name: 'checked', version, scope: 'alice', extra });
  const path = '/api/v1/agents/@alice/checked';

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
  });
  afterAll(() => server?.close());

  it('refuses a package with a secret of each rule family with 422 naming file, line and rule, writing nothing', async () => {
    const planted = plantedSecrets(42, 21);
    const before = await registryState(server, admin, ['checked']);
    for (const p of planted) {
      const r = await alice.publish(path, await makeTarball({ 'agent.yaml': yaml('1.0.0'), 'README.md': '# checked\n', [p.file]: p.text }));
      expect(r.status, p.rule).toBe(422);
      expect(r.body.error).toMatch(/looks like a plaintext secret \(1 place\).*agentry:allow-secret/);
      expect(r.body.details).toEqual([expect.stringMatching(new RegExp(`^${p.file.replace(/\./g, '\\.')}:${p.line}: ${p.rule} \\(.{1,24}…\\)$`))]);
      for (const run of p.text.split(/[\s"'=:(),]+/).filter((t) => t.length >= 16 && /\d/.test(t))) expect(JSON.stringify(r.body)).not.toContain(run.slice(-12));
    }
    await expectNothingWritten(server, admin, before);
  });

  it('lists every place, in several files, and names a secret in the manifest itself', async () => {
    const [a, b] = plantedSecrets(8, 2);
    const r = await alice.publish(path, await makeTarball({ 'agent.yaml': yaml('1.0.0', '# token: "Zq8xP2mW9vL4nR7tK3jH5bC1"'), [a.file]: a.text, [`lib/${b.file}`]: b.text }));
    expect(r.status).toBe(422);
    expect(r.body.error).toContain('(3 places)');
    expect(r.body.details.map((d: string) => d.split(' ')[0])).toEqual(expect.arrayContaining(['agent.yaml:8:', `${a.file}:${a.line}:`, `lib/${b.file}:${b.line}:`]));
  });

  it('publishes when the line (or the line before) carries the allow comment, with placeholders, and with a key in a binary file', async () => {
    const p = plantedSecrets(42, 1)[0];
    const lines = p.text.split('\n');
    const allowed = [...lines.slice(0, p.line - 1), '# agentry:allow-secret (a revoked key kept for the docs)', ...lines.slice(p.line - 1)].join('\n');
    const binary = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]), Buffer.from(p.text)]).toString('latin1');
    const r = await alice.publish(
      path,
      await makeTarball({
        'agent.yaml': yaml('1.0.0'),
        [p.file]: allowed,
        'same-line.py': `${lines[p.line - 1]}  # agentry:allow-secret\n`,
        'docs/setup.md': standIns().join('\n'),
        'bin/tool': binary,
      }),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it('reads the first MiB of a large file: a secret there is found at its line, one past it is not read', async () => {
    const p = plantedSecrets(42, 1)[0];
    const filler = 'x = 1  # padding\n'.repeat(Math.ceil((1024 * 1024) / 17));
    const early = await alice.publish(path, await makeTarball({ 'agent.yaml': yaml('0.9.0'), 'data.py': `${'y = 2\n'.repeat(9)}${p.text}${filler}` }));
    expect(early.status).toBe(422);
    expect(early.body.details).toEqual([`data.py:${9 + p.line}: ${p.rule} (AKIA…)`]);
    const late = await alice.publish(path, await makeTarball({ 'agent.yaml': yaml('0.9.0'), 'data.py': `${filler}${p.text}` }));
    expect(late.status, JSON.stringify(late.body)).toBe(200);
  });

  it('refuses a secret in a skill, a server.json published through the MCP door, and a managed skill upload', async () => {
    const gh = plantedSecrets(42, 3)[2];
    const skill = await makeTarball({ 'SKILL.md': '---\nname: leaky\ndescription: Leaks\nmetadata:\n  version: 0.1.0\n---\n# Leaky\n', [gh.file]: gh.text });
    const s = await alice.publish('/api/v1/skills/@alice/leaky', skill);
    expect(s.status).toBe(422);
    expect(s.body.details).toEqual([`${gh.file}:${gh.line}: github-token (ghp_…)`]);

    const key = plantedSecrets(42, 11)[10].text.split('"')[1];
    const m = await alice.req('POST', '/v0.1/publish', { name: 'alice/leaky-server', description: `Use ${key} to call it`, version: '1.0.0' });
    expect(m.status).toBe(422);
    expect(JSON.stringify(m.body)).toContain('server.json:3: openai-api-key (sk-…)');
    expect(JSON.stringify(m.body)).not.toContain(key.slice(3));

    const upload = new FormData();
    upload.append('files', new Blob(['---\nname: leaky-managed\ndescription: Leaks\n---\n# Leaky\n']), 'SKILL.md');
    upload.append('files', new Blob([gh.text]), 'release.sh');
    const managed = await alice.req('POST', '/v1/skills', upload);
    expect(managed.status).toBe(422);
    expect(JSON.stringify(managed.body)).toContain(`release.sh:${gh.line}: github-token (ghp_…)`);
  });

  it('stores findings for risky agent permissions and unknown MCP registries, shown in the API', async () => {
    const risky = await alice.publish(path, await makeTarball({ 'agent.yaml': yaml('2.0.0', 'permissions: { filesystem: true, network: true, execute_commands: true }') }));
    expect(risky.status).toBe(200);
    const detail = await alice.req('GET', path);
    expect(detail.body.findings).toEqual([{ rule: 'risky-permissions', path: 'permissions', message: expect.stringContaining('filesystem, network and execute_commands') }]);
    const calm = await alice.publish(path, await makeTarball({ 'agent.yaml': yaml('2.1.0', 'permissions: { network: true }') }));
    expect(calm.status).toBe(200);
    const versions = await alice.with(undefined).req('GET', `${path}/versions`);
    expect(versions.body.versions.map((v: { version: string; findings: unknown[] }) => [v.version, v.findings.length])).toEqual([
      ['2.1.0', 0],
      ['2.0.0', 1],
      ['1.0.0', 0],
      ['0.9.0', 0],
    ]);
    expect((await alice.req('GET', path)).body.findings).toEqual([]);

    const server = { name: 'alice/mirrored', description: 'From elsewhere', version: '1.0.0' };
    const pkgs = [
      { registryType: 'npm', identifier: '@alice/mirrored', version: '1.0.0', transport: { type: 'stdio' } },
      { registryType: 'npm', registryBaseUrl: 'https://npm.corp.example', identifier: '@alice/mirrored', version: '1.0.0', transport: { type: 'stdio' } },
    ];
    expect((await alice.req('POST', '/v0.1/publish', { ...server, packages: pkgs })).status).toBe(200);
    const mcp = await admin.with(undefined).req('GET', '/api/v1/mcp-servers/@alice/mirrored');
    expect(mcp.body.findings).toEqual([{ rule: 'unknown-registry', path: 'packages[1].registryBaseUrl', message: expect.stringContaining('npm.corp.example') }]);
    // The MCP registry door shows them under this registry's own _meta key; a clean server has none.
    const view = await admin.with(undefined).req('GET', `/v0.1/servers/${encodeURIComponent('alice/mirrored')}/versions/latest`);
    expect(view.status).toBe(200);
    expect(view.body._meta['dev.agentry/findings']).toEqual([{ rule: 'unknown-registry', path: 'packages[1].registryBaseUrl', message: expect.stringContaining('npm.corp.example') }]);
    const listed = await admin.with(undefined).req('GET', '/v0.1/servers?search=alice/mirrored');
    expect(listed.body.servers[0]._meta['dev.agentry/findings']).toHaveLength(1);
    expect((await alice.req('POST', '/v0.1/publish', { name: 'alice/clean', description: 'From npm', version: '1.0.0', packages: [pkgs[0]] })).status).toBe(200);
    const clean = await admin.with(undefined).req('GET', `/v0.1/servers/${encodeURIComponent('alice/clean')}/versions/latest`);
    expect(clean.body._meta).not.toHaveProperty('dev.agentry/findings');
  });

  it('applies the same checks to a package pushed through /v2/: 422 naming file and line, findings when published', async () => {
    const oci = new OciClient(server.url).withToken(alice.token as string);
    const push = async (repo: string, tag: string, tarball: Buffer) => {
      await oci.pushBlob(repo, '{}');
      expect((await oci.pushBlob(repo, tarball)).status).toBe(201);
      const layer = { mediaType: 'application/vnd.agentry.package.layer.v1.tar+gzip', digest: sha256(tarball), size: tarball.length };
      return oci.pushManifest(repo, tag, {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.agentry.agent.v1',
        config: EMPTY_CONFIG,
        layers: [layer],
      });
    };
    const p = plantedSecrets(7, 1)[0];
    const ociYaml = (version: string, extra = '') => agentYaml({ name: 'pushed', version, scope: 'alice', extra });
    const leaky = await push('alice/pushed', '1.0.0', await makeTarball({ 'agent.yaml': ociYaml('1.0.0'), [p.file]: p.text }));
    expect(leaky.status).toBe(422);
    expect(leaky.json.errors[0].code).toBe('MANIFEST_INVALID');
    expect(JSON.stringify(leaky.json)).toContain(`${p.file}:${p.line}: ${p.rule}`);
    expect((await alice.req('GET', '/api/v1/agents/@alice/pushed')).status).toBe(404);
    const risky = await push('alice/pushed', '1.0.1', await makeTarball({ 'agent.yaml': ociYaml('1.0.1', 'permissions: { filesystem: true, network: true, execute_commands: true }') }));
    expect(risky.status).toBe(201);
    expect((await alice.req('GET', '/api/v1/agents/@alice/pushed')).body.findings).toEqual([expect.objectContaining({ rule: 'risky-permissions', path: 'permissions' })]);
  });
});
