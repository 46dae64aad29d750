import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { expectManagedError, sdkFor, startManagedFixture, type ManagedFixture } from './managed-harness.js';

const skillMd = (name: string, description = `The ${name} skill`, extra = '') => `---\nname: ${name}\ndescription: ${description}\n${extra}---\n\n# ${name}\n\nDo the thing.\n`;

const form = (files: Array<{ path: string; data: string | Uint8Array; field?: string }>, fields: Record<string, string> = {}) => {
  const f = new FormData();
  for (const file of files) f.append(file.field ?? 'files', new Blob([file.data]), file.path);
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
};

describe.each(testStores)('managed skills (%s)', (store) => {
  let f: ManagedFixture;
  beforeAll(async () => {
    f = await startManagedFixture(store);
  });
  afterAll(() => f?.server.close());

  it('uploads a skill folder through the SDK, versions it, downloads content and deletes it', async () => {
    const created = await f.sdk.beta.skills.create({
      display_name: 'PDF tools',
      files: [await toFile(Buffer.from(skillMd('pdf-tools')), 'pdf-tools/SKILL.md'), await toFile(Buffer.from('print("hi")\n'), 'pdf-tools/scripts/run.py')],
    });
    expect(created).toMatchObject({ type: 'skill', display_name: 'PDF tools', source: { type: 'custom' }, latest_version_id: '1.0.0' });
    expect((await f.sdk.beta.skills.retrieve(created.id)).display_name).toBe('PDF tools');

    const v2 = await f.sdk.beta.skills.versions.create(created.id, {
      files: [await toFile(Buffer.from(skillMd('pdf-tools', 'Better PDF tools')), 'pdf-tools/SKILL.md')],
    });
    expect(v2).toMatchObject({ type: 'skill_version', id: '1.0.1', skill_id: created.id, name: 'pdf-tools', description: 'Better PDF tools' });
    const versions: string[] = [];
    for await (const v of f.sdk.beta.skills.versions.list(created.id, { limit: 1 })) versions.push(v.id);
    expect(versions).toEqual(['1.0.1', '1.0.0']);
    expect(await f.sdk.beta.skills.versions.retrieve('1.0.0', { skill_id: created.id })).toMatchObject({ id: '1.0.0', description: 'The pdf-tools skill' });

    const content = await f.sdk.beta.skills.versions.download('1.0.0', { skill_id: created.id });
    const tar = gunzipSync(Buffer.from(await content.arrayBuffer())).toString('latin1');
    expect(tar).toContain('SKILL.md');
    expect(tar).toContain('scripts/run.py');

    // A managed skill is a private managed object, never a package: no package door lists or serves it.
    expect((await f.alice.req('GET', '/api/v1/packages/@alice/pdf-tools/versions')).status).toBe(404);
    expect(JSON.stringify((await f.alice.req('GET', '/api/v1/skills?q=pdf-tools')).body)).not.toContain('pdf-tools');

    for (let i = 0; i < 3; i++) await f.sdk.beta.skills.create({ files: [await toFile(Buffer.from(skillMd(`page-${i}`)), `page-${i}/SKILL.md`)] });
    const ids: string[] = [];
    for await (const s of f.sdk.beta.skills.list({ limit: 2 })) ids.push(s.id);
    expect(ids).toContain(created.id);
    expect(new Set(ids).size).toBe(ids.length);

    expect(await f.sdk.beta.skills.delete(created.id)).toMatchObject({ id: created.id, type: 'skill_deleted' });
    await expect(f.sdk.beta.skills.retrieve(created.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("serves 002's upload (id, display_title, description, files), file download and delete", async () => {
    const up = await f.alice.req(
      'POST',
      '/v1/skills',
      form(
        [
          { path: 'SKILL.md', data: skillMd('summarize') },
          { path: 'references/guide.md', data: '# Guide\n' },
        ],
        { id: 'summarize', display_title: 'Summarize', description: 'Summaries' },
      ),
    );
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ id: 'summarize', display_title: 'Summarize', description: 'Summaries', name: 'summarize', latest_version: '1.0.0' });
    expect(up.body.package).toBeUndefined();
    expect((await f.alice.req('GET', '/v1/skills/summarize')).body.display_title).toBe('Summarize');
    const file = await f.alice.req('GET', '/v1/skills/summarize/files/references/guide.md');
    expect(file.status).toBe(200);
    expect(file.body).toBe('# Guide\n');
    expect(file.headers.get('content-type')).toMatch(/text\/markdown/);
    expect((await f.alice.req('GET', '/v1/skills/summarize/files/SKILL.md')).body).toContain('name: summarize');
    expectManagedError(await f.alice.req('GET', '/v1/skills/summarize/files/nope.md'), 404, 'not_found_error');
    expectManagedError(await f.alice.req('GET', '/v1/skills/summarize/files/..%2F..%2Fetc%2Fpasswd'), 400, 'invalid_request_error');
    expectManagedError(await f.bob.req('GET', '/v1/skills/summarize'), 404, 'not_found_error');
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: skillMd('summarize') }])), 409, 'conflict_error', /already have skill/);
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: skillMd('other') }], { id: 'summarize' })), 409, 'conflict_error');
    expect((await f.alice.req('DELETE', '/v1/skills/summarize')).status).toBe(200);
    expectManagedError(await f.alice.req('GET', '/v1/skills/summarize'), 404, 'not_found_error');
  });

  it('validates SKILL.md by the Agent Skills rules and writes nothing on refusal', async () => {
    const before = (await f.alice.req('GET', '/v1/skills?limit=100')).body.data.length;
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'README.md', data: 'no skill' }])), 400, 'invalid_request_error', /SKILL\.md/);
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: 'no front matter' }])), 400, 'invalid_request_error', /front matter/);
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: skillMd('Bad_Name') }])), 400, 'invalid_request_error', /name/);
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'folder-x/SKILL.md', data: skillMd('other-name') }])), 400, 'invalid_request_error', /folder name/);
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: '../SKILL.md', data: skillMd('x') }])), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: skillMd('ok') }], { id: 'has space' })), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([])), 400, 'invalid_request_error', /No files/);
    expect((await f.alice.req('GET', '/v1/skills?limit=100')).body.data.length).toBe(before);
    expect((await f.alice.req('GET', '/api/v1/packages/@alice/ok')).status).toBe(404);
  });

  it('lists built-in skills (admin-configured) for everyone and never deletes them', async () => {
    expectManagedError(await f.alice.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: skillMd('sneaky') }], { built_in: 'true' })), 403, 'permission_error');
    const builtin = await f.admin.req('POST', '/v1/skills', form([{ path: 'SKILL.md', data: skillMd('house-style') }], { built_in: 'true', display_title: 'House style' }));
    expect(builtin.status).toBe(200);
    expect(builtin.body.source).toEqual({ type: 'anthropic' });
    const bobSkills = [];
    for await (const s of f.bobSdk.beta.skills.list()) bobSkills.push(s.id);
    expect(bobSkills).toContain(builtin.body.id);
    const onlyBuiltin = await f.bob.req('GET', '/v1/skills?source=anthropic');
    expect(onlyBuiltin.body.data.map((s: any) => s.id)).toEqual([builtin.body.id]);
    expect((await f.bob.req('GET', `/v1/skills/${builtin.body.id}/files/SKILL.md`)).status).toBe(200);
    expectManagedError(await f.bob.req('DELETE', `/v1/skills/${builtin.body.id}`), 403, 'permission_error', /built in/);
    expectManagedError(await f.admin.req('DELETE', `/v1/skills/${builtin.body.id}`), 403, 'permission_error', /built in/);
    const admin = sdkFor(f.server.url, f.server.adminToken);
    await expect(admin.beta.skills.delete(builtin.body.id)).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
  });
});
