import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertBuilt, runCli } from './cli-harness.js';

/** `agentry mcp client …`, run as a user runs it, on a temporary home (never the real user's files). */
describe('agentry mcp client', () => {
  let home: string;
  let server: TestServer;
  const cli = (...args: string[]) => runCli(args, { env: { AGENTRY_CLIENTS_HOME: home, AGENTRY_CONFIG: join(home, 'agentry.json') } });

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => server?.close());
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'agentry-cli-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('lists the clients, which are installed here and which servers their settings hold', async () => {
    mkdirSync(join(home, '.cursor'));
    writeFileSync(join(home, '.cursor', 'mcp.json'), '{\n  // mine\n  "mcpServers": { "github": { "url": "https://example.com/mcp" } }\n}\n');
    mkdirSync(join(home, '.codex'));
    writeFileSync(join(home, '.codex', 'config.toml'), '[mcp_servers.a\n');
    const r = await cli('mcp', 'client', 'ls', '--json');
    expect(r.code, r.stderr).toBe(0);
    const clients = JSON.parse(r.stdout).clients as { client: string; installed: boolean; servers: string[]; settings_file: string; problem?: string }[];
    expect(clients.map((c) => c.client)).toEqual(expect.arrayContaining(['claude-code', 'cursor', 'vscode', 'cline', 'windsurf', 'gemini-cli', 'zed', 'continue', 'goose', 'codex']));
    expect(clients.find((c) => c.client === 'cursor')).toMatchObject({ installed: true, servers: ['github'], settings_file: '~/.cursor/mcp.json' });
    expect(clients.find((c) => c.client === 'codex')?.problem).toContain('not valid TOML');
    expect(clients.find((c) => c.client === 'zed')).toMatchObject({ installed: false, servers: [] });
    expect(readFileSync(join(home, '.codex', 'config.toml'), 'utf8')).toBe('[mcp_servers.a\n');
    const table = await cli('mcp', 'client', 'ls');
    expect(table.stdout).toMatch(/cursor\s+yes\s+github\s+~\/\.cursor\/mcp\.json/);
    expect(table.stdout).toMatch(/codex\s+yes\s+malformed: left untouched/);
  });

  it('refuses unknown clients and names with traversal (usage, exit 2), touching nothing', async () => {
    for (const name of ['notepad', '../../.ssh/authorized_keys', 'lm-studio']) {
      const r = await cli('mcp', 'client', 'register', name, '--registry', server.url);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toContain('unsupported client');
    }
    const r = await cli('mcp', 'client', 'unregister', 'cursor', 'notepad', '--registry', server.url);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unsupported client type 'notepad'");
  });

  it('refuses a malformed settings file before asking the server anything, and leaves it untouched', async () => {
    mkdirSync(join(home, '.gemini'));
    const text = '{ "mcpServers": { "a": 1 ';
    writeFileSync(join(home, '.gemini', 'settings.json'), text);
    // A registry nobody listens on: reaching it would be a network failure (exit 6), not this refusal.
    const r = await cli('mcp', 'client', 'register', 'gemini-cli', '--registry', 'http://127.0.0.1:9');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('~/.gemini/settings.json is not valid JSON; Agentry left it untouched');
    expect(readFileSync(join(home, '.gemini', 'settings.json'), 'utf8')).toBe(text);
  });

  it("writes the server's own MCP endpoint into clients with --self, idempotently, and removes it again", async () => {
    mkdirSync(join(home, '.cursor'));
    writeFileSync(join(home, '.cursor', 'mcp.json'), '{\n  // mine\n  "mcpServers": { "github": { "url": "https://example.com/mcp" } }\n}\n');
    const r = await cli('mcp', 'client', 'register', 'claude-code', 'cursor', 'goose', '--self', '--registry', server.url, '--token', server.adminToken, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      registry: server.url,
      endpoint: `${server.url}/mcp`,
      clients: [
        { client: 'claude-code', settings_file: '~/.claude.json', servers: ['agentry'] },
        { client: 'cursor', settings_file: '~/.cursor/mcp.json', servers: ['agentry'] },
        { client: 'goose', settings_file: '~/.config/goose/config.yaml', servers: ['agentry'] },
      ],
    });
    const claude = JSON.parse(readFileSync(join(home, '.claude.json'), 'utf8'));
    expect(claude.mcpServers).toEqual({ agentry: { type: 'http', url: `${server.url}/mcp` } });
    const cursor = readFileSync(join(home, '.cursor', 'mcp.json'), 'utf8');
    expect(cursor).toContain('// mine');
    expect(cursor).toContain('"github"');
    expect(cursor).toContain(`"url": "${server.url}/mcp"`);
    const goose = readFileSync(join(home, '.config', 'goose', 'config.yaml'), 'utf8');
    expect(goose).toMatch(/agentry:\n\s+name: agentry\n\s+type: streamable_http\n\s+uri: http:\/\/127\.0\.0\.1:\d+\/mcp/);
    // The token is never written into a client's settings.
    for (const text of [JSON.stringify(claude), cursor, goose]) expect(text).not.toContain(server.adminToken);
    // Again: the same files, byte for byte.
    const again = await cli('mcp', 'client', 'register', 'claude-code', 'cursor', 'goose', '--self', '--registry', server.url);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`claude-code: agentry (${server.url}/mcp) → ~/.claude.json`);
    expect(again.stdout).toContain("add the header 'Authorization: Bearer <token>'");
    expect(readFileSync(join(home, '.cursor', 'mcp.json'), 'utf8')).toBe(cursor);
    expect(JSON.parse(readFileSync(join(home, '.claude.json'), 'utf8'))).toEqual(claude);
    // Unregister: only its entry goes.
    const gone = await cli('mcp', 'client', 'unregister', 'cursor', 'claude-code', '--self', '--registry', server.url, '--json');
    expect(gone.code, gone.stderr).toBe(0);
    expect(JSON.parse(gone.stdout).clients).toEqual([
      { client: 'cursor', servers: ['agentry'] },
      { client: 'claude-code', servers: ['agentry'] },
    ]);
    expect(Object.keys(JSON.parse(readFileSync(join(home, '.claude.json'), 'utf8')).mcpServers ?? {})).toEqual([]);
    expect(readFileSync(join(home, '.cursor', 'mcp.json'), 'utf8')).toContain('"github"');
    expect(readFileSync(join(home, '.cursor', 'mcp.json'), 'utf8')).not.toContain('agentry');
    const twice = await cli('mcp', 'client', 'unregister', 'cursor', '--self', '--registry', server.url);
    expect(twice.stdout).toBe('cursor: nothing to remove\n');
  });
});
