import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

describe('dist-tags, deprecation, unpublish and gc', () => {
  let server: TestServer;
  let ws: CliWorkspace;
  let admin: string;

  const bump = (folder: string, from: string, to: string): void => {
    const file = ws.path(folder, 'agent.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(`version: ${from}`, `version: ${to}`));
  };

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    admin = server.adminToken;
    ws = new CliWorkspace(server.url);
    const alice = await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', admin]);
    await ws.ok(['login', '--token', alice.token]);
    await ws.ok(['init', 'tool', '--kind', 'agent', '--name', 'tool', '--scope', 'alice']);
    await ws.ok(['publish', 'tool']);
    bump('tool', '0.1.0', '1.0.0');
    await ws.ok(['publish', 'tool']);
    bump('tool', '1.0.0', '2.0.0-beta.1');
    await ws.ok(['publish', 'tool', '--tag', 'beta']);
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('publishes with --tag and refuses a version that exists', async () => {
    expect(await ws.json(['dist-tag', 'ls', '@alice/tool'])).toEqual({ dist_tags: { latest: '1.0.0', beta: '2.0.0-beta.1' } });
    const again = await ws.run(['publish', 'tool']);
    expect(again.code).toBe(5);
    expect(again.stderr).toBe('agentry: Version 2.0.0-beta.1 already exists. Bump the version number.\n');
  });

  it('publishes a skill to the logged-in user when neither --scope nor the manifest names a scope, quietly when stderr is not a TTY', async () => {
    await ws.ok(['init', 'notes', '--kind', 'skill', '--name', 'notes']);
    const r = await ws.run(['publish', 'notes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Published @alice\/notes@0\.1\.0 \(sha256:[0-9a-f]{64}\)\n$/);
    expect(r.stderr).toBe('');
    const again = await ws.run(['publish', 'notes', '--scope', 'alice', '--json']);
    expect(again.code).toBe(5);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('agentry: Version 0.1.0 already exists. Bump the version number.\n');
    const skill = ws.path('notes', 'SKILL.md');
    writeFileSync(skill, readFileSync(skill, 'utf8').replace('version: 0.1.0', 'version: 0.2.0'));
    const published = await ws.json(['publish', 'notes']);
    expect(published).toMatchObject({ success: true, full_name: '@alice/notes', version: '0.2.0', kind: 'skill', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('adds, lists and removes dist-tags', async () => {
    expect((await ws.ok(['dist-tag', 'add', '@alice/tool@0.1.0', 'stable'])).trim()).toBe('stable: @alice/tool@0.1.0');
    expect((await ws.ok(['dist-tag', 'ls', '@alice/tool'])).trim().split('\n').sort()).toEqual(['beta: 2.0.0-beta.1', 'latest: 1.0.0', 'stable: 0.1.0']);
    const pinned = await ws.json<{ dist_tags: Record<string, string> }>(['dist-tag', 'add', '@alice/tool@0.1.0', 'latest']);
    expect(pinned.dist_tags.latest).toBe('0.1.0');
    const unpinned = await ws.json<{ dist_tags: Record<string, string> }>(['dist-tag', 'rm', '@alice/tool', 'latest']);
    expect(unpinned.dist_tags.latest).toBe('1.0.0');
    expect(await ws.ok(['dist-tag', 'rm', '@alice/tool', 'stable'])).toContain('Removed stable from @alice/tool');
    const pulled = await ws.json<{ version: string }>(['pull', '@alice/tool@beta', '--out', 'beta-copy']);
    expect(pulled.version).toBe('2.0.0-beta.1');
    const bad = await ws.run(['dist-tag', 'add', '@alice/tool', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("agentry: invalid package '@alice/tool': expected @scope/name@version\n");
  });

  it('deprecates a version and un-deprecates it with an empty message', async () => {
    expect((await ws.ok(['deprecate', '@alice/tool@1.0.0', 'use 2.x'])).trim()).toBe('Deprecated @alice/tool@1.0.0: use 2.x');
    const versions = await ws.json<{ versions: { version: string; deprecated: string | null }[] }>(['versions', '@alice/tool']);
    expect(versions.versions.find((v) => v.version === '1.0.0')?.deprecated).toBe('use 2.x');
    expect(await ws.ok(['info', '@alice/tool'])).toContain('DEPRECATED: use 2.x');
    expect(await ws.ok(['versions', '@alice/tool'])).toMatch(/1\.0\.0\s+.*use 2\.x/);
    const undone = await ws.json<{ deprecated: string | null }>(['deprecate', '@alice/tool@1.0.0', '']);
    expect(undone).toEqual({ success: true, version: '1.0.0', deprecated: null });
  });

  it('unpublishes a version, after which gc can remove its blob', async () => {
    const before = await ws.json<{ versions: { version: string; sha256: string }[] }>(['versions', '@alice/tool']);
    const digest = before.versions.find((v) => v.version === '0.1.0')!.sha256;
    expect((await ws.ok(['unpublish', '@alice/tool@0.1.0'])).trim()).toBe('Unpublished @alice/tool@0.1.0');
    const after = await ws.json<{ versions: { version: string }[] }>(['versions', '@alice/tool']);
    expect(after.versions.map((v) => v.version)).not.toContain('0.1.0');
    const gone = await ws.run(['pull', '@alice/tool@0.1.0', '--out', 'gone']);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/^agentry: .*\(@alice\/tool@0\.1\.0\)\n$/);

    const denied = await ws.run(['gc']);
    expect(denied.code).toBe(3);
    expect(denied.stderr).toBe("agentry: This token has 'publish' permission; this action needs 'admin'\n");
    const dry = await ws.json<{ removed: string[]; dry_run: boolean }>(['gc', '--dry-run', '--grace-seconds', '0', '--token', admin]);
    expect(dry).toMatchObject({ removed: [`sha256:${digest}`], dry_run: true });
    const human = await ws.ok(['gc', '--grace-seconds', '0', '--token', admin]);
    expect(human).toMatch(new RegExp(`^Removed 1 blob \\(.*\\); \\d+ kept\\n  sha256:${digest}\\n$`));
    expect(await ws.json(['gc', '--token', admin])).toMatchObject({ removed: [], dry_run: false });
  });
});
