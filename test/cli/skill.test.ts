import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

const skillMd = (name: string, version = '1.0.0', extra = '') =>
  `---\nname: ${name}\ndescription: Fill in PDF forms.\nlicense: MIT\nmetadata:\n  version: "${version}"${extra}\n---\n# ${name}\n\nUse scripts/fill.py.\n`;

describe('agentry skill validate|publish|pull', () => {
  let server: TestServer;
  let ws: CliWorkspace;

  const writeSkill = (folder: string, md: string, files: Record<string, string> = {}): void => {
    mkdirSync(ws.path(folder), { recursive: true });
    writeFileSync(ws.path(folder, 'SKILL.md'), md);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(ws.path(folder, path, '..'), { recursive: true });
      writeFileSync(ws.path(folder, path), text);
    }
  };

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    ws = new CliWorkspace(server.url);
    const alice = await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', server.adminToken]);
    await ws.ok(['login', '--token', alice.token]);
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('validates a local folder without a registry, and says what is wrong, all at once', async () => {
    writeSkill('pdf-forms', skillMd('pdf-forms'), { 'scripts/fill.py': 'print(1)\n' });
    const offline = new CliWorkspace('http://127.0.0.1:9');
    try {
      writeFileSync(offline.path('SKILL.md'), '');
      const r = await offline.run(['skill', 'validate', ws.path('pdf-forms')]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${ws.path('pdf-forms')}: a valid skill\n`);
    } finally {
      offline.cleanup();
    }
    expect(await ws.json(['skill', 'validate', 'pdf-forms'])).toEqual({ path: ws.path('pdf-forms'), valid: true, errors: [], warnings: [] });

    writeSkill('wrong-folder', `---\nname: Other--Name\ndescription: ""\nmetadata:\n  pages: 3\nauthor: me\n---\n`, { assets: 'a file, not a folder' });
    const bad = await ws.run(['skill', 'validate', 'wrong-folder']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(
      [
        "error: SKILL.md: unknown field 'author'",
        "error: SKILL.md: field 'name' value 'Other--Name' must be lower-case letters (a-z), digits and single hyphens, not starting or ending with a hyphen",
        "error: SKILL.md: missing required field 'description'",
        'error: SKILL.md: metadata.pages must be a string (quote it: "3")',
        "error: SKILL.md: name 'Other--Name' must equal the skill's folder name 'wrong-folder'",
        "error: assets: must be a folder (the specification's optional assets/ directory), not a file",
        'warning: SKILL.md: has no instructions after the front matter',
        'warning: SKILL.md: no metadata.version; publishing to Agentry needs one (or a version sent with the upload)',
        '',
      ].join('\n'),
    );
    expect(bad.stderr).toBe('agentry: wrong-folder is not a valid skill (6 errors)\n');
    const json = await ws.run(['skill', 'validate', 'wrong-folder', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, errors: expect.any(Array) });

    mkdirSync(ws.path('empty'));
    expect((await ws.run(['skill', 'validate', 'empty'])).stdout).toBe('error: SKILL.md: missing; a skill is a folder with SKILL.md at its root\n');
    const missing = await ws.run(['skill', 'validate', 'nope']);
    expect(missing).toMatchObject({ code: 1, stderr: 'agentry: no such folder: nope\n' });
  });

  it('refuses a symlink leaving the folder', async () => {
    writeSkill('leaky', skillMd('leaky'));
    symlinkSync('/etc/passwd', ws.path('leaky', 'passwd'));
    const r = await ws.run(['skill', 'validate', 'leaky']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error: .*passwd/);
  });

  it('publishes only a valid skill, and pulls skills only', async () => {
    const refused = await ws.run(['skill', 'publish', 'wrong-folder']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^agentry: wrong-folder is not a valid skill; nothing was published\n {2}SKILL\.md: unknown field 'author'\n/);

    const published = await ws.json<{ full_name: string; version: string; kind: string }>(['skill', 'publish', 'pdf-forms']);
    expect(published).toMatchObject({ full_name: '@alice/pdf-forms', version: '1.0.0', kind: 'skill' });
    writeFileSync(ws.path('pdf-forms', 'SKILL.md'), skillMd('pdf-forms', '1.1.0'));
    expect((await ws.ok(['skill', 'publish', 'pdf-forms', '--tag', 'next'])).trim()).toMatch(/^Published @alice\/pdf-forms@1\.1\.0/);

    const pulled = await ws.json<{ version: string; path: string }>(['skill', 'pull', '@alice/pdf-forms@1.0.0', '--out', 'pulled']);
    expect(pulled.version).toBe('1.0.0');
    expect(readFileSync(ws.path('pulled', 'SKILL.md'), 'utf8')).toBe(skillMd('pdf-forms'));
    expect(readFileSync(ws.path('pulled', 'scripts', 'fill.py'), 'utf8')).toBe('print(1)\n');
    // Pulled into a folder named after it, the latest version validates as it was published.
    mkdirSync(ws.path('fresh'));
    expect((await ws.json<{ version: string }>(['skill', 'pull', '@alice/pdf-forms'], { cwd: ws.path('fresh') })).version).toBe('1.1.0');
    expect((await ws.json<{ valid: boolean }>(['skill', 'validate', 'fresh/pdf-forms'])).valid).toBe(true);

    await ws.ok(['init', 'agent-x', '--kind', 'agent', '--name', 'agent-x', '--scope', 'alice']);
    await ws.ok(['publish', 'agent-x']);
    const notSkill = await ws.run(['skill', 'pull', '@alice/agent-x', '--out', 'x']);
    expect(notSkill.code).toBe(4);
    expect(notSkill.stderr).toMatch(/Skill not found/);
  });
});
