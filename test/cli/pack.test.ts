import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/cli-error.js';
import { extractToNewFolder } from '../../src/cli/extract.js';
import { collectFiles, packFolder } from '../../src/cli/pack.js';

const AGENT = 'name: helper\nversion: 1.2.0\ndescription: Helps\nauthor: "@alice"\n';

describe('pack', () => {
  let dir: string;
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(dir, 'pkg', path)), { recursive: true });
    writeFileSync(join(dir, 'pkg', path), content);
  };
  const pkg = (): string => join(dir, 'pkg');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-pack-'));
    mkdirSync(join(dir, 'pkg'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('packs the folder with the manifest at the root, skipping .git, node_modules, *.tgz and .agentryignore patterns', async () => {
    write('agent.yaml', AGENT);
    write('README.md', '# helper\n');
    write('prompts/system.md', 'You help.');
    write('.git/HEAD', 'ref');
    write('node_modules/x/index.js', '');
    write('sub/node_modules/y.js', '');
    write('old-1.0.0.tgz', 'x');
    write('notes.log', 'x');
    write('drafts/a.md', 'x');
    write('.agentryignore', '*.log\ndrafts/\n');
    const packed = await packFolder(pkg());
    expect(packed.files).toEqual(['.agentryignore', 'README.md', 'agent.yaml', 'prompts/system.md']);
    expect(packed.manifest).toMatchObject({ kind: 'agent', name: 'helper', version: '1.2.0', scope: 'alice' });
    expect(packed.readme).toBe('# helper\n');
    expect(packed.size).toBe(packed.tarball.length);
    expect(packed.sha256).toMatch(/^[0-9a-f]{64}$/);

    await extractToNewFolder(packed.tarball, join(dir, 'out'));
    expect(readFileSync(join(dir, 'out/agent.yaml'), 'utf8')).toBe(AGENT);
    expect(readFileSync(join(dir, 'out/prompts/system.md'), 'utf8')).toBe('You help.');
  });

  it('writes relative, portable entries and packs the same files to the same bytes', async () => {
    write('agent.yaml', AGENT);
    const first = await packFolder(pkg());
    const second = await packFolder(pkg());
    expect(second.sha256).toBe(first.sha256);
    const { Parser } = await import('tar');
    const paths: string[] = [];
    await new Promise<void>((resolve) => {
      const p = new Parser({
        onReadEntry: (e) => {
          paths.push(e.path);
          expect(e.header.uid ?? 0).toBe(0);
          e.resume();
        },
      });
      p.on('end', () => resolve());
      p.end(first.tarball);
    });
    expect(paths).toEqual(['agent.yaml']);
  });

  it('refuses symlinks pointing outside the folder, keeps those inside', async () => {
    write('agent.yaml', AGENT);
    write('docs/a.md', 'a');
    symlinkSync('docs/a.md', join(pkg(), 'a.md'));
    expect(await collectFiles(pkg())).toEqual(['a.md', 'agent.yaml', 'docs/a.md']);

    symlinkSync('/etc/passwd', join(pkg(), 'passwd'));
    await expect(collectFiles(pkg())).rejects.toThrow("refusing to pack symlink 'passwd' -> '/etc/passwd': it points outside the folder");
    rmSync(join(pkg(), 'passwd'));
    symlinkSync('../../outside', join(pkg(), 'docs/up'));
    await expect(collectFiles(pkg())).rejects.toThrow(/refusing to pack symlink 'docs\/up' -> '\.\.\/\.\.\/outside'/);
  });

  it('reads kind, name and version from whichever manifest is present', async () => {
    write('SKILL.md', '---\nname: pdf\ndescription: PDFs\nmetadata:\n  version: 0.3.0\n  scope: acme\n---\n# PDF\n');
    expect((await packFolder(pkg())).manifest).toMatchObject({ kind: 'skill', name: 'pdf', version: '0.3.0', scope: 'acme', scopeIsBinding: false });
    rmSync(join(pkg(), 'SKILL.md'));
    write('server.json', JSON.stringify({ name: 'io.github.alice/weather', description: 'Weather', version: '2.0.0' }));
    expect((await packFolder(pkg())).manifest).toMatchObject({ kind: 'mcp-server', name: 'weather', version: '2.0.0', scope: 'io.github.alice', scopeIsBinding: true });
    rmSync(join(pkg(), 'server.json'));
    write('recipe.yaml', 'name: summarize\nversion: 0.1.0\nauthor: "@bob"\n');
    expect((await packFolder(pkg())).manifest).toMatchObject({ kind: 'recipe', name: 'summarize', version: '0.1.0', scope: 'bob' });
  });

  it('refuses a folder with no manifest, two manifests, a bad version or an ignored manifest', async () => {
    await expect(packFolder(pkg())).rejects.toThrow(/no manifest in .*expected one of agent.yaml, SKILL.md, server.json, recipe.yaml/);
    write('agent.yaml', AGENT);
    write('recipe.yaml', 'name: x\nversion: 1.0.0\n');
    await expect(packFolder(pkg())).rejects.toThrow(/more than one manifest .*agent.yaml, recipe.yaml/);
    rmSync(join(pkg(), 'recipe.yaml'));
    write('agent.yaml', AGENT.replace('1.2.0', 'v1'));
    const bad = await packFolder(pkg()).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CliError);
    expect((bad as CliError).details).toEqual(["agent.yaml: version 'v1' is not valid semver"]);
    write('agent.yaml', AGENT);
    write('.agentryignore', '*.yaml\n');
    await expect(packFolder(pkg())).rejects.toThrow('agent.yaml is excluded by .agentryignore; the manifest must be packed');
  });
});
