import { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';
import { collectSdk, setUpAgent } from './session-harness.js';

/**
 * A session's resources in its workspace, seen by the real built-in tools (bash under bubblewrap,
 * read/write/glob in-process): the agent's skill files under /mnt/skills, attached files at their
 * mount_path, memory stores under /mnt/memory (written back to the store when read-write).
 */

const TOOLSET = { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } };
const skillMd = `---\nname: csv-helper\ndescription: Reads CSV files\n---\n\n# csv-helper\n\nUse the scripts.\n`;

describe.each(testStores)('sessions: workspace resources (%s)', (store) => {
  let f: ManagedFixture;
  let model: DevModel;

  beforeAll(async () => {
    model = await startTestModel();
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await model?.close();
  });
  beforeEach(() => model.reset());

  it('mounts skills, files and memory stores; the tools see them, write back read-write memory, and refuse the rest', async () => {
    const skill = await f.sdk.beta.skills.create({
      files: [await toFile(Buffer.from(skillMd), 'csv-helper/SKILL.md'), await toFile(Buffer.from('print("rows")\n'), 'csv-helper/scripts/rows.py')],
    } as any);
    const file = await f.sdk.beta.files.upload({ file: await toFile(Buffer.from('a,b\n1,2\n'), 'data.csv', { type: 'text/csv' }) });
    const notes = await f.sdk.beta.memoryStores.create({ name: 'notes' });
    await f.sdk.beta.memoryStores.memories.create(notes.id, { path: '/todo/today.md', content: 'buy milk' });
    const ro = await f.sdk.beta.memoryStores.create({ name: 'handbook' });
    await f.sdk.beta.memoryStores.memories.create(ro.id, { path: '/rules.md', content: 'be kind' });

    const a = await setUpAgent(f.alice, model, { tools: [TOOLSET] });
    const upd = await f.alice.req('POST', `/v1/agents/${a.agentId}`, { version: 1, skills: [{ type: 'custom', skill_id: skill.id }] });
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);

    model.script([
      {
        toolCalls: [
          {
            name: 'bash',
            input: { command: 'cat /mnt/skills/csv-helper/SKILL.md /mnt/skills/csv-helper/scripts/rows.py /workspace/data/in.csv /mnt/memory/notes/todo/today.md /mnt/memory/handbook/rules.md' },
          },
          { name: 'read', input: { file_path: `/mnt/session/uploads/${file.id}` } },
          { name: 'glob', input: { pattern: '**/*.md', path: '/mnt/memory/notes' } },
        ],
      },
      {
        toolCalls: [
          { name: 'write', input: { file_path: '/mnt/memory/notes/todo/tomorrow.md', content: 'call mom' } },
          { name: 'bash', input: { command: 'echo "buy oat milk" > /mnt/memory/notes/todo/today.md' } },
          { name: 'write', input: { file_path: '/mnt/memory/handbook/rules.md', content: 'be rude' } },
          { name: 'write', input: { file_path: '/workspace/data/in.csv', content: 'changed' } },
          { name: 'read', input: { file_path: '/etc/passwd' } },
          {
            name: 'bash',
            input: { command: `ls ${f.server.dataDir} 2>&1; cat /mnt/skills/csv-helper/SKILL.md > /dev/null && echo "can read"; touch /mnt/skills/csv-helper/x 2>&1 || echo "skills read-only"` },
          },
        ],
      },
      { text: 'done' },
    ]);
    const s = await f.sdk.beta.sessions.create({
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [
        { type: 'file', file_id: file.id, mount_path: '/workspace/data/in.csv' },
        { type: 'file', file_id: file.id },
        { type: 'memory_store', memory_store_id: notes.id },
        { type: 'memory_store', memory_store_id: ro.id, access: 'read_only' },
      ] as any,
    });
    expect(s.resources.map((r: any) => r.mount_path ?? r.access)).toEqual(['/workspace/data/in.csv', `/mnt/session/uploads/${file.id}`, 'read_write', 'read_only']);
    const stream = await f.sdk.beta.sessions.events.stream(s.id);
    await f.sdk.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'look around' }] }] });
    const events = await collectSdk(stream);
    const results = events.filter((e) => e.type === 'agent.tool_result');
    const text = (i: number) => results[i].content.map((c: any) => c.text).join('');
    expect(results).toHaveLength(9);
    // Round one: everything is there.
    expect(results[0].is_error).toBe(false);
    for (const want of ['name: csv-helper', 'print("rows")', 'a,b', 'buy milk', 'be kind']) expect(text(0)).toContain(want);
    expect(text(1)).toContain('1,2');
    expect(text(2)).toContain('/mnt/memory/notes/todo/today.md');
    // Round two: read-write memory is writable; read-only memory, files and skills are not; nothing outside.
    expect(results[3].is_error).toBe(false);
    expect(results[4].is_error).toBe(false);
    expect(results[5].is_error).toBe(true);
    expect(results[6].is_error).toBe(true);
    expect(results[7].is_error).toBe(true);
    expect(text(8)).toMatch(/No such file or directory/);
    expect(text(8)).toContain('can read');
    expect(text(8)).toContain('skills read-only');
    expect(events.at(-1).stop_reason).toEqual({ type: 'end_turn' });

    // The read-write store now holds what the agent wrote; the read-only one is unchanged.
    const memories: Record<string, string> = {};
    for await (const m of f.sdk.beta.memoryStores.memories.list(notes.id)) memories[m.path] = (await f.sdk.beta.memoryStores.memories.retrieve((m as any).id, { memory_store_id: notes.id })).content!;
    expect(memories).toEqual({ '/todo/today.md': 'buy oat milk\n', '/todo/tomorrow.md': 'call mom' });
    const rules = [];
    for await (const m of f.sdk.beta.memoryStores.memories.list(ro.id)) rules.push((await f.sdk.beta.memoryStores.memories.retrieve((m as any).id, { memory_store_id: ro.id })).content);
    expect(rules).toEqual(['be kind']);
  }, 90_000);

  it('refuses mount paths outside /workspace and /mnt, with "..", inside the outputs folder, or overlapping', async () => {
    const file = await f.sdk.beta.files.upload({ file: await toFile(Buffer.from('x'), 'x.txt') });
    const a = await setUpAgent(f.alice, model, { tools: [TOOLSET] });
    for (const mount_path of ['/etc/passwd', 'relative.txt', '/workspace/../etc/x', '/mnt/session/outputs/x', '/mnt/memory/x', '/workspace/a:b']) {
      const r = await f.alice.req('POST', '/v1/sessions', { agent: a.agentId, environment_id: a.environmentId, resources: [{ type: 'file', file_id: file.id, mount_path }] });
      expectManagedError(r, 400, 'invalid_request_error', /mount_path/);
    }
    const twice = await f.alice.req('POST', '/v1/sessions', {
      agent: a.agentId,
      environment_id: a.environmentId,
      resources: [
        { type: 'file', file_id: file.id, mount_path: '/workspace/x' },
        { type: 'file', file_id: file.id, mount_path: '/workspace/x' },
      ],
    });
    expectManagedError(twice, 400, 'invalid_request_error', /overlaps/);
  });
});
