import { describe, expect, it } from 'vitest';
import { makeTarball } from '../../../test/helpers/packages.js';
import { rawTarGz } from '../../../test/helpers/raw-tar.js';
import { isAgentryError } from '../errors.js';
import { checkSkillMd, validateSkillFolder, type SkillEntry } from '../packages/manifest/skill-md.js';
import { readSkillArchive } from './skill-archive.js';
import { parseSkillRef } from './skill-ref.js';

const LIMITS = { maxUnpackedBytes: 10 * 1024 * 1024, maxFiles: 100, maxTextFileBytes: 1024 * 1024 };
const md = (front: string, body = '# Steps\nDo the thing.\n') => `---\n${front}\n---\n${body}`;
const VALID = md('name: pdf-tools\ndescription: Extract text and tables from PDF files.\nmetadata:\n  version: "1.0.0"');
const errorsOf = (text: string) => checkSkillMd(text).errors;
const fileEntry = (path: string): SkillEntry => ({ path, type: 'file', size: 1 });

describe('SKILL.md rules (agentskills.io specification)', () => {
  it('accepts the minimal skill and every optional field', () => {
    expect(checkSkillMd(VALID)).toMatchObject({ errors: [], warnings: [], document: { name: 'pdf-tools', license: null, allowedTools: [] } });
    const full = checkSkillMd(
      md(
        [
          'name: a1-b2',
          'description: Does things.',
          'license: Apache-2.0',
          `compatibility: ${'c'.repeat(500)}`,
          'metadata:\n  author: acme\n  version: "1.2.0"',
          'allowed-tools: Bash(git:*) Read',
        ].join('\n'),
      ),
    );
    expect(full.errors).toEqual([]);
    expect(full.document).toMatchObject({ name: 'a1-b2', license: 'Apache-2.0', metadata: { author: 'acme', version: '1.2.0' }, allowedTools: ['Bash(git:*)', 'Read'], version: '1.2.0' });
    expect(checkSkillMd(md(`name: ${'a'.repeat(64)}\ndescription: ${'d'.repeat(1024)}`)).errors).toEqual([]);
    expect(checkSkillMd(md('name: x\ndescription: y'))).toMatchObject({
      errors: [],
      warnings: ['SKILL.md: no metadata.version; publishing to Agentry needs one (or a version sent with the upload)'],
    });
  });

  it('requires front matter that is a YAML mapping', () => {
    expect(errorsOf('# Just markdown\n')).toEqual(["SKILL.md: must start with YAML front matter between '---' lines"]);
    expect(errorsOf('---\nname: [unclosed\n---\n')).toEqual([expect.stringMatching(/^SKILL\.md: not valid YAML/)]);
    expect(errorsOf('---\n- a list\n---\n')).toEqual(['SKILL.md: must be a YAML mapping']);
  });

  it('checks name: required, 1-64 of a-z, 0-9 and single hyphens, not leading or trailing', () => {
    const hint = 'must be lower-case letters (a-z), digits and single hyphens, not starting or ending with a hyphen';
    expect(errorsOf(md('description: d'))).toEqual(["SKILL.md: missing required field 'name'"]);
    expect(errorsOf(md("name: ''\ndescription: d"))).toEqual(["SKILL.md: missing required field 'name'"]);
    for (const bad of ['PDF-tools', '-pdf', 'pdf-', 'pdf--tools', 'pdf_tools', 'pdf tools', 'pdf.tools', 'café']) {
      expect(errorsOf(md(`name: "${bad}"\ndescription: d`)), bad).toEqual([`SKILL.md: field 'name' value '${bad}' ${hint}`]);
    }
    expect(errorsOf(md(`name: ${'a'.repeat(65)}\ndescription: d`))).toEqual(["SKILL.md: field 'name' is longer than 64 characters"]);
    expect(errorsOf(md('name: 42\ndescription: d'))).toEqual(["SKILL.md: field 'name' must be a string"]);
  });

  it('checks description: required, non-blank, at most 1024 characters', () => {
    expect(errorsOf(md('name: x'))).toEqual(["SKILL.md: missing required field 'description'"]);
    expect(errorsOf(md('name: x\ndescription: "   "'))).toEqual(["SKILL.md: field 'description' must not be blank"]);
    expect(errorsOf(md(`name: x\ndescription: ${'d'.repeat(1025)}`))).toEqual(["SKILL.md: field 'description' is longer than 1024 characters"]);
    expect(errorsOf(md('name: x\ndescription: [a]'))).toEqual(["SKILL.md: field 'description' must be a string"]);
  });

  it('checks compatibility (at most 500), license and allowed-tools (strings), metadata (a string map)', () => {
    expect(errorsOf(md(`name: x\ndescription: d\ncompatibility: ${'c'.repeat(501)}`))).toEqual(["SKILL.md: field 'compatibility' is longer than 500 characters"]);
    expect(errorsOf(md('name: x\ndescription: d\nlicense: [MIT]'))).toEqual(["SKILL.md: field 'license' must be a string"]);
    expect(errorsOf(md('name: x\ndescription: d\nallowed-tools: [Read, Bash]'))).toEqual(["SKILL.md: field 'allowed-tools' must be a string"]);
    expect(errorsOf(md('name: x\ndescription: d\nmetadata: text'))).toEqual(["SKILL.md: field 'metadata' must be a mapping"]);
    expect(errorsOf(md('name: x\ndescription: d\nmetadata:\n  stars: 5\n  nested:\n    a: b'))).toEqual([
      'SKILL.md: metadata.stars must be a string (quote it: "5")',
      'SKILL.md: metadata.nested must be a string (quote it: "{"a":"b"}")',
    ]);
    expect(errorsOf(md('name: x\ndescription: d\nmetadata:\n  version: "1.0"'))).toEqual(["SKILL.md: metadata.version '1.0' is not valid semver"]);
  });

  it('refuses fields the specification does not define', () => {
    expect(errorsOf(md('name: x\ndescription: d\nversion: 1.0.0\nauthor: me'))).toEqual(["SKILL.md: unknown field 'version'", "SKILL.md: unknown field 'author'"]);
  });

  it('reports every violation at once', () => {
    expect(errorsOf(md(`name: Bad--Name\ncompatibility: ${'c'.repeat(501)}\nmetadata:\n  n: 1\nextra: true`))).toEqual([
      "SKILL.md: unknown field 'extra'",
      "SKILL.md: field 'name' value 'Bad--Name' must be lower-case letters (a-z), digits and single hyphens, not starting or ending with a hyphen",
      "SKILL.md: missing required field 'description'",
      "SKILL.md: field 'compatibility' is longer than 500 characters",
      'SKILL.md: metadata.n must be a string (quote it: "1")',
    ]);
  });

  it('warns about an empty body and a SKILL.md over 500 lines', () => {
    const versioned = 'name: x\ndescription: d\nmetadata:\n  version: "1.0.0"';
    expect(checkSkillMd(md(versioned, '')).warnings).toEqual(['SKILL.md: has no instructions after the front matter']);
    expect(checkSkillMd(md(versioned, 'line\n'.repeat(600))).warnings).toEqual([expect.stringMatching(/recommends under 500/)]);
  });
});

