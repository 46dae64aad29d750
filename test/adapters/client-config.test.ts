import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BACKUP_SUFFIX, ClientConfigFileEditor } from '../../src/adapters/client-config/config-file-editor.js';
import { clientApp, serverEntry, type ClientApp } from '../../src/core/clients/client-apps.js';
import { configTargetOf } from '../../src/core/clients/client-service.js';
import { AgentryError } from '../../src/core/errors.js';

/** The client settings file editor, on real files below a temporary home (never the real user's). */
describe('client settings file editor', () => {
  let home: string;
  let editor: ClientConfigFileEditor;
  const app = (id: string) => clientApp(id) as ClientApp;
  const fileOf = (id: string) => join(home, ...configTargetOf(app(id), 'linux').file);
  const write = (id: string, text: string) => {
    mkdirSync(dirname(fileOf(id)), { recursive: true });
    writeFileSync(fileOf(id), text);
  };
  const upsert = (id: string, name: string, url = `http://127.0.0.1:8080/mcp/${name}`, transport: 'streamable-http' | 'sse' = 'streamable-http') =>
    editor.upsert(configTargetOf(app(id), 'linux'), name, serverEntry(app(id), name, url, transport));
  const leftovers = (id: string) => readdirSync(dirname(fileOf(id))).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'));

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'agentry-home-'));
    editor = new ClientConfigFileEditor(home);
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const parsed = (id: string): Record<string, any> => {
    const text = readFileSync(fileOf(id), 'utf8');
    const f = app(id).format;
    return f === 'json' ? parseJsonc(text) : f === 'yaml' ? parseYaml(text) : (parseToml(text) as Record<string, any>);
  };

  it.each([
    ['claude-code', ['.claude.json'], (d: any) => d.mcpServers.fetch, { type: 'http', url: 'http://127.0.0.1:8080/mcp/fetch' }],
    ['cursor', ['.cursor', 'mcp.json'], (d: any) => d.mcpServers.fetch, { type: 'http', url: 'http://127.0.0.1:8080/mcp/fetch' }],
    ['vscode', ['.config', 'Code', 'User', 'mcp.json'], (d: any) => d.servers.fetch, { type: 'http', url: 'http://127.0.0.1:8080/mcp/fetch' }],
    [
      'cline',
      ['.config', 'Code', 'User', 'globalStorage', 'saoudrizwan.claude-dev', 'settings', 'cline_mcp_settings.json'],
      (d: any) => d.mcpServers.fetch,
      { type: 'streamableHttp', url: 'http://127.0.0.1:8080/mcp/fetch' },
    ],
    ['windsurf', ['.codeium', 'windsurf', 'mcp_config.json'], (d: any) => d.mcpServers.fetch, { type: 'http', serverUrl: 'http://127.0.0.1:8080/mcp/fetch' }],
    ['gemini-cli', ['.gemini', 'settings.json'], (d: any) => d.mcpServers.fetch, { httpUrl: 'http://127.0.0.1:8080/mcp/fetch' }],
    ['zed', ['.config', 'zed', 'settings.json'], (d: any) => d.context_servers.fetch, { url: 'http://127.0.0.1:8080/mcp/fetch' }],
    ['continue', ['.continue', 'config.yaml'], (d: any) => d.mcpServers[0], { name: 'fetch', type: 'streamable-http', url: 'http://127.0.0.1:8080/mcp/fetch' }],
    [
      'goose',
      ['.config', 'goose', 'config.yaml'],
      (d: any) => d.extensions.fetch,
      { name: 'fetch', type: 'streamable_http', uri: 'http://127.0.0.1:8080/mcp/fetch', enabled: true, timeout: 60, description: '' },
    ],
    ['codex', ['.codex', 'config.toml'], (d: any) => d.mcp_servers.fetch, { url: 'http://127.0.0.1:8080/mcp/fetch' }],
  ])('creates %s settings at its own path, mode 0600, and removes the entry again', async (id, path, pick, expected) => {
    expect(fileOf(id)).toBe(join(home, ...path));
    await upsert(id, 'fetch');
    expect(pick(parsed(id))).toEqual(expected);
    expect(statSync(fileOf(id)).mode & 0o777).toBe(0o600);
    expect(await editor.names(configTargetOf(app(id), 'linux'))).toEqual(['fetch']);
    expect(existsSync(fileOf(id) + BACKUP_SUFFIX)).toBe(false); // nothing to back up: the file is new
    expect(await editor.remove(configTargetOf(app(id), 'linux'), 'fetch')).toBe(true);
    expect(await editor.names(configTargetOf(app(id), 'linux'))).toEqual([]);
    expect(await editor.remove(configTargetOf(app(id), 'linux'), 'fetch')).toBe(false);
    expect(leftovers(id)).toEqual([]);
  });

  it('writes an SSE endpoint with its own type and URL field', async () => {
    await upsert('gemini-cli', 'old', 'http://127.0.0.1:8080/sse/old', 'sse');
    expect(parsed('gemini-cli').mcpServers.old).toEqual({ url: 'http://127.0.0.1:8080/sse/old' });
    await upsert('cline', 'old', 'http://127.0.0.1:8080/sse/old', 'sse');
    expect(parsed('cline').mcpServers.old).toEqual({ type: 'sse', url: 'http://127.0.0.1:8080/sse/old' });
  });

  it('keeps comments, other settings and the indentation of a JSONC file (Zed)', async () => {
    const original = '// Zed settings\n{\n    // my theme\n    "theme": "One Dark",\n    "context_servers": {\n        /* keep me */\n        "mine": { "command": "x" },\n    },\n}\n';
    write('zed', original);
    await upsert('zed', 'fetch');
    const text = readFileSync(fileOf('zed'), 'utf8');
    expect(text).toContain('// Zed settings');
    expect(text).toContain('// my theme');
    expect(text).toContain('/* keep me */');
    expect(text).toContain('        "fetch": {');
    expect(parseJsonc(text)).toEqual({ theme: 'One Dark', context_servers: { mine: { command: 'x' }, fetch: { url: 'http://127.0.0.1:8080/mcp/fetch' } } });
    // The first change backed the file up; the backup keeps the original even after later changes.
    expect(readFileSync(fileOf('zed') + BACKUP_SUFFIX, 'utf8')).toBe(original);
    await upsert('zed', 'second');
    await editor.remove(configTargetOf(app('zed'), 'linux'), 'fetch');
    expect(readFileSync(fileOf('zed') + BACKUP_SUFFIX, 'utf8')).toBe(original);
    expect(Object.keys(parseJsonc(readFileSync(fileOf('zed'), 'utf8')).context_servers)).toEqual(['mine', 'second']);
  });

  it('keeps comments and other extensions in YAML (Goose), and replaces a same-named item in a YAML list (Continue)', async () => {
    write('goose', '# my goose config\nGOOSE_PROVIDER: anthropic # the provider\nextensions:\n  developer:\n    enabled: true # builtin\n    type: builtin\n    name: developer\n');
    await upsert('goose', 'fetch');
    const goose = readFileSync(fileOf('goose'), 'utf8');
    expect(goose).toContain('# my goose config');
    expect(goose).toContain('# the provider');
    expect(goose).toContain('# builtin');
    expect(Object.keys(parseYaml(goose).extensions)).toEqual(['developer', 'fetch']);

    write('continue', 'name: my assistant\n# servers below\nmcpServers:\n  - name: local # hand-made\n    command: npx\n');
    await upsert('continue', 'fetch', 'http://a/1');
    await upsert('continue', 'fetch', 'http://a/2');
    const cont = readFileSync(fileOf('continue'), 'utf8');
    expect(cont).toContain('# servers below');
    expect(cont).toContain('# hand-made');
    expect(parseYaml(cont).mcpServers).toEqual([
      { name: 'local', command: 'npx' },
      { name: 'fetch', type: 'streamable-http', url: 'http://a/2' },
    ]);
    await editor.remove(configTargetOf(app('continue'), 'linux'), 'fetch');
    expect(parseYaml(readFileSync(fileOf('continue'), 'utf8')).mcpServers).toEqual([{ name: 'local', command: 'npx' }]);
  });

  it('keeps a TOML file valid, with its other tables (Codex)', async () => {
    write('codex', 'model = "o3"\n\n[mcp_servers.local]\ncommand = "npx"\nargs = ["-y", "server"]\n\n[profiles.fast]\nmodel = "o4-mini"\n');
    await upsert('codex', 'fetch');
    const doc = parsed('codex');
    expect(doc.model).toBe('o3');
    expect(doc.profiles).toEqual({ fast: { model: 'o4-mini' } });
    expect(doc.mcp_servers).toEqual({ local: { command: 'npx', args: ['-y', 'server'] }, fetch: { url: 'http://127.0.0.1:8080/mcp/fetch' } });
  });

  it.each([
    ['cursor', '{ "mcpServers": { "a": 1, }'],
    ['cursor', '{ "mcpServers": "not an object" }'],
    ['cursor', '[1, 2]'],
    ['vscode', '{ "servers": {} } trailing'],
    ['goose', 'extensions:\n  a: [unclosed\n'],
    ['continue', 'mcpServers:\n  fetch: {}\n'],
    ['codex', '[mcp_servers.a]\nurl = \n'],
    ['codex', 'mcp_servers = "x"\n'],
  ])('refuses a malformed %s file and leaves it untouched', async (id, text) => {
    write(id, text);
    const before = statSync(fileOf(id)).mtimeMs;
    const err = await upsert(id, 'fetch').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentryError);
    expect((err as AgentryError).status).toBe(400);
    expect((err as AgentryError).message).toContain('Agentry left it untouched');
    expect(readFileSync(fileOf(id), 'utf8')).toBe(text);
    expect(statSync(fileOf(id)).mtimeMs).toBe(before);
    expect(existsSync(fileOf(id) + BACKUP_SUFFIX)).toBe(false);
    expect(leftovers(id)).toEqual([]);
    await expect(editor.remove(configTargetOf(app(id), 'linux'), 'fetch')).rejects.toThrow('untouched');
    expect(readFileSync(fileOf(id), 'utf8')).toBe(text);
  });

  it('loses no entry when many edits race, from two editors', async () => {
    const other = new ClientConfigFileEditor(home);
    write('cursor', '{\n  // mine\n  "mcpServers": {}\n}\n');
    const names = Array.from({ length: 16 }, (_, i) => `s${i}`);
    await Promise.all(names.map((n, i) => (i % 2 === 0 ? editor : other).upsert(configTargetOf(app('cursor'), 'linux'), n, serverEntry(app('cursor'), n, `http://h/${n}`, 'streamable-http'))));
    expect((await editor.names(configTargetOf(app('cursor'), 'linux'))).sort()).toEqual([...names].sort());
    expect(readFileSync(fileOf('cursor'), 'utf8')).toContain('// mine');
    expect(leftovers('cursor')).toEqual([]);
  }, 60_000);

  it('edits the target of a settings file that is a symbolic link, keeping the link', async () => {
    mkdirSync(join(home, 'dotfiles'));
    writeFileSync(join(home, 'dotfiles', 'cursor.json'), '{}');
    mkdirSync(join(home, '.cursor'));
    symlinkSync(join(home, 'dotfiles', 'cursor.json'), fileOf('cursor'));
    await upsert('cursor', 'fetch');
    expect(lstatSync(fileOf('cursor')).isSymbolicLink()).toBe(true);
    expect(parseJsonc(readFileSync(join(home, 'dotfiles', 'cursor.json'), 'utf8')).mcpServers.fetch.url).toBe('http://127.0.0.1:8080/mcp/fetch');
  });

  it('never leaves the home directory and needs an absolute home', async () => {
    await expect(editor.exists(['..', '..', 'etc', 'passwd'])).rejects.toThrow('inside the home directory');
    await expect(editor.upsert({ file: ['..', 'x.json'], format: 'json', serversKey: ['mcpServers'], storage: 'map' }, 'a', {})).rejects.toThrow('inside the home directory');
    expect(() => new ClientConfigFileEditor('relative/home')).toThrow('absolute');
  });
});
