/**
 * The MCP clients Agentry can wire servers into, and how each keeps its servers: which file (below
 * the home directory of the account running the server or the CLI), which format, under which key,
 * and what one server entry looks like. Pure data and rules, no I/O: the server's client service and
 * the CLI both read it, and the file editing itself lives in src/adapters/client-config/.
 * Learnt from ToolHive's client integrations (pkg/client), which these names and files match.
 */

/** Every client name ToolHive's OpenAPI document knows (`client.ClientApp`). */
export const TOOLHIVE_CLIENT_NAMES = [
  'roo-code',
  'cline',
  'cursor',
  'vscode-insider',
  'vscode',
  'claude-code',
  'windsurf',
  'windsurf-jetbrains',
  'amp-cli',
  'lm-studio',
  'goose',
  'trae',
  'continue',
  'opencode',
  'kiro',
  'antigravity',
  'zed',
  'gemini-cli',
  'vscode-server',
  'mistral-vibe',
  'codex',
  'kimi-cli',
  'factory',
  'copilot-cli',
  'qoder',
] as const;

export type ClientFormat = 'json' | 'yaml' | 'toml';
export type ClientPlatform = 'linux' | 'darwin' | 'win32';
/** How an MCP server is reached: Agentry always writes an HTTP endpoint (a stdio server is bridged by the proxy). */
export type McpTransport = 'stdio' | 'sse' | 'streamable-http';

export interface ClientApp {
  id: string;
  description: string;
  /** The settings file's folder below home, and the file name. */
  relPath: string[];
  settingsFile: string;
  /** Folders inserted between home and relPath, per platform (VS Code-family apps keep settings there). */
  platformPrefix?: Partial<Record<ClientPlatform, string[]>>;
  format: ClientFormat;
  /** Where the servers are kept in the document (`['mcpServers']`, `['context_servers']`, …). */
  serversKey: string[];
  /** `map`: servers keyed by name; `array`: a list of objects identified by their `name` field (Continue). */
  storage: 'map' | 'array';
  /** The `type` value for a Streamable HTTP and an SSE endpoint; absent: the client has no type field. */
  typeLabel?: { http: string; sse: string };
  /** The field that holds the URL, for a Streamable HTTP and an SSE endpoint. */
  urlField: { http: string; sse: string };
  /** Extra fields every entry gets (Goose's `enabled`, `timeout`). */
  defaults?: Record<string, unknown>;
  /** The entry repeats its own name (Goose, Continue). */
  nameInEntry?: boolean;
  /** Where the client reads agent skills from, below home; absent: no skills. */
  skillsPath?: string[];
}

const VSCODE_PREFIX: ClientApp['platformPrefix'] = { linux: ['.config'], darwin: ['Library', 'Application Support'], win32: ['AppData', 'Roaming'] };
const HTTP = { http: 'http', sse: 'sse' };
const URL_FIELD = { http: 'url', sse: 'url' };