describe('skill folder rules', () => {
  it('requires SKILL.md and the name to equal the folder name', () => {
    expect(validateSkillFolder({ folderName: 'pdf-tools', skillMd: VALID, entries: [fileEntry('SKILL.md')] })).toMatchObject({ valid: true, errors: [] });
    expect(validateSkillFolder({ folderName: 'pdf-tools', entries: [] }).errors).toEqual(['SKILL.md: missing; a skill is a folder with SKILL.md at its root']);
    expect(validateSkillFolder({ folderName: 'other', skillMd: VALID, entries: [] }).errors).toEqual(["SKILL.md: name 'pdf-tools' must equal the skill's folder name 'other'"]);
    expect(validateSkillFolder({ folderName: 'PDF-Tools', skillMd: VALID, entries: [] }).valid).toBe(false);
    // The folder rule is reported beside the front matter's own problems.
    expect(validateSkillFolder({ folderName: 'other', skillMd: md('name: pdf-tools'), entries: [] }).errors).toEqual([
      "SKILL.md: missing required field 'description'",
      "SKILL.md: name 'pdf-tools' must equal the skill's folder name 'other'",
    ]);
    expect(validateSkillFolder({ skillMd: VALID, entries: [] }).warnings).toEqual(["SKILL.md: the folder name is unknown, so 'name' could not be compared with it"]);
  });

  it('takes scripts/, references/ and assets/ as folders only', () => {
    const dirs: SkillEntry[] = ['scripts', 'references', 'assets'].map((path) => ({ path, type: 'directory', size: 0 }));
    expect(validateSkillFolder({ folderName: 'pdf-tools', skillMd: VALID, entries: [...dirs, fileEntry('scripts/run.sh'), fileEntry('LICENSE.txt')] }).valid).toBe(true);
    expect(validateSkillFolder({ folderName: 'pdf-tools', skillMd: VALID, entries: [fileEntry('scripts'), { path: 'assets', type: 'symlink', size: 0 }] }).errors).toEqual([
      "scripts: must be a folder (the specification's optional scripts/ directory), not a file",
      "assets: must be a folder (the specification's optional assets/ directory), not a symlink",
    ]);
  });
});

