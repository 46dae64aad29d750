import { connectRemoteMcp } from '../adapters/mcp-client/remote-mcp.js';
import { HttpTokenRefresher } from '../adapters/oauth/token-refresh.js';
import { GitRepos } from '../adapters/tools/git-repos.js';
import type { EgressPolicy } from '../adapters/egress/index.js';
import type { Registry } from '../core/registry.js';
import { McpConnectError } from '../core/sessions/mcp-port.js';
import { McpToolsets } from '../core/sessions/mcp-toolsets.js';
import { openWorkloadConnection } from '../core/sessions/workload-mcp.js';
import { openPackageServer } from '../core/sessions/package-mcp.js';
import { sessionOwnerContext } from '../core/sessions/session-context.js';
import { SessionMounts } from '../core/sessions/session-mounts.js';
import { resourceToken } from '../core/sessions/session-resources.js';
import type { Storage } from '../core/storage.js';

/**
 * The MCP servers of managed-agent sessions for this worker: remote Streamable HTTP servers with the
 * official client through the egress policy (the credential of the session's vaults in a header),
 * and this server's own MCP workloads in-process, read as the session's account (the access rule
 * of the workload proxy, acting as the session's account).
 */
export const createMcpToolsets = (registry: Registry, storage: Storage, egress: EgressPolicy, refresher = new HttpTokenRefresher(egress)): McpToolsets =>
  new McpToolsets({
    credentialHeaders: (accountId, vaultIds, url) => registry.managed.vaults.credentialHeaders(accountId, vaultIds, url),
    // mcp_oauth credentials: refreshed at their token endpoint through the egress policy when expired or refused.
    refreshCredential: (accountId, vaultIds, url, force) => registry.managed.vaults.refreshMcpOAuth(accountId, vaultIds, url, refresher, { force, now: new Date() }),
    connector: {
      async connect(target, signal) {
        if (target.kind === 'url') return connectRemoteMcp(target.url, target.headers, egress.fetch, signal);
        const workloads = registry.workloads;
        if (!workloads) throw new McpConnectError('connection', 'this server does not run MCP workloads');
        const ctx = await sessionOwnerContext(storage, target.accountId, new Date().toISOString());
        if (!ctx) throw new McpConnectError('connection', 'the session has no account');
        if (target.kind === 'package') {
          const vaultSecret = (accountId: number, vaultIds: string[], key: string) => registry.managed.vaults.secretByName(accountId, vaultIds, key);
          return openPackageServer({ packages: registry.packages, shared: workloads.shared, vaultSecret }, ctx, target);
        }
        return openWorkloadConnection(() => workloads.session(ctx, target.workload), target.workload);
      },
    },
  });

/**
 * The skills, files and memory stores a session's workspace mounts, read as the session's account,
 * and its repositories, cloned into the workspaces under `workspacesDir` through the egress policy.
 */
export const createSessionMounts = (registry: Registry, storage: Storage, repos?: { egress: EgressPolicy; workspacesDir: string }): SessionMounts =>
  new SessionMounts({
    storage,
    repos: repos && new GitRepos({ baseDir: repos.workspacesDir, egress: repos.egress }),
    repoToken: async (session, resourceId, url) => {
      const owner = await storage.accounts.findById(session.accountId);
      if (!owner) return undefined;
      return (await resourceToken(registry, owner.name, session.id, resourceId)) ?? (await registry.managed.vaults.tokenForOrigin(session.accountId, session.vaultIds, url));
    },
    skills: registry.managed.skills,
    files: registry.managed.files,
    memory: registry.managed.memoryStores,
    contextFor: async (accountId) => {
      const ctx = await sessionOwnerContext(storage, accountId, new Date().toISOString());
      if (!ctx) throw new Error('the session has no account');
      return ctx;
    },
  });
