import { connectRemoteMcp } from '../adapters/mcp-client/remote-mcp.js';
import type { EgressPolicy } from '../adapters/egress/index.js';
import type { RequestContext } from '../core/auth/principal.js';
import type { Registry } from '../core/registry.js';
import { McpConnectError } from '../core/sessions/mcp-port.js';
import { McpToolsets } from '../core/sessions/mcp-toolsets.js';
import { openWorkloadConnection } from '../core/sessions/workload-mcp.js';
import type { Storage } from '../core/storage.js';

/**
 * The MCP servers of managed-agent sessions for this worker: remote Streamable HTTP servers with the
 * official client through the egress policy (the credential of the session's vaults in a header),
 * and this server's own MCP workloads in-process, read as the session's account (the access rule
 * of the workload proxy, with a read-only principal that exists only here).
 */
export const createMcpToolsets = (registry: Registry, storage: Storage, egress: EgressPolicy): McpToolsets =>
  new McpToolsets({
    credentialHeaders: (accountId, vaultIds, url) => registry.managed.vaults.credentialHeaders(accountId, vaultIds, url),
    connector: {
      async connect(target, signal) {
        if (target.kind === 'url') return connectRemoteMcp(target.url, target.headers, egress.fetch, signal);
        const workloads = registry.workloads;
        if (!workloads) throw new McpConnectError('connection', 'this server does not run MCP workloads');
        const account = await storage.accounts.findById(target.accountId);
        if (!account) throw new McpConnectError('connection', 'the session has no account');
        const now = new Date().toISOString();
        const ctx: RequestContext = {
          ip: null,
          principal: {
            account,
            token: {
              id: -1,
              accountId: account.id,
              name: 'session-runtime',
              hash: '',
              prefix: '',
              permission: 'read',
              scopes: null,
              expiresAt: null,
              revokedAt: null,
              lastUsedAt: null,
              createdAt: now,
              allAccounts: false,
            },
          },
        };
        return openWorkloadConnection(() => workloads.session(ctx, target.workload), target.workload);
      },
    },
  });
