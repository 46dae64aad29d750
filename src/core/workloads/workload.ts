import type { Visibility } from '../access/visibility.js';
import type { SandboxProfile } from '../sandbox/sandbox.js';

/**
 * A workload: one MCP server Agentry runs and proxies (ToolHive's word). Its configuration is what
 * was asked for (`WorkloadConfig`, exported as ToolHive's RunConfig); its state is what the
 * supervisor last saw (`status`, `statusContext`) and what it should be (`desired`).
 */

/** ToolHive's workload statuses (core.Workload `status`). */
export const WORKLOAD_STATUSES = ['running', 'stopped', 'error', 'starting', 'stopping', 'unhealthy', 'removing', 'unknown', 'unauthenticated', 'auth_retrying', 'policy_stopped'] as const;
export type WorkloadStatus = (typeof WORKLOAD_STATUSES)[number];

/** Where the MCP server comes from. Local kinds talk stdio; `remote` is proxied over HTTP. */
export type WorkloadSource =
  /** An explicit command (admins only): run as given, under the sandbox. */
  | { kind: 'command'; command: string; args: string[] }
  /** An npm package (server.json `registryType: npm`): installed once, then run with node. */
  | { kind: 'npm'; package: string; version: string; args: string[] }
  /** A PyPI package (server.json `registryType: pypi`): run with `uvx` when uv is installed. */
  | { kind: 'pypi'; package: string; version: string; args: string[] }
  /** An OCI image (server.json `registryType: oci`): needs a container engine. */
  | { kind: 'oci'; image: string; args: string[] }
  /** A remote MCP server (server.json `remotes`, or an explicit URL): proxied. */
  | { kind: 'remote'; url: string; transport: 'streamable-http' | 'sse' };

/** ToolHive's permission profile (`permissions.Profile`): mounts and network. */
export interface PermissionProfile extends SandboxProfile {
  name?: string;
}

export interface ToolOverride {
  name?: string;
  description?: string;
}

/**
 * What a reader who may not manage a workload sees in place of each plain environment value and each
 * plain header value: the names stay (ToolHive's `env_vars` and `add_plaintext_headers` are maps of
 * strings, so its clients still parse them), the values do not.
 */
export const REDACTED_VALUE = '***';

export interface SecretRef {
  /** The secret's key in the owner's ToolHive secrets (namespace `WORKLOAD_SECRETS_NAMESPACE` of `core/secrets/toolhive-secrets.ts`). */
  name: string;
  /** The environment variable it becomes. */
  target: string;
}

export interface WorkloadConfig {
  name: string;
  group: string;
  source: WorkloadSource;
  /** Set when the workload was made from a registry entry: the server's name (`scope/name`) and version. */
  registryServer?: string;
  registryVersion?: string;
  /**
   * Plain environment variables (no secrets here). Shown and exported as they are to those who may
   * manage the workload; other readers see each value as {@link REDACTED_VALUE}.
   */
  env: Record<string, string>;
  /** Environment variables whose values come from the secret store at each start. */
  secrets: SecretRef[];
  /**
   * Headers sent to a remote server: plain values (shown like `env`: as they are only to those who may
   * manage the workload, each value as {@link REDACTED_VALUE} to other readers), and values from the secret store.
   */
  headers: Record<string, string>;
  headerSecrets: Record<string, string>;
  profile: PermissionProfile;
  /** ToolHive's `network_isolation`: apply the profile's network rules (default true). */
  networkIsolation: boolean;
  /** Only these tools are offered (empty: all). Names as the server calls them. */
  tools: string[];
  /** Renamed or re-described tools, by the server's tool name. */
  toolsOverride: Record<string, ToolOverride>;
  /** How clients reach it through the proxy. */
  proxyMode: 'streamable-http' | 'sse';
  /** Who may use it through the proxy and see it in lists (default private). */
  visibility: Visibility;
  labels: Record<string, string>;
}

export type DesiredState = 'running' | 'stopped';

export interface WorkloadRecord {
  name: string;
  ownerAccountId: number;
  /** The owning account's name (secrets are read from its store). */
  ownerName: string;
  config: WorkloadConfig;
  desired: DesiredState;
  status: WorkloadStatus;
  statusContext: string;
  createdAt: string;
  startedAt: string | null;
  updatedAt: string;
}

/** What an npm workload may name: a package (scoped or not) and an exact version or dist-tag. */
export const NPM_PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
export const NPM_PACKAGE_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$/;

/** The group a workload is in when none is named (ToolHive's `default`). */
export const DEFAULT_GROUP = 'default';

/** ToolHive's name rule, a little stricter: letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 63. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Why `name` is not a workload name, or undefined. Refuses traversal (`..`, `/`), control characters and length. */
export const workloadNameProblem = (name: string): string | undefined => {
  if (!NAME.test(name) || name.includes('..')) {
    return `workload name '${name.slice(0, 70).replace(/[^\x20-\x7e]/g, '?')}' is invalid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'`;
  }
  return undefined;
};

/** The ToolHive `package` of a workload: what it runs, in one string. */
export const packageOf = (source: WorkloadSource): string => {
  switch (source.kind) {
    case 'command':
      return source.command;
    case 'npm':
      return `npx://${source.package}@${source.version}`;
    case 'pypi':
      return `uvx://${source.package}@${source.version}`;
    case 'oci':
      return source.image;
    case 'remote':
      return source.url;
  }
};

/** The transport the server itself speaks. */
export const transportOf = (source: WorkloadSource): 'stdio' | 'streamable-http' | 'sse' => (source.kind === 'remote' ? source.transport : 'stdio');

/** Where the proxy serves a workload under Agentry's origin: `/workloads/<name>/mcp` (Streamable HTTP) or `/workloads/<name>/sse` (SSE). */
export const workloadProxyPath = (name: string, mode: 'streamable-http' | 'sse'): string => `/workloads/${encodeURIComponent(name)}/${mode === 'sse' ? 'sse' : 'mcp'}`;
