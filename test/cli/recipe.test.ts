import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe.each(testStores)('agentry recipe publish | list | search | pull, over /v1 (%s)', (store) => {
  let server: TestServer;
  let ws: CliWorkspace;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ store });
    ws = new CliWorkspace(server.url);
    const created = await ws.json<{ token: string }>(['user', 'add', 'carol', '--token', server.adminToken]);
    await ws.ok(['org', 'member', 'add', 'recipes', 'carol', '--token', server.adminToken]);
    await ws.ok(['login', '--token', created.token]);
    // A PraisonAI recipe folder: TEMPLATE.yaml plus its files.
    mkdirSync(ws.path('my-recipe', 'prompts'), { recursive: true });
    writeFileSync(ws.path('my-recipe', 'TEMPLATE.yaml'), 'name: my-recipe\nversion: "1.0.0"\ndescription: Summarises articles\ntags: [agent, summary]\nauthor: carol\n');
    writeFileSync(ws.path('my-recipe', 'agents.yaml'), 'framework: praisonai\nroles: {}\n');
    writeFileSync(ws.path('my-recipe', 'prompts', 'system.md'), 'Summarise the article.\n');
    writeFileSync(ws.path('my-recipe', '.env'), 'SECRET=never-packed\n');
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('publishes a recipe folder as a .praison bundle, and refuses it again unless --force', async () => {
    const out = await ws.ok(['recipe', 'publish', './my-recipe']);
    expect(out.trim()).toMatch(/^Published my-recipe@1\.0\.0 \(sha256:[a-f0-9]{64}\)$/);
    const again = await ws.run(['recipe', 'publish', './my-recipe']);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/already exists/);
    writeFileSync(ws.path('my-recipe', 'prompts', 'system.md'), 'Summarise the article in three lines.\n');
    const forced = await ws.json<{ ok: boolean; name: string; version: string; checksum: string }>(['recipe', 'publish', './my-recipe', '--force']);
    expect(forced).toMatchObject({ ok: true, name: 'my-recipe', version: '1.0.0' });
  });

  it('publishes a .praison file as it is', async () => {
    const bundle = await praisonBundle({ name: 'file-recipe', version: '0.3.0', tags: ['agent'] });
    writeFileSync(ws.path('file-recipe-0.3.0.praison'), bundle);
    const r = await ws.json<{ checksum: string }>(['recipe', 'publish', 'file-recipe-0.3.0.praison']);
    expect(r.checksum).toBe(`sha256:${sha(bundle)}`);
  });

  it('lists and searches', async () => {
    const list = await ws.json<{ recipes: Array<{ name: string; version: string }>; total: number }>(['recipe', 'list']);
    expect(list.recipes.map((r) => r.name)).toEqual(['file-recipe', 'my-recipe']);
    expect(list.total).toBe(2);
    const table = await ws.ok(['recipe', 'list', '--tags', 'summary']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+TAGS\s+DESCRIPTION$/);
    expect(table).toMatch(/my-recipe\s+1\.0\.0\s+agent, summary\s+Summarises articles/);
    expect(table).not.toContain('file-recipe');
    const found = await ws.ok(['recipe', 'search', 'summarises']);
    expect(found).toContain("Found 1 recipe(s) matching 'summarises':");
    expect(found).toContain('my-recipe');
    expect((await ws.ok(['recipe', 'search', 'nothing-like-this'])).trim()).toBe("No recipes found matching 'nothing-like-this'");
  });

  it('pulls the latest or a given version into <output>/<name>, checking the sha256', async () => {
    const pulled = await ws.ok(['recipe', 'pull', 'my-recipe', '-o', './recipes']);
    expect(pulled.trim()).toMatch(/^Pulled my-recipe@1\.0\.0 into \.\/recipes\/my-recipe \(sha256:[a-f0-9]{64}\)$/);
    expect(readdirSync(ws.path('recipes', 'my-recipe')).sort()).toEqual(['TEMPLATE.yaml', 'agents.yaml', 'manifest.json', 'prompts']);
    expect(readFileSync(ws.path('recipes', 'my-recipe', 'prompts', 'system.md'), 'utf8')).toBe('Summarise the article in three lines.\n');
    const manifest = JSON.parse(readFileSync(ws.path('recipes', 'my-recipe', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'my-recipe', version: '1.0.0', description: 'Summarises articles', tags: ['agent', 'summary'] });
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(['TEMPLATE.yaml', 'agents.yaml', 'prompts/system.md']);

    const exact = await ws.json<{ name: string; version: string; path: string }>(['recipe', 'pull', 'file-recipe@0.3.0', '-o', './recipes']);
    expect(exact).toMatchObject({ name: 'file-recipe', version: '0.3.0', path: ws.path('recipes', 'file-recipe') });
    const exists = await ws.run(['recipe', 'pull', 'my-recipe', '-o', './recipes']);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/already exists/);
    const missing = await ws.run(['recipe', 'pull', 'no-such-recipe']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/Recipe not found: no-such-recipe/);
  });

  it('needs a login to publish and says why a bad folder cannot be packed', async () => {
    const anon = await ws.run(['recipe', 'publish', './my-recipe'], { env: { AGENTRY_CONFIG: ws.path('none.json') } });
    expect(anon.code).toBe(3);
    expect(anon.stderr).toMatch(/not logged in/);
    mkdirSync(ws.path('empty-recipe'));
    const empty = await ws.run(['recipe', 'publish', './empty-recipe']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no recipe name and version/);
  });
});