describe('reading a skill archive', () => {
  it('finds SKILL.md at the root (folder name given) or in one top-level folder (its name)', async () => {
    const root = await readSkillArchive(await makeTarball({ 'SKILL.md': VALID, 'scripts/x.sh': 'echo' }), LIMITS, 'pdf-tools');
    expect(validateSkillFolder(root)).toMatchObject({ valid: true });
    const nested = await readSkillArchive(await makeTarball({ 'pdf-tools/SKILL.md': VALID, 'pdf-tools/references/a.md': 'a' }), LIMITS);
    expect(nested.folderName).toBe('pdf-tools');
    expect(nested.entries.map((e) => e.path)).toContain('references/a.md');
    expect(validateSkillFolder(nested)).toMatchObject({ valid: true });
    const wrong = await readSkillArchive(await makeTarball({ 'other/SKILL.md': VALID }), LIMITS);
    expect(validateSkillFolder(wrong).errors).toEqual(["SKILL.md: name 'pdf-tools' must equal the skill's folder name 'other'"]);
    const none = await readSkillArchive(await makeTarball({ 'a/README.md': 'x', 'b/SKILL.md': VALID }), LIMITS);
    expect(validateSkillFolder(none).errors).toEqual(['SKILL.md: missing; a skill is a folder with SKILL.md at its root']);
  });

  it('refuses hostile archives with the package tarball rules', async () => {
    const escape = rawTarGz([
      { path: 'SKILL.md', body: VALID },
      { path: '../evil.sh', body: 'x' },
    ]);
    await expect(readSkillArchive(escape, LIMITS)).rejects.toSatisfy((e: unknown) => isAgentryError(e) && e.status === 400 && e.details.some((d) => d.includes("escapes the package with '..'")));
    const link = rawTarGz([
      { path: 'SKILL.md', body: VALID },
      { path: 'scripts', type: 'symlink', linkpath: '/etc' },
    ]);
    await expect(readSkillArchive(link, LIMITS)).rejects.toSatisfy((e: unknown) => isAgentryError(e) && e.details.some((d) => d.includes('points outside the package')));
  });
});

describe('skill references', () => {
  it('parses Agentry package references', () => {
    expect(parseSkillRef('@alice/pdf-tools')).toEqual({ kind: 'package', scope: 'alice', name: 'pdf-tools', version: undefined });
    expect(parseSkillRef('@alice/pdf-tools@1.2.0')).toEqual({ kind: 'package', scope: 'alice', name: 'pdf-tools', version: '1.2.0' });
    expect(parseSkillRef('io.github.alice/pdf-tools@beta')).toEqual({ kind: 'package', scope: 'io.github.alice', name: 'pdf-tools', version: 'beta' });
  });

  it('parses OCI references: three or more components, a host with a port, or a digest', () => {
    expect(parseSkillRef('ghcr.io/acme/skills/pdf:1.0.0')).toEqual({ kind: 'oci', host: 'ghcr.io', repository: ['acme', 'skills', 'pdf'], reference: '1.0.0' });
    expect(parseSkillRef('LocalHost:8080/alice/pdf-tools')).toEqual({ kind: 'oci', host: 'localhost:8080', repository: ['alice', 'pdf-tools'], reference: 'latest' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseSkillRef(`127.0.0.1:5000/alice/pdf-tools:1.0.0@${digest}`)).toEqual({ kind: 'oci', host: '127.0.0.1:5000', repository: ['alice', 'pdf-tools'], reference: digest });
  });

  it('refuses git, URL and malformed references with a message saying what is accepted', () => {
    const message = (ref: string): string => {
      try {
        parseSkillRef(ref);
      } catch (e) {
        if (isAgentryError(e) && e.status === 400) return e.message;
      }
      throw new Error(`${ref} was accepted`);
    };
    expect(message('git://github.com/acme/skills')).toMatch(/git or URL reference.*@scope\/name\[@version\]/);
    expect(message('https://example.com/skill.tgz')).toMatch(/git or URL reference/);
    expect(message('')).toMatch(/ref is required/);
    expect(message('@alice')).toMatch(/not a skill reference/);
    expect(message('@alice/pdf-tools@')).toMatch(/names no version/);
    expect(message('@al ice/x')).toMatch(/Invalid package name/);
    expect(message('localhost:8080/alice//x')).toMatch(/not an OCI reference/);
    expect(message('localhost:8080/alice/x:')).toMatch(/not an OCI reference/);
  });
});
