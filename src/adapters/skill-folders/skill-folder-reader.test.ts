import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAgentryError } from '../../core/errors.js';
import { validateSkillFolder } from '../../core/packages/manifest/skill-md.js';
import { readSkillFolder, resolveSkillPath } from './skill-folder-reader.js';

const LIMITS = { maxUnpackedBytes: 10 * 1024 * 1024, maxFiles: 100, maxTextFileBytes: 1024 * 1024 };
const md = (front: string, body = '# Steps\nDo the thing.\n') => `---\n${front}\n---\n${body}`;
const VALID = md('name: pdf-tools\ndescription: Extract text and tables from PDF files.\nmetadata:\n  version: "1.0.0"');

describe('server-side skill folders', () => {
  const base = mkdtempSync(join(tmpdir(), 'agentry-skills-root-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'pdf-tools', 'scripts'), { recursive: true });
  writeFileSync(join(root, 'pdf-tools', 'SKILL.md'), VALID);
  writeFileSync(join(root, 'pdf-tools', 'scripts', 'run.sh'), 'echo hi\n');
  mkdirSync(join(outside, 'secret-skill'), { recursive: true });
  writeFileSync(join(outside, 'secret-skill', 'SKILL.md'), md('name: secret-skill\ndescription: d'));
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0');
  symlinkSync(join(outside, 'secret-skill'), join(root, 'linked-out'));
  mkdirSync(join(root, 'leaky'), { recursive: true });
  writeFileSync(join(root, 'leaky', 'SKILL.md'), md('name: leaky\ndescription: d'));
  symlinkSync(join(outside, 'passwd'), join(root, 'leaky', 'passwd'));
  mkdirSync(join(root, 'md-link'), { recursive: true });
  symlinkSync(join(outside, 'secret-skill', 'SKILL.md'), join(root, 'md-link', 'SKILL.md'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const refusal = async (p: Promise<unknown>): Promise<{ status: number; message: string }> => {
    try {
      await p;
    } catch (e) {
      if (isAgentryError(e)) return { status: e.status, message: e.message };
      throw e;
    }
    throw new Error('expected a refusal');
  };

  it('reads a folder under the root, by relative or absolute path', async () => {
    const dir = await resolveSkillPath(root, 'pdf-tools');
    expect(await resolveSkillPath(root, join(root, 'pdf-tools'))).toBe(dir);
    const input = await readSkillFolder(dir, LIMITS);
    expect(input.folderName).toBe('pdf-tools');
    expect(input.entries).toEqual(expect.arrayContaining([{ path: 'scripts/run.sh', type: 'file', size: 8 }]));
    expect(validateSkillFolder(input)).toMatchObject({ valid: true, errors: [] });
  });

  it('refuses paths when no root is configured, and .., absolute paths and symlinks leading out', async () => {
    expect(await refusal(resolveSkillPath(undefined, 'pdf-tools'))).toMatchObject({ status: 403, message: expect.stringMatching(/AGENTRY_SKILLS_ROOT/) });
    expect(await refusal(resolveSkillPath(root, '../outside/secret-skill'))).toMatchObject({ status: 403, message: expect.stringMatching(/outside the server's skills root/) });
    expect(await refusal(resolveSkillPath(root, 'pdf-tools/../../outside'))).toMatchObject({ status: 403 });
    expect(await refusal(resolveSkillPath(root, join(outside, 'secret-skill')))).toMatchObject({ status: 403 });
    expect(await refusal(resolveSkillPath(root, '/etc'))).toMatchObject({ status: 403 });
    expect(await refusal(resolveSkillPath(root, 'linked-out'))).toMatchObject({ status: 403, message: expect.stringMatching(/symbolic link/) });
    expect(await refusal(resolveSkillPath(root, 'missing'))).toMatchObject({ status: 404 });
    expect(await refusal(resolveSkillPath(root, 'pdf-tools/SKILL.md'))).toMatchObject({ status: 400 });
    expect(await refusal(resolveSkillPath(root, ''))).toMatchObject({ status: 400 });
  });

  it('never reads through a symlink inside the folder', async () => {
    const leaky = validateSkillFolder(await readSkillFolder(await resolveSkillPath(root, 'leaky'), LIMITS));
    expect(leaky.errors).toEqual(['passwd: symbolic link points outside the skill folder']);
    const mdLink = validateSkillFolder(await readSkillFolder(await resolveSkillPath(root, 'md-link'), LIMITS));
    expect(mdLink.errors).toEqual(expect.arrayContaining(['SKILL.md: must be a regular file, not a symlink', 'SKILL.md: symbolic link points outside the skill folder']));
  });
});
