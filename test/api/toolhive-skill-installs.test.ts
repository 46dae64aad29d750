import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, makeTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * ToolHive's skill install, list, details and uninstall routes (issue 15, point 4) over real HTTP:
 * this registry's skills written into MCP clients' skills folders below the server's clients home
 * (a temp dir, never the real user's), every success body checked against the shapes derived from
 * ToolHive's OpenAPI document (test/fixtures/toolhive-shapes.json).
 */
const fixture = JSON.parse(readFileSync(new URL('../fixtures/toolhive-shapes.json', import.meta.url), 'utf8')) as {
  shapes: Record<string, { status: number; schema: object }>;
};
const ajv = new Ajv({ strict: false, allErrors: true });
const conforms = (operation: string, res: { status: number; body: unknown }) => {
  const shape = fixture.shapes[operation];
  expect(shape, operation).toBeDefined();
  expect(res.status, `${operation}: ${JSON.stringify(res.body)}`).toBe(shape.status);
  const validate = ajv.compile(shape.schema);
  expect(validate(res.body) ? [] : validate.errors, `${operation} body ${JSON.stringify(res.body)}`).toEqual([]);
};

const skillMd = (name: string, version: string, body = `# ${name}\n`) =>
  `---\nname: ${name}\ndescription: Work with ${name} files.\nlicense: MIT\nmetadata:\n  version: "${version}"\n  author: acme\n  tags: docs pdf\n---\n${body}`;

describe.each(testStores)('ToolHive skill installs on %s', (store) => {
  let server: TestServer;
  let alice: Api;
  let bob: Api;
  let anon: Api;
  let home: string;
  const read = (...p: string[]) => readFileSync(join(home, ...p), 'utf8');
  const leftovers = (...p: string[]) => readdirSync(join(home, ...p)).filter((f) => f.includes('.agentry-'));

  beforeAll(async () => {
    server = await startTestServer({ store });
    home = join(server.dataDir, 'home');
    anon = new Api(server.url);
    const admin = anon.with(server.adminToken);
    alice = anon.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
    bob = anon.with((await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token);
    const v1 = await makeTarball({ 'SKILL.md': skillMd('pdf-tools', '1.0.0'), 'scripts/run.py': 'print("v1")\n', 'references/spec.md': '# spec\n' });
    expect((await alice.publish('/api/v1/skills/@alice/pdf-tools', v1)).status).toBe(200);
    const v2 = await makeTarball({ 'SKILL.md': skillMd('pdf-tools', '1.1.0'), 'scripts/run.py': 'print("v2")\n' });
    expect((await alice.publish('/api/v1/skills/@alice/pdf-tools', v2)).status).toBe(200);
    expect((await alice.publish('/api/v1/skills/@alice/notes', await makeTarball({ 'SKILL.md': skillMd('notes', '0.1.0') }))).status).toBe(200);
    expect((await bob.publish('/api/v1/skills/@bob/secret-recipe', await makeTarball({ 'SKILL.md': skillMd('secret-recipe', '1.0.0') }))).status).toBe(200);
    expect((await bob.req('PUT', '/api/v1/access/@bob/secret-recipe', { visibility: 'private' })).status).toBe(200);
    // Claude Code is "installed" on this home (its settings file exists); the other clients are not.
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, '.claude.json'), '{}\n');
  }, 60_000);
  afterAll(async () => server?.close());

  it('installs a registry skill into the chosen clients, lists it, shows it, upgrades it and uninstalls it', async () => {
    const installed = await alice.req('POST', '/api/v1beta/skills', { name: '@alice/pdf-tools', version: '1.0.0', clients: ['claude-code', 'cursor'] });
    conforms('POST /api/v1beta/skills', installed);
    expect(installed.headers.get('location')).toBe('/api/v1beta/skills/pdf-tools');
    expect(installed.body.skill).toMatchObject({
      metadata: { name: 'pdf-tools', version: '1.0.0', author: 'acme', tags: ['docs', 'pdf'] },
      scope: 'user',
      reference: '@alice/pdf-tools@1.0.0',
      tag: '1.0.0',
      status: 'installed',
      clients: ['claude-code', 'cursor'],
    });
    expect(installed.body.skill.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const dir of [
      ['.claude', 'skills'],
      ['.cursor', 'skills'],
    ]) {
      expect(read(...dir, 'pdf-tools', 'SKILL.md')).toBe(skillMd('pdf-tools', '1.0.0'));
      expect(read(...dir, 'pdf-tools', 'scripts', 'run.py')).toBe('print("v1")\n');
      expect(read(...dir, 'pdf-tools', 'references', 'spec.md')).toBe('# spec\n');
      expect(leftovers(...dir)).toEqual([]);
    }

    const list = await alice.req('GET', '/api/v1beta/skills');
    conforms('GET /api/v1beta/skills', list);
    expect(list.body.skills.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(['pdf-tools']);
    expect((await alice.req('GET', '/api/v1beta/skills?client=cursor&group=default&scope=user')).body.skills).toHaveLength(1);
    expect((await alice.req('GET', '/api/v1beta/skills?client=cline')).body.skills).toEqual([]);
    expect((await alice.req('GET', '/api/v1beta/skills?scope=project&project_root=/tmp/x')).body.skills).toEqual([]);
    // Installs are per account.
    expect((await bob.req('GET', '/api/v1beta/skills')).body.skills).toEqual([]);

    const info = await alice.req('GET', '/api/v1beta/skills/pdf-tools');
    conforms('GET /api/v1beta/skills/{name}', info);
    expect(info.body.metadata).toEqual({ name: 'pdf-tools', description: 'Work with pdf-tools files.', version: '1.0.0', author: 'acme', tags: ['docs', 'pdf'] });
    expect((await bob.req('GET', '/api/v1beta/skills/pdf-tools')).status).toBe(404);

    // The latest version, for one more client: every folder it is in gets the new files; files the new version dropped go.
    const upgraded = await alice.req('POST', '/api/v1beta/skills', { name: 'alice/pdf-tools', clients: ['copilot-cli'] });
    conforms('POST /api/v1beta/skills', upgraded);
    expect(upgraded.body.skill).toMatchObject({ tag: '1.1.0', reference: '@alice/pdf-tools@1.1.0', clients: ['claude-code', 'cursor', 'copilot-cli'] });
    for (const dir of [
      ['.claude', 'skills'],
      ['.cursor', 'skills'],
      ['.copilot', 'skills'],
    ]) {
      expect(read(...dir, 'pdf-tools', 'scripts', 'run.py')).toBe('print("v2")\n');
      expect(existsSync(join(home, ...dir, 'pdf-tools', 'references'))).toBe(false);
      expect(leftovers(...dir)).toEqual([]);
    }

    // Another account cannot take the folders alice's install holds, nor remove her install.
    const taken = await bob.req('POST', '/api/v1beta/skills', { name: '@alice/pdf-tools', clients: ['claude-code'] });
    expect(taken.status).toBe(409);
    expect(taken.body).toContain("another account's install");
    expect((await bob.req('DELETE', '/api/v1beta/skills/pdf-tools')).status).toBe(404);
    expect(read('.claude', 'skills', 'pdf-tools', 'scripts', 'run.py')).toBe('print("v2")\n');

    expect((await alice.req('DELETE', '/api/v1beta/skills/pdf-tools')).status).toBe(204);
    for (const dir of [
      ['.claude', 'skills'],
      ['.cursor', 'skills'],
      ['.copilot', 'skills'],
    ]) {
      expect(existsSync(join(home, ...dir, 'pdf-tools'))).toBe(false);
      expect(leftovers(...dir)).toEqual([]);
    }
    expect((await alice.req('DELETE', '/api/v1beta/skills/pdf-tools')).status).toBe(404);
    expect((await alice.req('GET', '/api/v1beta/skills/pdf-tools')).status).toBe(404);
    expect((await alice.req('GET', '/api/v1beta/skills')).body.skills).toEqual([]);
  });

  it('installs for every installed client that reads skills when no clients are named', async () => {
    const res = await bob.req('POST', '/api/v1beta/skills', { name: '@bob/secret-recipe', clients: ['all'] });
    conforms('POST /api/v1beta/skills', res);
    // Claude Code (.claude.json) and Cursor (.cursor, made by the first test) are installed here.
    expect(res.body.skill.clients).toEqual(expect.arrayContaining(['claude-code', 'cursor']));
    expect(res.body.skill.clients).not.toContain('cline');
    expect(read('.claude', 'skills', 'secret-recipe', 'SKILL.md')).toContain('name: secret-recipe');
    expect((await bob.req('DELETE', '/api/v1beta/skills/secret-recipe')).status).toBe(204);
  });

  it('refuses to replace a folder Agentry did not write unless forced', async () => {
    const dir = join(home, '.agents', 'skills', 'notes');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'SKILL.md'), 'my own notes\n');
    const refused = await alice.req('POST', '/api/v1beta/skills', { name: '@alice/notes', clients: ['codex'] });
    expect(refused.status).toBe(409);
    expect(refused.body).toContain('not installed by Agentry');
    expect(readFileSync(join(dir, 'SKILL.md'), 'utf8')).toBe('my own notes\n');
    expect((await alice.req('GET', '/api/v1beta/skills/notes')).status).toBe(404);

    const forced = await alice.req('POST', '/api/v1beta/skills', { name: '@alice/notes', clients: ['codex', 'gemini-cli'], force: true });
    conforms('POST /api/v1beta/skills', forced);
    expect(readFileSync(join(dir, 'SKILL.md'), 'utf8')).toBe(skillMd('notes', '0.1.0'));
    expect(leftovers('.agents', 'skills')).toEqual([]);
    expect((await alice.req('DELETE', '/api/v1beta/skills/notes')).status).toBe(204);
    expect(existsSync(dir)).toBe(false);
  });

  it('answers 404 for a skill the caller cannot read or that does not exist, and refuses bad input', async () => {
    const secret = await alice.req('POST', '/api/v1beta/skills', { name: '@bob/secret-recipe', clients: ['claude-code'] });
    expect(secret.status).toBe(404);
    expect(typeof secret.body).toBe('string');
    expect(existsSync(join(home, '.claude', 'skills', 'secret-recipe'))).toBe(false);
    expect((await alice.req('POST', '/api/v1beta/skills', { name: '@alice/nope', clients: ['claude-code'] })).status).toBe(404);
    expect((await alice.req('POST', '/api/v1beta/skills', { name: '@alice/pdf-tools', version: '9.9.9', clients: ['claude-code'] })).status).toBe(404);

    const bad: Array<[Record<string, unknown>, string]> = [
      [{ name: '@alice/pdf-tools', clients: ['notepad'] }, 'unsupported client'],
      [{ name: '@alice/pdf-tools', clients: ['zed'] }, 'does not read skills'],
      [{ name: '@alice/pdf-tools', clients: ['all', 'cursor'] }, "'all' cannot be combined"],
      [{ name: '@alice/pdf-tools', clients: [''] }, 'non-empty'],
      [{ name: '@alice/pdf-tools', scope: 'project', project_root: '/etc' }, 'Project-scoped'],
      [{ name: '@alice/pdf-tools', scope: 'global' }, "scope must be 'user' or 'project'"],
      [{ name: '@alice/pdf-tools@1.0.0', version: '1.1.0', clients: ['cursor'] }, 'not both'],
      [{ name: 'pdf-tools', clients: ['cursor'] }, 'names no scope'],
      [{ name: '../../etc/passwd', clients: ['cursor'] }, ''],
      [{ name: '@alice/pdf-tools', group: '../etc', clients: ['cursor'] }, 'group'],
      [{ name: '', clients: ['cursor'] }, 'name is required'],
      [{ clients: ['cursor'] }, ''],
    ];
    for (const [body, says] of bad) {
      const res = await alice.req('POST', '/api/v1beta/skills', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(typeof res.body).toBe('string');
      expect(res.body, JSON.stringify(body)).toContain(says);
    }
    expect((await alice.req('POST', '/api/v1beta/skills', { name: '@alice/pdf-tools', group: 'nowhere', clients: ['cursor'] })).status).toBe(404);
    for (const path of ['..%2F..%2Fetc', '..%2F', 'a%2F..', 'Bad_Name', 'a--b', '-x', `${'a'.repeat(65)}`]) {
      expect((await alice.req('GET', `/api/v1beta/skills/${path}`)).status, path).toBe(400);
      expect((await alice.req('DELETE', `/api/v1beta/skills/${path}`)).status, path).toBe(400);
    }
    expect((await alice.req('GET', '/api/v1beta/skills?scope=global')).status).toBe(400);
    expect((await anon.req('GET', '/api/v1beta/skills')).status).toBe(401);
    expect((await anon.req('POST', '/api/v1beta/skills', { name: '@alice/notes', clients: ['cursor'] })).status).toBe(401);
    expect((await alice.req('POST', '/api/v1beta/skills', '{not json', { 'content-type': 'application/json' })).status).toBe(400);
    // Nothing of the refused installs reached the folders.
    expect(existsSync(join(home, '.cursor', 'skills', 'pdf-tools'))).toBe(false);
  });

  it('keeps the validate and content routes, with ToolHive shapes; project sync and upgrade are 501', async () => {
    conforms('POST /api/v1beta/skills/validate', await alice.req('POST', '/api/v1beta/skills/validate', { ref: '@alice/notes' }));
    conforms('GET /api/v1beta/skills/content', await alice.req('GET', '/api/v1beta/skills/content?ref=@alice/notes'));
    expect((await alice.req('GET', '/api/v1beta/skills/content?ref=@bob/secret-recipe')).status).toBe(404);
    for (const op of ['sync', 'upgrade']) {
      const res = await alice.req('POST', `/api/v1beta/skills/${op}`, { project_root: '/tmp' });
      expect(res.status).toBe(501);
      expect(res.body).toContain('Project skills are not offered');
    }
  });
});
