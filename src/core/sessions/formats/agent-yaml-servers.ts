import { badRequest } from '../../errors.js';
import { isPlainObject } from '../../packages/manifest/fields.js';
import { NPM_PACKAGE_NAME, NPM_PACKAGE_VERSION, type PermissionProfile } from '../../workloads/workload.js';

/**
 * One `mcp_servers` entry of an agent.yaml, as the sandbox runs it (docs/run.md): an npm package
 * started with `npx`, installed once by Agentry (scripts off, through the egress policy) and run
 * with node under bubblewrap. Pure: the runtime and the mapping check an entry with the same rule.
 */
export interface AgentYamlServer {
  /** The npm package and the version or dist-tag `npx` names (`latest` when none). */
  package: string;
  version: string;
  /** The server's own arguments (what follows the package on the npx line). */
  args: string[];
  /** The environment as written: values may hold `${secrets.KEY}`, filled in at each start. */
  env: Record<string, string>;
  /** The keys its env names, in order of first use. */
  secretKeys: string[];
}

/** An agent package's name, `@scope/name` (scope and name captured). */
export const AGENT_PACKAGE_NAME = /^@([a-z0-9][a-z0-9.-]*)\/([a-z0-9][a-z0-9._-]*)$/;

/** The commands a server may name: `npx` (and the same file by path). */
export const SUPPORTED_SERVER_COMMANDS = ['npx'] as const;
/** `npx` options that only silence the install prompt (Agentry installs without asking anyway). */
const NPX_QUIET_FLAGS = new Set(['-y', '--yes', '-q', '--quiet']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `${secrets.KEY}` (the manifest validator's pattern). */
export const SECRET_REF = /\$\{secrets\.([A-Za-z0-9_]+)\}/g;
/** The server names the session runtime takes (they become part of `mcp__<server>__<tool>`). */
const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const refuse = (field: string, why: string): never => {
  throw badRequest(`agent.yaml field '${field}' cannot run on Agentry: ${why}`);
};

/**
 * Checks one server entry and says how it runs; refuses, naming the field, what the sandbox cannot
 * run: a command other than `npx`, npx options that install or run something else (`-p`, `-c`, …), a
 * package spec that is not `name` or `name@version-or-tag` (ranges, URLs, git, files), and
 * environment names that are not variable names.
 */
export const agentYamlServer = (id: string, entry: unknown): AgentYamlServer => {
  const at = `mcp_servers.${id.slice(0, 64)}`;
  if (!SERVER_NAME.test(id)) refuse(at, 'a server name is 1-64 letters, digits, _ or -, starting with a letter or digit');
  if (!isPlainObject(entry)) return refuse(at, "it must be a mapping with 'command', 'args' and 'env'");
  const command = typeof entry.command === 'string' ? entry.command : '';
  if (command !== 'npx' && !command.endsWith('/npx')) {
    refuse(
      `${at}.command`,
      `'${command.slice(0, 64)}' is not supported: Agentry runs MCP servers of agent packages only as 'npx <npm package>' (installed by Agentry, run with node in its sandbox); publish other servers as mcp-server packages`,
    );
  }
  const args = Array.isArray(entry.args) ? entry.args.filter((a): a is string => typeof a === 'string') : [];
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    if (!NPX_QUIET_FLAGS.has(args[i])) refuse(`${at}.args`, `the npx option '${args[i].slice(0, 64)}' is not supported (only ${[...NPX_QUIET_FLAGS].join(', ')} before the package)`);
    i++;
  }
  const spec = args[i];
  if (spec === undefined) return refuse(`${at}.args`, 'npx names no package');
  const m = /^((?:@[^@/]+\/)?[^@]+)(?:@(.+))?$/.exec(spec);
  const pkg = m?.[1] ?? '';
  const version = m?.[2] ?? 'latest';
  if (!NPM_PACKAGE_NAME.test(pkg) || !NPM_PACKAGE_VERSION.test(version)) {
    refuse(`${at}.args`, `'${spec.slice(0, 128)}' is not an npm package name with an optional exact version or dist-tag (ranges, URLs, git and file specs are not run)`);
  }
  const env: Record<string, string> = {};
  const secretKeys: string[] = [];
  const given = isPlainObject(entry.env) ? entry.env : {};
  for (const [name, value] of Object.entries(given)) {
    if (!ENV_NAME.test(name)) refuse(`${at}.env`, `'${name.slice(0, 64)}' is not an environment variable name`);
    if (typeof value !== 'string' || value.includes('\0')) return refuse(`${at}.env.${name}`, 'it must be a string without NUL bytes');
    env[name] = value;
    for (const ref of value.matchAll(SECRET_REF)) if (!secretKeys.includes(ref[1])) secretKeys.push(ref[1]);
  }
  return { package: pkg, version, args: args.slice(i + 1), env, secretKeys };
};

/** Every server of a manifest's `mcp_servers` (a mapping by server name), checked. */
export const agentYamlServers = (manifest: Record<string, unknown>): Array<[string, AgentYamlServer]> => {
  const servers = manifest.mcp_servers;
  if (servers === undefined || servers === null) return [];
  if (!isPlainObject(servers)) return refuse('mcp_servers', 'it must be a mapping of server names to servers');
  return Object.entries(servers).map(([id, entry]) => [id, agentYamlServer(id, entry)]);
};

/**
 * The sandbox profile an agent.yaml's `permissions` give its MCP servers: no mounts beyond the
 * sandbox's read-only system and the package itself (the scratch space is the sandbox's private
 * `/tmp`, also `HOME`); no network unless `permissions.network` is `true`, and then only through
 * the egress proxy to public hosts the server's egress policy allows.
 */
export const agentYamlServerProfile = (manifest: Record<string, unknown>): PermissionProfile => {
  const permissions = isPlainObject(manifest.permissions) ? manifest.permissions : {};
  return { name: 'agent.yaml', read: [], write: [], network: { outbound: permissions.network === true ? { allow_host: ['*'] } : {} } };
};

/**
 * The env with every `${secrets.KEY}` filled in by `secret` (read at start from the caller's
 * vaults); the first key it lacks is the error, named. The values go only into the sandbox.
 */
export const fillSecrets = async (env: Record<string, string>, secret: (key: string) => Promise<string | undefined>, missing: (key: string) => Error): Promise<Record<string, string>> => {
  const values = new Map<string, string>();
  for (const value of Object.values(env)) {
    for (const ref of value.matchAll(SECRET_REF)) {
      if (values.has(ref[1])) continue;
      const v = await secret(ref[1]);
      if (v === undefined) throw missing(ref[1]);
      values.set(ref[1], v);
    }
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(SECRET_REF, (_, key: string) => values.get(key) ?? '')]));
};
