/**
 * The built-in toolset of managed-agent sessions (`agent_toolset_20260401`: bash, read, write, edit,
 * glob, grep, web_fetch): the tool definitions the model is shown, the agent's per-tool configuration
 * (enabled, permission policy) resolved, and the port the session loop runs tool calls through.
 * The implementation lives in `src/adapters/tools/` (a workspace folder per session, `bash` under the
 * bubblewrap sandbox, the file tools in-process but confined to the workspace, `web_fetch` through the
 * egress policy); the core knows none of that.
 *
 * ## How the session loop wires it
 *
 * ```ts
 * // 1. What the model may call, and which calls need a user.tool_confirmation first:
 * const tools = resolveBuiltinToolset(agent.tools);           // [] when the agent has no agent_toolset_20260401
 * const modelTools = tools.map((t) => t.definition);          // {name, description, input_schema}[]: send to the provider
 * const needsConfirmation = (name: string) => builtinTool(tools, name)?.permission === 'always_ask';
 *
 * // 2. One toolbox per session (lazily, on the first built-in tool call; closed when the session idles or ends):
 * const box = await runtime.open({
 *   sessionId: session.id,
 *   tools,                                                    // the resolved list above
 *   networking: toolNetworkOf(environment.config, agent.mcp_servers.map((s) => s.url)),
 *   mounts: [                                                 // everything the seeds mount, contents read by the caller
 *     { type: 'file', path: '/mnt/session/uploads/file_123', content: bytes },        // file resources: read-only
 *     { type: 'directory', path: '/mnt/skills/pdf', files: [{ path: 'SKILL.md', content }], writable: false },
 *     { type: 'directory', path: '/mnt/memory/notes', files, writable: true },       // memory stores (read_write)
 *   ],
 * });
 *
 * // 3. Each agent.tool_use of a built-in tool (after an `allow` confirmation when always_ask):
 * const result = await box.execute({ id: event.id, name: event.name, input: event.input }, { signal });
 * // → { is_error, content: [{ type: 'text', text }] }: the agent.tool_result's fields. Never throws:
 * //   bad input, a disabled or unknown tool, a timeout, a refused path all come back as is_error results.
 *
 * // 4. After a turn: what the agent left in a writable mount (memory stores to write back, outputs):
 * const files = await box.collect('/mnt/memory/notes');      // [{path, content}] relative to the mount
 * await box.close();                                          // ends bash's sandbox, keeps the folder
 * await runtime.destroy(session.id);                          // session deleted: removes the folder
 * ```
 *
 * Inside the workspace (the paths the model sees, in bash and in the file tools alike): the working
 * directory `/workspace` (read-write, kept across turns), `/mnt/session/outputs` (read-write: files the
 * agent produces), and the caller's mounts (`/workspace/...` or `/mnt/...`; files read-only, directories
 * read-only or read-write). Relative paths are relative to `/workspace`.
 *
 * Permission policies: `always_allow` runs at once; `always_ask` (and `auto`, which needs a server-side
 * judge Agentry does not have: treated as `always_ask`) waits for `user.tool_confirmation`. The toolbox
 * does not ask: the loop does, and calls `execute` only for an allowed call.
 */

/** The type of the built-in toolset in an agent's `tools`. */
export const BUILTIN_TOOLSET_TYPE = 'agent_toolset_20260401';

/** The tools of `agent_toolset_20260401` Agentry runs (web_search needs a search provider: not offered). */
export const BUILTIN_TOOL_NAMES = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

export const isBuiltinToolName = (name: unknown): name is BuiltinToolName => typeof name === 'string' && (BUILTIN_TOOL_NAMES as readonly string[]).includes(name);

/** A JSON schema object (the tool's `input_schema`). */
export type JsonSchema = { [key: string]: JsonValue };
type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A tool as the model provider is shown it (Anthropic Messages' shape; OpenAI's `parameters` is the same schema). */
export interface ToolDefinition {
  name: BuiltinToolName;
  description: string;
  input_schema: JsonSchema;
}

/** What the loop does before a call: run it, or stop the turn with `requires_action` until `user.tool_confirmation`. */
export type ToolPermission = 'always_allow' | 'always_ask';

