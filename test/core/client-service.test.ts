import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientConfigFileEditor } from '../../src/adapters/client-config/config-file-editor.js';
import { AuditLog } from '../../src/core/audit/audit-log.js';
import { AccessPolicy } from '../../src/core/auth/access-policy.js';
import type { RequestContext } from '../../src/core/auth/principal.js';
import type { WorkloadEndpoint } from '../../src/core/clients/client-config-files.js';
import { ClientService } from '../../src/core/clients/client-service.js';
import type { CoreDeps } from '../../src/core/core-deps.js';
import { GroupService } from '../../src/core/groups/group-service.js';
import type { GroupStore } from '../../src/core/groups/group-store.js';
import type { Storage } from '../../src/core/storage.js';
import { systemClock } from '../../src/core/time.js';
import type { TokenRecord } from '../../src/core/tokens/token-repo.js';
import { openStorage } from '../../src/storage/open-storage.js';

/**
 * The seam the workload supervisor plugs into: registering a client writes the running servers of its
 * groups, and servers that start or stop later reach the clients registered to their group. Real
 * SQLite store, real files below a temporary home.
 */
describe('client service', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-clients-'));
  const home = join(dataDir, 'home');
  let storage: Storage;
  let groups: GroupService;
  let clients: ClientService;
  let admin: RequestContext;
  const running: WorkloadEndpoint[] = [];

  beforeAll(async () => {
    const opened = await openStorage({ dataDir });
    storage = opened.storage;
    const store: GroupStore = opened.groups;
    const account = await storage.accounts.insert({ name: 'root', kind: 'user', isAdmin: true }, new Date().toISOString());
    admin = { principal: { account, token: { permission: 'admin', accountId: account.id } as TokenRecord }, ip: null };
    const policy = new AccessPolicy(storage, false);
    const deps = { storage, blobs: undefined, policy, audit: new AuditLog(systemClock), clock: systemClock } as unknown as CoreDeps;
    groups = new GroupService(deps, store);
    clients = new ClientService(deps, store, new ClientConfigFileEditor(home), 'linux');
    // The supervisor's side of the port: what it reports as running.
    clients.useWorkloads({ running: async () => running });
  });
  afterAll(async () => {
    await storage?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cursor = () => parseJsonc(readFileSync(join(home, '.cursor', 'mcp.json'), 'utf8')).mcpServers;
  const codex = () => (parseToml(readFileSync(join(home, '.codex', 'config.toml'), 'utf8')) as { mcp_servers: Record<string, unknown> }).mcp_servers;

  it('writes the running servers of the registered groups, and follows servers as they start and stop', async () => {
    await groups.create(admin, 'dev');
    running.push({ name: 'fetch', url: 'http://127.0.0.1:8080/workloads/fetch/mcp', transport: 'streamable-http', group: 'default' });
    running.push({ name: 'files', url: 'http://127.0.0.1:8080/workloads/files/sse', transport: 'sse', group: 'dev' });

    expect(await clients.register(admin, ['cursor'], [], true)).toEqual(['default']);
    expect(cursor()).toEqual({ fetch: { type: 'http', url: 'http://127.0.0.1:8080/workloads/fetch/mcp' } });
    await clients.register(admin, ['codex'], ['dev']);
    expect(codex()).toEqual({ files: { url: 'http://127.0.0.1:8080/workloads/files/sse' } });

    // A server starting in `dev` reaches codex (registered to dev), not cursor (default).
    await clients.addServer({ name: 'git', url: 'http://127.0.0.1:8080/workloads/git/mcp', transport: 'streamable-http', group: 'dev' });
    expect(Object.keys(codex()).sort()).toEqual(['files', 'git']);
    expect(Object.keys(cursor())).toEqual(['fetch']);
    await clients.removeServer('git', 'dev');
    expect(Object.keys(codex())).toEqual(['files']);

    // Unregistering from a group takes that group's servers out.
    await clients.unregister(admin, ['codex'], ['dev']);
    expect(codex()).toEqual({});
    expect(await clients.list(admin)).toEqual([{ name: 'cursor', groups: ['default'] }]);
  });

  it('refuses a server name that would not be a safe key in a client file', async () => {
    await expect(clients.addServer({ name: '../evil', url: 'http://x/', transport: 'sse', group: 'default' })).rejects.toMatchObject({
      status: 400,
      message: 'Invalid MCP server name',
      details: [expect.stringContaining('not a valid MCP server name')],
    });
    expect(Object.keys(cursor())).toEqual(['fetch']);
  });
});
