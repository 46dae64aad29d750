import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

const KINDS = [
  { kind: 'agent', manifest: 'agent.yaml' },
  { kind: 'skill', manifest: 'SKILL.md' },
  { kind: 'mcp-server', manifest: 'server.json' },
  { kind: 'recipe', manifest: 'recipe.yaml' },
] as const;

describe.each(testStores)('init → pack → publish → search → info → versions → pull (%s)', (store) => {
  let server: TestServer;
  let ws: CliWorkspace;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ store });
    ws = new CliWorkspace(server.url);
    const created = await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', server.adminToken]);
    await ws.ok(['login', '--token', created.token]);
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it.each(KINDS)('round-trips a $kind', async ({ kind, manifest }) => {
    const name = `rt-${kind}`;
    const init = await ws.ok(['init', name, '--kind', kind, '--name', name, '--scope', 'alice', '--description', `Round trip ${kind} zebra`]);
    expect(init).toContain(`Created ${kind} @alice/${name} in ${name}: ${manifest}, README.md`);

    const pack = await ws.json<{ file: string; size: number; sha256: string; kind: string; name: string; version: string; files: string[] }>(['pack', name, '--out', `${name}.tgz`]);
    expect(pack).toMatchObject({ file: ws.path(`${name}.tgz`), kind, name, version: '0.1.0', files: [manifest, 'README.md'].sort() });
    expect(readFileSync(pack.file).length).toBe(pack.size);

    const published = await ws.ok(['publish', name]);
    expect(published.trim()).toBe(`Published @alice/${name}@0.1.0 (sha256:${pack.sha256})`);

    const search = await ws.json<{ packages: { full_name: string; kind: string }[]; total: number }>(['search', 'zebra', kind, '--kind', kind]);
    expect(search.packages.map((p) => p.full_name)).toEqual([`@alice/${name}`]);
    const table = await ws.ok(['search', 'round', 'trip', 'zebra']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+KIND\s+DOWNLOADS\s+DESCRIPTION$/);
    expect(table).toMatch(new RegExp(`@alice/${name}\\s+0\\.1\\.0\\s+${kind}\\s+0\\s+Round trip`));

    const info = await ws.json<{ full_name: string; kind: string; latest_version: string; dist_tags: Record<string, string> }>(['info', `@alice/${name}`]);
    expect(info).toMatchObject({ full_name: `@alice/${name}`, kind, latest_version: '0.1.0', dist_tags: { latest: '0.1.0' } });
    expect(await ws.ok(['info', `@alice/${name}`])).toContain(`@alice/${name}@0.1.0 (${kind})\nRound trip ${kind} zebra`);

    const versions = await ws.json<{ versions: { version: string; sha256: string; tarball_size: number }[] }>(['versions', `@alice/${name}`]);
    expect(versions.versions).toEqual([expect.objectContaining({ version: '0.1.0', sha256: pack.sha256, tarball_size: pack.size })]);

    const pulled = await ws.ok(['pull', `@alice/${name}`, '--out', `pulled-${kind}`]);
    expect(pulled.trim()).toBe(`Pulled @alice/${name}@0.1.0 into ./pulled-${kind} (sha256:${pack.sha256})`);
    expect(readdirSync(ws.path(`pulled-${kind}`)).sort()).toEqual([manifest, 'README.md'].sort());
    for (const file of [manifest, 'README.md']) {
      expect(readFileSync(ws.path(`pulled-${kind}`, file), 'utf8')).toBe(readFileSync(ws.path(name, file), 'utf8'));
    }
  });

  it('pulls into ./<name> by default, by version or dist-tag, and prints JSON', async () => {
    mkdirSync(ws.path('downloads'));
    const r = await ws.json<{ name: string; version: string; path: string; sha256: string; size: number }>(['pull', '@alice/rt-agent@0.1.0'], { cwd: ws.path('downloads') });
    expect(r).toMatchObject({ name: '@alice/rt-agent', version: '0.1.0', path: ws.path('downloads', 'rt-agent') });
    expect(readFileSync(join(r.path, 'agent.yaml'), 'utf8')).toContain('name: rt-agent');
    const byTag = await ws.json<{ version: string; path: string }>(['pull', '@alice/rt-skill@latest', '--out', 'by-tag']);
    expect(byTag).toMatchObject({ version: '0.1.0', path: ws.path('by-tag') });
  });
});