/** `web_fetch`'s own configuration (the SDK's `BetaManagedAgentsWebFetchToolConfig` fields Agentry applies). */
export interface WebFetchConfig {
  /** Only these hosts (and their subdomains); when absent, every public host. */
  allowedDomains?: string[];
  /** Never these hosts (and their subdomains). */
  blockedDomains?: string[];
  /** Cap on the text returned, in tokens (counted as 4 characters each); absent: the output limit. */
  maxContentTokens?: number;
}

/** One enabled built-in tool of an agent, its configuration resolved. */
export interface ResolvedBuiltinTool {
  name: BuiltinToolName;
  definition: ToolDefinition;
  permission: ToolPermission;
  /** Only for `web_fetch`. */
  webFetch?: WebFetchConfig;
}

/** One call, as the model made it (the `agent.tool_use` event's id, name and input). */
export interface ToolUse {
  id: string;
  name: string;
  input: unknown;
}

/** The `agent.tool_result` fields: text blocks, and whether the call failed. */
export interface ToolResult {
  is_error: boolean;
  content: Array<{ type: 'text'; text: string }>;
}

/**
 * The network `bash` gets, from the environment's `config.networking`:
 * - `none`: no network at all (a network namespace with only its own loopback);
 * - `limited`: only `allowedHosts` (host names, `*.domain`, `host:port`), through a local egress proxy
 *   (HTTP and HTTPS via `HTTP(S)_PROXY`; nothing else leaves the sandbox);
 * - `unrestricted`: every public host through the same proxy (the server's own loopback, private networks
 *   and metadata services stay refused by the egress policy unless the operator allows them).
 */
export type ToolNetwork = { type: 'none' } | { type: 'limited'; allowedHosts: string[] } | { type: 'unrestricted' };

/** A file or folder placed in the workspace before the first call. */
export type WorkspaceMount =
  /** One read-only file at `path` (file resources: default `/mnt/session/uploads/<file_id>`). */
  | { type: 'file'; path: string; content: Uint8Array | string }
  /** A folder at `path` with these files (paths relative to it), read-only or read-write (skills, memory stores). */
  | { type: 'directory'; path: string; files: Array<{ path: string; content: Uint8Array | string }>; writable: boolean };

export interface ToolboxSpec {
  sessionId: string;
  tools: ResolvedBuiltinTool[];
  networking: ToolNetwork;
  mounts?: WorkspaceMount[];
}

/** The built-in tools of one session, bound to its workspace. */
export interface SessionToolbox {
  readonly sessionId: string;
  /** The tools this toolbox runs (those enabled for the agent). */
  readonly tools: readonly ResolvedBuiltinTool[];
  /**
   * Runs one call. Never rejects: invalid input, a disabled or unknown tool, a refused path, a timeout,
   * a sandbox that cannot start all come back as `is_error` results with a message for the model.
   * `signal` aborts a running call (an interrupt): the result then says it was interrupted.
   */
  execute(use: ToolUse, opts?: { signal?: AbortSignal }): Promise<ToolResult>;
  /**
   * The files under a writable mount (or `/mnt/session/outputs`), paths relative to it, symlinks skipped.
   * Rejects with `bad_request` for any other path.
   */
  collect(path: string): Promise<Array<{ path: string; content: Uint8Array }>>;
  /** Ends the session's shell (and its sandbox); the workspace folder stays for the next turn. */
  close(): Promise<void>;
}

/** Whether `bash` can run here, in words the server prints at start. */
export interface ToolRuntimeStatus {
  /** `sandboxed`: bash under bubblewrap; `unsafe`: bash directly on the host (--unsafe-local-tools); `unavailable`: bash refused. */
  bash: 'sandboxed' | 'unsafe' | 'unavailable';
  message: string;
}