export const CLIENT_APPS: readonly ClientApp[] = [
  {
    id: 'claude-code',
    description: 'Claude Code CLI',
    relPath: [],
    settingsFile: '.claude.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: URL_FIELD,
    skillsPath: ['.claude', 'skills'],
  },
  {
    id: 'cursor',
    description: 'Cursor editor',
    relPath: ['.cursor'],
    settingsFile: 'mcp.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: URL_FIELD,
    skillsPath: ['.cursor', 'skills'],
  },
  {
    id: 'vscode',
    description: 'Visual Studio Code',
    relPath: ['Code', 'User'],
    platformPrefix: VSCODE_PREFIX,
    settingsFile: 'mcp.json',
    format: 'json',
    serversKey: ['servers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: URL_FIELD,
    skillsPath: ['.copilot', 'skills'],
  },
  {
    id: 'vscode-insider',
    description: 'Visual Studio Code Insiders',
    relPath: ['Code - Insiders', 'User'],
    platformPrefix: VSCODE_PREFIX,
    settingsFile: 'mcp.json',
    format: 'json',
    serversKey: ['servers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: URL_FIELD,
    skillsPath: ['.copilot', 'skills'],
  },
  {
    id: 'cline',
    description: 'VS Code Cline extension',
    relPath: ['Code', 'User', 'globalStorage', 'saoudrizwan.claude-dev', 'settings'],
    platformPrefix: VSCODE_PREFIX,
    settingsFile: 'cline_mcp_settings.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: { http: 'streamableHttp', sse: 'sse' },
    urlField: URL_FIELD,
    skillsPath: ['.cline', 'skills'],
  },
  {
    id: 'roo-code',
    description: 'VS Code Roo Code extension (discontinued; prefer cline)',
    relPath: ['Code', 'User', 'globalStorage', 'rooveterinaryinc.roo-cline', 'settings'],
    platformPrefix: VSCODE_PREFIX,
    settingsFile: 'mcp_settings.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: { http: 'streamable-http', sse: 'sse' },
    urlField: URL_FIELD,
    skillsPath: ['.roo', 'skills'],
  },
  {
    id: 'windsurf',
    description: 'Windsurf IDE',
    relPath: ['.codeium', 'windsurf'],
    settingsFile: 'mcp_config.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: { http: 'serverUrl', sse: 'serverUrl' },
    skillsPath: ['.codeium', 'windsurf', 'skills'],
  },
  {
    id: 'windsurf-jetbrains',
    description: 'Windsurf plugin for JetBrains IDEs',
    relPath: ['.codeium'],
    settingsFile: 'mcp_config.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: { http: 'serverUrl', sse: 'serverUrl' },
  },
  {
    id: 'gemini-cli',
    description: 'Google Gemini CLI',
    relPath: ['.gemini'],
    settingsFile: 'settings.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    urlField: { http: 'httpUrl', sse: 'url' },
    skillsPath: ['.agents', 'skills'],
  },
  {
    id: 'zed',
    description: 'Zed editor',
    relPath: ['zed'],
    platformPrefix: { linux: ['.config'], darwin: ['.config'], win32: ['AppData', 'Roaming'] },
    settingsFile: 'settings.json',
    format: 'json',
    serversKey: ['context_servers'],
    storage: 'map',
    urlField: URL_FIELD,
  },
  {
    id: 'continue',
    description: 'Continue.dev IDE plugins',
    relPath: ['.continue'],
    settingsFile: 'config.yaml',
    format: 'yaml',
    serversKey: ['mcpServers'],
    storage: 'array',
    nameInEntry: true,
    typeLabel: { http: 'streamable-http', sse: 'sse' },
    urlField: URL_FIELD,
  },
  {
    id: 'goose',
    description: 'Goose AI agent',
    relPath: ['goose'],
    platformPrefix: { linux: ['.config'], darwin: ['.config'], win32: ['AppData', 'Block'] },
    settingsFile: 'config.yaml',
    format: 'yaml',
    serversKey: ['extensions'],
    storage: 'map',
    nameInEntry: true,
    typeLabel: { http: 'streamable_http', sse: 'sse' },
    urlField: { http: 'uri', sse: 'uri' },
    defaults: { enabled: true, timeout: 60, description: '' },
    skillsPath: ['.agents', 'skills'],
  },
  {
    id: 'codex',
    description: 'OpenAI Codex CLI',
    relPath: ['.codex'],
    settingsFile: 'config.toml',
    format: 'toml',
    serversKey: ['mcp_servers'],
    storage: 'map',
    urlField: URL_FIELD,
    skillsPath: ['.agents', 'skills'],
  },
  { id: 'kimi-cli', description: 'Kimi Code CLI', relPath: ['.kimi'], settingsFile: 'mcp.json', format: 'json', serversKey: ['mcpServers'], storage: 'map', typeLabel: HTTP, urlField: URL_FIELD },
  {
    id: 'copilot-cli',
    description: 'GitHub Copilot CLI',
    relPath: ['.copilot'],
    settingsFile: 'mcp-config.json',
    format: 'json',
    serversKey: ['mcpServers'],
    storage: 'map',
    typeLabel: HTTP,
    urlField: URL_FIELD,
    skillsPath: ['.copilot', 'skills'],
  },
];

export const clientApp = (id: string): ClientApp | undefined => CLIENT_APPS.find((c) => c.id === id);

/** Why a client name cannot be used, or undefined when Agentry supports it. */
export const clientProblem = (id: string): string | undefined => {
  if (clientApp(id)) return undefined;
  const known = (TOOLHIVE_CLIENT_NAMES as readonly string[]).includes(id);
  const supported = CLIENT_APPS.map((c) => c.id).join(', ');
  return known ? `client '${id}' is not supported by Agentry yet; supported clients: ${supported}` : `unsupported client type '${id.slice(0, 60)}'; supported clients: ${supported}`;
};

/** The settings file's path below home, as segments. */
export const settingsFileOf = (app: ClientApp, platform: ClientPlatform): string[] => [...(app.platformPrefix?.[platform] ?? []), ...app.relPath, app.settingsFile];

/** What discovery looks for below home: the settings folder (or the file itself, when it sits in home). */
export const installMarkerOf = (app: ClientApp, platform: ClientPlatform): string[] =>
  app.relPath.length === 0 && !app.platformPrefix ? [app.settingsFile] : [...(app.platformPrefix?.[platform] ?? []), ...app.relPath];

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Server names become keys in other programs' config files: letters, digits, '.', '_', '-' only. */
export const serverNameProblem = (name: string): string | undefined =>
  SERVER_NAME.test(name) && !name.includes('..') ? undefined : `'${name.slice(0, 100)}' is not a valid MCP server name for a client config (letters, digits, '.', '_', '-'; at most 100)`;

/** The entry a client gets for one MCP server Agentry serves at `url`. */
export const serverEntry = (app: ClientApp, name: string, url: string, transport: McpTransport): Record<string, unknown> => {
  const kind = transport === 'sse' ? 'sse' : 'http';
  return {
    ...(app.nameInEntry ? { name } : {}),
    ...(app.typeLabel ? { type: app.typeLabel[kind] } : {}),
    [app.urlField[kind]]: url,
    ...(app.defaults ?? {}),
  };
};
