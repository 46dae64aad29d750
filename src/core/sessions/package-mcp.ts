import type { RequestContext } from '../auth/principal.js';
import { AgentryError } from '../errors.js';
import type { PackageService } from '../packages/package-service.js';
import type { SharedWorkloads } from '../workloads/shared-workloads.js';
import { AGENT_PACKAGE_NAME, agentYamlServerProfile, agentYamlServers, fillSecrets } from './formats/agent-yaml-servers.js';
import { McpConnectError, type McpConnection, type McpTarget } from './mcp-port.js';
import { workloadConnection } from './workload-mcp.js';

export interface PackageMcpDeps {
  packages: PackageService;
  shared: SharedWorkloads;
  /** The value of secret `key` in the session's vaults (their order), or undefined. */
  vaultSecret(accountId: number, vaultIds: string[], key: string): Promise<string | undefined>;
}

const failure = (why: string): McpConnectError => new McpConnectError('connection', why.slice(0, 500));

/**
 * A session's connection to an MCP server of an agent.yaml package (docs/run.md): the package
 * version is read as the session's account (one it may no longer read is not found), the server's
 * entry checked by the mapping's rule, and the workload of (account, package version and sha256,
 * server, vaults) held, started if none runs: `npx`'s package installed by Agentry and run with
 * node in the sandbox under the profile the agent's `permissions` give, with `${secrets.KEY}` filled
 * in from the session's vaults at each start. Closing the connection releases the hold.
 */
export const openPackageServer = async (deps: PackageMcpDeps, ctx: RequestContext, target: Extract<McpTarget, { kind: 'package' }>): Promise<McpConnection> => {
  const m = AGENT_PACKAGE_NAME.exec(target.package);
  if (!m) throw failure(`'${target.package.slice(0, 100)}' is not an agent package name`);
  let manifest: Record<string, unknown>;
  let digest: string;
  try {
    const { version } = await deps.packages.getVersion(ctx, m[1], m[2], target.version, { kind: 'agent' });
    manifest = version.manifest;
    digest = version.digest;
  } catch (e) {
    if (e instanceof AgentryError) throw failure(`agent package ${target.package}@${target.version.slice(0, 64)}: ${e.message}`);
    throw e;
  }
  let server;
  try {
    server = agentYamlServers(manifest).find(([id]) => id === target.server)?.[1];
  } catch (e) {
    if (e instanceof AgentryError) throw failure(e.message);
    throw e;
  }
  if (!server) throw failure(`agent package ${target.package}@${target.version} has no MCP server '${target.server.slice(0, 64)}' in mcp_servers`);
  const profile = agentYamlServerProfile(manifest);
  const { package: pkg, version, args, env } = server;
  const key = JSON.stringify([target.accountId, target.package, target.version, digest, target.server, target.vaultIds]);
  const missing = (k: string): Error =>
    new Error(
      `secret '${k}' (mcp_servers.${target.server}.env) is in none of the session's vaults: add an environment_variable credential with secret_name '${k}' to a vault and pass it in vault_ids`,
    );
  try {
    const lease = await deps.shared.acquire(key, async () => ({
      name: '',
      source: { kind: 'npm', package: pkg, version, args },
      env: await fillSecrets(env, (k) => deps.vaultSecret(target.accountId, target.vaultIds, k), missing),
      headers: {},
      profile,
      networkIsolation: true,
    }));
    return workloadConnection(lease, () => lease.release());
  } catch (e) {
    throw failure(e instanceof Error ? e.message : 'the server did not start');
  }
};