export interface ToolRuntime {
  status(): Promise<ToolRuntimeStatus>;
  /**
   * The session's toolbox, its workspace created (or re-used: the folder outlives a toolbox) and the
   * mounts written. Rejects with `validation_failed` for a mount path outside `/workspace` and `/mnt`
   * or with `..`, or an allowed host that is not a host name.
   */
  open(spec: ToolboxSpec): Promise<SessionToolbox>;
  /** Removes the session's workspace folder (the session was deleted). */
  destroy(sessionId: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Definitions

/** Longest output of a call the model gets; longer output is cut with a note saying so. */
export const TOOL_OUTPUT_LIMIT = 100_000;
/** bash: default and longest per-call timeout. */
export const BASH_DEFAULT_TIMEOUT_MS = 120_000;
export const BASH_MAX_TIMEOUT_MS = 600_000;

/** The input schema of the two search tools: a required pattern and an optional path. */
const patternAndPath = (pattern: string, path: string): JsonSchema => ({
  type: 'object',
  properties: { pattern: { type: 'string', description: pattern }, path: { type: 'string', description: path } },
  required: ['pattern'],
});

const DEFINITIONS: Record<BuiltinToolName, ToolDefinition> = {
  bash: {
    name: 'bash',
    description:
      'Run a bash command in a persistent shell in the session workspace (working directory /workspace). State (cwd, env vars) persists across calls. ' +
      `Output (stdout and stderr together) is cut at ${TOOL_OUTPUT_LIMIT} characters. A command that runs longer than its timeout is killed with every process it started, and the shell restarts.`,
    input_schema: {
      type: 'object',
      properties: {
        command: { type: 'string', description: 'The command to run' },
        restart: { type: 'boolean', description: 'Restart the persistent shell before running' },
        timeout_ms: { type: 'integer', description: `Per-call timeout in milliseconds (default ${BASH_DEFAULT_TIMEOUT_MS}, at most ${BASH_MAX_TIMEOUT_MS})` },
      },
    },
  },
  read: {
    name: 'read',
    description: 'Read a UTF-8 text file. Paths are relative to /workspace, or absolute under /workspace or /mnt.',
    input_schema: {
      type: 'object',
      properties: {
        file_path: { type: 'string', description: 'Path of the file to read' },
        view_range: { type: 'array', items: { type: 'integer' }, description: '[start_line, end_line] 1-indexed inclusive; end_line 0 or negative means to the end' },
      },
      required: ['file_path'],
    },
  },
  write: {
    name: 'write',
    description: 'Write a UTF-8 text file (replacing it), creating parent directories as needed. Paths are relative to /workspace, or absolute under /workspace or /mnt.',
    input_schema: {
      type: 'object',
      properties: { file_path: { type: 'string', description: 'Path of the file to write' }, content: { type: 'string', description: 'Full file contents to write' } },
      required: ['file_path', 'content'],
    },
  },
  edit: {
    name: 'edit',
    description: 'Replace old_string with new_string in a file. old_string must occur exactly once unless replace_all is true.',
    input_schema: {
      type: 'object',
      properties: {
        file_path: { type: 'string', description: 'Path of the file to edit' },
        old_string: { type: 'string', description: 'Text to find' },
        new_string: { type: 'string', description: 'Replacement text' },
        replace_all: { type: 'boolean', description: 'Replace every occurrence instead of requiring a unique match' },
      },
      required: ['file_path', 'old_string', 'new_string'],
    },
  },
  glob: {
    name: 'glob',
    description: 'Find files matching a glob pattern (e.g. **/*.ts) under /workspace or the given directory. Results are sorted newest first.',
    input_schema: patternAndPath('Glob pattern, relative to the search directory', 'Directory to search in. Defaults to /workspace.'),
  },
  grep: {
    name: 'grep',
    description: 'Search file contents for a regular expression (Perl-compatible). Returns matching lines as path:line:text.',
    input_schema: patternAndPath('Regular expression to search for', 'File or directory to search in. Defaults to /workspace.'),
  },
  web_fetch: {
    name: 'web_fetch',
    description: 'Fetch a web page or document over HTTP(S) and return its text content.',
    input_schema: {
      type: 'object',
      properties: { url: { type: 'string', description: 'The http(s) URL to fetch' } },
      required: ['url'],
    },
  },
};

/** The definition the model is shown for a built-in tool. */
export const builtinToolDefinition = (name: BuiltinToolName): ToolDefinition => DEFINITIONS[name];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const policyOf = (p: unknown): ToolPermission | undefined => {
  const type = isObj(p) ? p.type : p;
  if (type === 'always_allow') return 'always_allow';
  if (type === 'always_ask' || type === 'auto') return 'always_ask';
  return undefined;
};

const stringList = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') && v.length > 0 ? (v as string[]) : undefined);

/**
 * The enabled built-in tools of an agent (its `tools` as stored: SDK shape, defaults filled in): for each
 * tool the per-tool config (`configs[]`, matched by `name`) wins over `default_config`, which wins over
 * the SDK's defaults (enabled, `always_allow`). No `agent_toolset_20260401` entry: no built-in tools.
 * Tools of the set Agentry does not run (web_search) are left out.
 */
export const resolveBuiltinToolset = (agentTools: ReadonlyArray<Record<string, unknown>>): ResolvedBuiltinTool[] => {
  const toolset = agentTools.find((t) => t.type === BUILTIN_TOOLSET_TYPE);
  if (!toolset) return [];
  const def = isObj(toolset.default_config) ? toolset.default_config : {};
  const configs = Array.isArray(toolset.configs) ? toolset.configs.filter(isObj) : [];
  const out: ResolvedBuiltinTool[] = [];
  for (const name of BUILTIN_TOOL_NAMES) {
    const c = configs.find((x) => x.name === name) ?? {};
    const enabled = typeof c.enabled === 'boolean' ? c.enabled : typeof def.enabled === 'boolean' ? def.enabled : true;
    if (!enabled) continue;
    const permission = policyOf(c.permission_policy) ?? policyOf(def.permission_policy) ?? 'always_allow';
    const tool: ResolvedBuiltinTool = { name, definition: DEFINITIONS[name], permission };
    if (name === 'web_fetch') {
      const maxTokens = typeof c.max_content_tokens === 'number' && c.max_content_tokens > 0 ? c.max_content_tokens : undefined;
      tool.webFetch = { allowedDomains: stringList(c.allowed_domains), blockedDomains: stringList(c.blocked_domains), maxContentTokens: maxTokens };
    }
    out.push(tool);
  }
  return out;
};

/** The resolved tool of that name, when the agent has it enabled. */
export const builtinTool = (tools: readonly ResolvedBuiltinTool[], name: string): ResolvedBuiltinTool | undefined => tools.find((t) => t.name === name);

/** Known package-registry hosts `allow_package_managers` opens (PyPI, npm, Debian/Ubuntu, crates.io, RubyGems, Go). */
export const PACKAGE_MANAGER_HOSTS = [
  'pypi.org',
  'files.pythonhosted.org',
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'deb.debian.org',
  'security.debian.org',
  'archive.ubuntu.com',
  'security.ubuntu.com',
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  'rubygems.org',
  'index.rubygems.org',
  'proxy.golang.org',
  'sum.golang.org',
];

/**
 * bash's network from an environment's `config` (as stored: `{type:'cloud', networking}`):
 * `unrestricted` (the SDK's default) → unrestricted; `limited` → its `allowed_hosts`, plus the agent's MCP
 * server hosts when `allow_mcp_servers` and the package registries when `allow_package_managers`;
 * a `limited` network that allows nothing → none. A missing or unknown config → none (fail closed).
 */
export const toolNetworkOf = (environmentConfig: unknown, mcpServerUrls: readonly string[] = []): ToolNetwork => {
  const net = isObj(environmentConfig) ? environmentConfig.networking : undefined;
  if (!isObj(net)) return { type: 'none' };
  if (net.type === 'unrestricted') return { type: 'unrestricted' };
  if (net.type !== 'limited') return { type: 'none' };
  const hosts = new Set(Array.isArray(net.allowed_hosts) ? net.allowed_hosts.filter((h): h is string => typeof h === 'string' && h.trim() !== '').map((h) => h.trim()) : []);
  if (net.allow_mcp_servers === true) {
    for (const u of mcpServerUrls) {
      try {
        hosts.add(new URL(u).host);
      } catch {
        // not a URL: nothing to allow
      }
    }
  }
  if (net.allow_package_managers === true) for (const h of PACKAGE_MANAGER_HOSTS) hosts.add(h);
  return hosts.size === 0 ? { type: 'none' } : { type: 'limited', allowedHosts: [...hosts] };
};

/**
 * The metadata key by which an agent keeps its `bash` off the network whatever its environment allows
 * (`none`): an agent.yaml's `permissions.network: false` sets it (docs/run.md). It can only take
 * network away, so any agent may carry it.
 */
export const AGENT_NETWORK_KEY = 'agentry.network';

/**
 * bash's network for an agent (its definition as a session holds it) in an environment: the
 * environment's ({@link toolNetworkOf}, with the agent's MCP server URLs), or none when the agent's
 * metadata says {@link AGENT_NETWORK_KEY} `none`.
 */
export const agentToolNetwork = (environmentConfig: unknown, agent: unknown): ToolNetwork => {
  const a = isObj(agent) ? agent : {};
  if (isObj(a.metadata) && a.metadata[AGENT_NETWORK_KEY] === 'none') return { type: 'none' };
  const urls = (Array.isArray(a.mcp_servers) ? a.mcp_servers : [])
    .filter(isObj)
    .map((m) => m.url)
    .filter((u): u is string => typeof u === 'string');
  return toolNetworkOf(environmentConfig, urls);
};

// ---------------------------------------------------------------------------------------------
// Results

export const textResult = (text: string, isError = false): ToolResult => ({ is_error: isError, content: [{ type: 'text', text }] });
export const errorResult = (text: string): ToolResult => textResult(text, true);

/**
 * `text` cut to `limit` characters, keeping its start and its end, with a line in the middle saying how
 * much was left out (so neither the model nor a reader takes a cut output for the whole).
 */
export const truncateOutput = (text: string, limit = TOOL_OUTPUT_LIMIT, omittedBefore = 0): string => {
  if (text.length <= limit && omittedBefore === 0) return text;
  const half = Math.floor(limit / 2);
  if (text.length <= limit) {
    return `${text.slice(0, half)}\n\n[… output truncated: ${omittedBefore} characters in the middle were left out …]\n\n${text.slice(half)}`;
  }
  const omitted = text.length - 2 * half + omittedBefore;
  return `${text.slice(0, half)}\n\n[… output truncated: ${omitted} characters in the middle were left out (limit ${limit}) …]\n\n${text.slice(text.length - half)}`;
};

// ---------------------------------------------------------------------------------------------
// Input checks (the model's input is untrusted: every field is checked, never assumed)

export type InputCheck<T> = { ok: true; value: T } | { ok: false; message: string };

/** Checks `input` against the tool's schema: an object, required strings present, every field of its type, no unknown fields. */
export const checkToolInput = (name: BuiltinToolName, input: unknown): InputCheck<Obj> => {
  const schema = DEFINITIONS[name].input_schema;
  if (!isObj(input)) return { ok: false, message: `${name}: input must be a JSON object` };
  const props = schema.properties as Record<string, { type: string; items?: { type: string } }>;
  const required = (schema.required as string[] | undefined) ?? [];
  const problems: string[] = [];
  for (const r of required) if (input[r] === undefined || input[r] === null) problems.push(`${r} is required`);
  for (const [key, value] of Object.entries(input)) {
    const p = props[key];
    if (!p) {
      problems.push(`unknown field ${key} (expected: ${Object.keys(props).join(', ')})`);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (p.type === 'string' && typeof value !== 'string') problems.push(`${key} must be a string`);
    if (p.type === 'boolean' && typeof value !== 'boolean') problems.push(`${key} must be true or false`);
    if (p.type === 'integer' && !Number.isInteger(value)) problems.push(`${key} must be an integer`);
    if (p.type === 'array' && (!Array.isArray(value) || value.some((x) => !Number.isInteger(x)))) problems.push(`${key} must be an array of integers`);
  }
  if (problems.length > 0) return { ok: false, message: `${name}: invalid input: ${problems.join('; ')}` };
  return { ok: true, value: input };
};
