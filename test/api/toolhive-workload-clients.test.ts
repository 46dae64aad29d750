import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Workloads wired into the MCP clients registered to their group (ToolHive's model; issue 15,
 * points 4 and 6): a running workload's proxy URL is written into those clients' settings files
 * (below the server's clients home, a temp dir), and leaves them when it stops, is deleted or moves
 * to another group. A real MCP client then reaches the server through the URL the file holds.
 */
const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));
const TIMINGS = { initTimeoutMs: 20_000, healthTimeoutMs: 10_000, healthIntervalMs: 5_000, backoffBaseMs: 300, backoffMaxMs: 2_000, maxRestarts: 3 };
const spec = (name: string, group?: string) => ({
  name,
  command: process.execPath,
  cmd_arguments: [EVERYTHING, 'stdio'],
  permission_profile: { read: [NODE_MODULES], write: [] },
  ...(group ? { group } : {}),
});

describe.each(testStores)('workloads in client settings files (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let home: string;
  let claudeFile: string;
  let cursorFile: string;

  const servers = (file: string): Record<string, { type?: string; url?: string }> => {
    if (!existsSync(file)) return {};
    return (JSON.parse(readFileSync(file, 'utf8')) as { mcpServers?: Record<string, { type?: string; url?: string }> }).mcpServers ?? {};
  };
  const has = (file: string, name: string) => waitFor(`${name} in ${file}`, async () => (servers(file)[name] ? true : undefined), 30_000);
  const lacks = (file: string, name: string) => waitFor(`${name} gone from ${file}`, async () => (servers(file)[name] ? undefined : true), 30_000);
  const status = async (name: string) => (await admin.req('GET', `/api/v1beta/workloads/${name}/status`)).body?.status as string | undefined;
  const waitStatus = (name: string, want: string) => waitFor(`${name} to be ${want}`, async () => ((await status(name)) === want ? want : undefined), 60_000);
  const proxyLog = async (name: string) => (await admin.req('GET', `/api/v1beta/workloads/${name}/proxy-logs`)).body as string;

  // A data dir and schema neither server owns: the last test restarts the server on them.
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-wlc-'));
  const schema = `t_${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    server = await startTestServer({ store, workloadTimings: TIMINGS, dataDir, postgresSchema: schema });
    admin = new Api(server.url, server.adminToken);
    home = join(server.dataDir, 'home');
    claudeFile = join(home, '.claude.json');
    cursorFile = join(home, '.cursor', 'mcp.json');
    expect((await admin.req('POST', '/api/v1beta/groups', { name: 'team-a' })).status).toBe(201);
    // Claude Code is registered to team-a; Cursor, with no group named, to the default group.
    expect((await admin.req('POST', '/api/v1beta/clients', { name: 'claude-code', groups: ['team-a'] })).body).toEqual({ name: 'claude-code', groups: ['team-a'] });
    expect((await admin.req('POST', '/api/v1beta/clients', { name: 'cursor' })).body).toEqual({ name: 'cursor', groups: ['default'] });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (store === 'postgres') await dropTestSchema(schema);
  });

  it("writes a running workload into its group's clients, and a real MCP client reaches it through that entry", async () => {
    expect((await admin.req('POST', '/api/v1beta/workloads', spec('alpha', 'team-a'))).status).toBe(201);
    await waitStatus('alpha', 'running');
    await has(claudeFile, 'alpha');
    const entry = servers(claudeFile).alpha;
    expect(entry).toEqual({ type: 'http', url: `${server.url}/workloads/alpha/mcp` });
    // Cursor is registered to another group.
    expect(servers(cursorFile).alpha).toBeUndefined();

    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(entry.url!), { requestInit: { headers: { authorization: `Bearer ${server.adminToken}` } } }));
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('echo');
    await client.close();
  }, 120_000);

  it('moves the entry with the workload when it changes group, and refuses groups that do not exist', async () => {
    expect((await admin.req('POST', '/api/v1beta/workloads', spec('ghost', 'nowhere'))).status).toBe(400);
    expect((await admin.req('GET', '/api/v1beta/workloads/ghost')).status).toBe(404);
    const badMove = await admin.req('POST', '/api/v1beta/workloads/alpha/edit', { group: 'nowhere' });
    expect(badMove.status).toBe(400);
    expect(badMove.body).toContain("Group 'nowhere' does not exist");
    expect((await admin.req('GET', '/api/v1beta/workloads?group=nowhere')).status).toBe(404);
    expect(servers(claudeFile).alpha).toBeDefined();

    expect((await admin.req('POST', '/api/v1beta/workloads/alpha/edit', { group: 'default' })).status).toBe(200);
    await lacks(claudeFile, 'alpha');
    await waitStatus('alpha', 'running');
    await has(cursorFile, 'alpha');
    expect(servers(cursorFile).alpha).toEqual({ type: 'http', url: `${server.url}/workloads/alpha/mcp` });
  }, 120_000);

  it('removes the entry when the workload stops, writes it again when it restarts', async () => {
    expect((await admin.req('POST', '/api/v1beta/workloads/alpha/stop')).status).toBe(202);
    await lacks(cursorFile, 'alpha');
    await waitStatus('alpha', 'stopped');
    expect((await admin.req('POST', '/api/v1beta/workloads/alpha/restart')).status).toBe(202);
    await waitStatus('alpha', 'running');
    await has(cursorFile, 'alpha');
  }, 120_000);

  it('leaves a malformed settings file untouched and says so in the proxy log; a later registration writes the running servers', async () => {
    const malformed = '{ "mcpServers": { "mine": { "url": "http://x" } }, oops\n';
    writeFileSync(cursorFile, malformed);
    expect((await admin.req('POST', '/api/v1beta/workloads/alpha/stop')).status).toBe(202);
    await waitFor('the removal failure in the proxy log', async () => ((await proxyLog('alpha')).includes('client config entry not removed') ? true : undefined), 30_000);
    expect(readFileSync(cursorFile, 'utf8')).toBe(malformed);
    await waitStatus('alpha', 'stopped');
    expect((await admin.req('POST', '/api/v1beta/workloads/alpha/restart')).status).toBe(202);
    await waitStatus('alpha', 'running');
    await waitFor('the write failure in the proxy log', async () => ((await proxyLog('alpha')).includes('client config not updated') ? true : undefined), 30_000);
    expect(readFileSync(cursorFile, 'utf8')).toBe(malformed);
    // A malformed file also fails a registration, untouched.
    expect((await admin.req('POST', '/api/v1beta/clients/register', { names: ['cursor'], groups: ['default'] })).status).toBe(400);
    expect(readFileSync(cursorFile, 'utf8')).toBe(malformed);

    writeFileSync(cursorFile, '{ "mcpServers": { "mine": { "url": "http://x" } } }\n');
    expect((await admin.req('POST', '/api/v1beta/clients/register', { names: ['cursor'], groups: ['default'] })).status).toBe(200);
    expect(servers(cursorFile)).toEqual({ mine: { url: 'http://x' }, alpha: { type: 'http', url: `${server.url}/workloads/alpha/mcp` } });
  }, 120_000);

  it("moves a deleted group's workloads to the default group, clients following; deleting a workload removes its entry", async () => {
    expect((await admin.req('POST', '/api/v1beta/groups', { name: 'team-b' })).status).toBe(201);
    expect((await admin.req('POST', '/api/v1beta/clients/register', { names: ['claude-code'], groups: ['team-b'] })).status).toBe(200);
    expect((await admin.req('POST', '/api/v1beta/workloads', spec('beta', 'team-b'))).status).toBe(201);
    await waitStatus('beta', 'running');
    await has(claudeFile, 'beta');
    expect(servers(cursorFile).beta).toBeUndefined();

    expect((await admin.req('DELETE', '/api/v1beta/groups/team-b')).status).toBe(204);
    expect((await admin.req('GET', '/api/v1beta/workloads/beta')).body.group).toBe('default');
    await lacks(claudeFile, 'beta');
    await has(cursorFile, 'beta');

    expect((await admin.req('DELETE', '/api/v1beta/workloads/beta')).status).toBe(202);
    await lacks(cursorFile, 'beta');
    expect(servers(cursorFile).alpha).toBeDefined();
  }, 120_000);

  it('writes the workloads that come back after a server restart again, at the new server URL', async () => {
    await waitStatus('alpha', 'running');
    await has(cursorFile, 'alpha');
    await server.close();
    writeFileSync(cursorFile, '{ "mcpServers": { "mine": { "url": "http://x" } } }\n');
    server = await startTestServer({ store, workloadTimings: TIMINGS, dataDir, postgresSchema: schema, adminToken: server.adminToken });
    admin = new Api(server.url, server.adminToken);
    await waitStatus('alpha', 'running');
    expect(servers(cursorFile)).toEqual({ mine: { url: 'http://x' }, alpha: { type: 'http', url: `${server.url}/workloads/alpha/mcp` } });
  }, 120_000);
});
