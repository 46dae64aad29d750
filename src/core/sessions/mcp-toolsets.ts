import type { ModelToolDefinition } from './model-port.js';
import { McpConnectError, type McpConnection, type McpConnector, type McpTarget, type McpToolOutcome } from './mcp-port.js';

type Ev = Record<string, unknown>;

/** A connection nobody used for this long is closed (the next call opens a new one). */
const IDLE_CLOSE_MS = 120_000;

/** One MCP tool as offered to the model: which server and tool it is, and whether a call waits for a confirmation. */
export interface OfferedMcpTool {
  server: string;
  tool: string;
  permission: 'allow' | 'ask';
}

/** A server that could not be reached: the turn stops with this error (`mcp_connection_failed_error` / `mcp_authentication_failed_error`). */
export interface McpServerFailure {
  server: string;
  type: 'mcp_connection_failed_error' | 'mcp_authentication_failed_error';
  message: string;
}

export interface McpSessionRef {
  sessionId: string;
  accountId: number;
  agent: Ev;
  vaultIds: string[];
}

export interface McpToolsetsDeps {
  connector: McpConnector;
  /** Headers carrying the credential of a session's vaults for a server URL (`Authorization: Bearer …`), or none. */
  credentialHeaders(accountId: number, vaultIds: string[], url: string): Promise<Record<string, string>>;
  /**
   * Refreshes the session's `mcp_oauth` credential for a server URL: when it has expired, or always
   * with `force` (the server answered 401). True when new tokens were stored.
   */
  refreshCredential?(accountId: number, vaultIds: string[], url: string, force: boolean): Promise<boolean>;
}

/** A 401/403 from the server, at connect or on a call. */
const authFailure = (e: unknown): boolean => (e instanceof McpConnectError && e.kind === 'authentication') || (e instanceof Error && /\b401\b/.test(e.message));

/**
 * The model-facing name of an MCP tool: `mcp__<server>__<tool>` (as OMA names them), with characters
 * providers refuse in tool names replaced by `_`, at most 128 characters.
 */
export const mcpToolName = (server: string, tool: string): string => `mcp__${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);

const policyOf = (c: unknown): 'allow' | 'ask' | undefined => {
  const t = (c as Ev | undefined)?.permission_policy;
  const type = typeof t === 'object' && t !== null ? (t as Ev).type : undefined;
  if (type === 'always_allow') return 'allow';
  if (type === 'always_ask' || type === 'auto') return 'ask';
  return undefined;
};

/**
 * The MCP toolsets of running sessions: one connection per session and server, opened on first use
 * with the credential of the session's vaults (the model, the events and the workspace never see
 * it), tools listed once per connection, closed after two idle minutes.
 */
export class McpToolsets {
  private readonly conns = new Map<
    string,
    { conn: Promise<McpConnection>; tools?: Promise<Array<{ name: string; description: string; input_schema: Record<string, unknown> }>>; timer?: NodeJS.Timeout }
  >();

  constructor(private readonly deps: McpToolsetsDeps) {}

  /** The tools of every `mcp_toolset` entry of the agent, as the model sees them; a server that cannot be reached is a failure. */
  async resolve(ref: McpSessionRef, signal: AbortSignal): Promise<{ defs: ModelToolDefinition[]; offered: Map<string, OfferedMcpTool>; failure?: McpServerFailure }> {
    const defs: ModelToolDefinition[] = [];
    const offered = new Map<string, OfferedMcpTool>();
    const tools = Array.isArray(ref.agent.tools) ? (ref.agent.tools as Ev[]) : [];
    for (const t of tools) {
      if (t.type !== 'mcp_toolset') continue;
      const server = String(t.mcp_server_name);
      const configs = Array.isArray(t.configs) ? (t.configs as Ev[]) : [];
      const def = (t.default_config as Ev | undefined) ?? {};
      let listed;
      try {
        listed = await this.tools(ref, server, signal);
      } catch (e) {
        if (signal.aborted) throw e;
        const auth = e instanceof McpConnectError && e.kind === 'authentication';
        return {
          defs,
          offered,
          failure: {
            server,
            type: auth ? 'mcp_authentication_failed_error' : 'mcp_connection_failed_error',
            message: `MCP server '${server}': ${e instanceof Error ? e.message.slice(0, 500) : 'could not connect'}`,
          },
        };
      }
      for (const tool of listed) {
        const config = configs.find((c) => c.name === tool.name);
        const enabled = (config?.enabled as boolean | undefined) ?? (def.enabled as boolean | undefined) ?? true;
        if (!enabled) continue;
        const name = mcpToolName(server, tool.name);
        if (offered.has(name)) continue;
        offered.set(name, { server, tool: tool.name, permission: policyOf(config) ?? policyOf(def) ?? 'allow' });
        defs.push({ name, description: tool.description, input_schema: tool.input_schema });
      }
    }
    return { defs, offered };
  }

  /** Calls one tool; failures of the server come back as an error result for the model. */
  async call(ref: McpSessionRef, server: string, tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<McpToolOutcome> {
    let conn: McpConnection;
    try {
      conn = await this.connection(ref, server, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      return { is_error: true, content: [{ type: 'text', text: `MCP server '${server}' could not be reached: ${e instanceof Error ? e.message.slice(0, 500) : 'unknown error'}` }] };
    }
    try {
      return await conn.callTool(tool, input, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      let failure: unknown = e;
      // The access token ran out mid-session: refresh it and try the call once more on a new connection.
      if (authFailure(e) && (await this.refreshed(ref, server, true))) {
        this.drop(ref.sessionId, server);
        try {
          return await (await this.connection(ref, server, signal)).callTool(tool, input, signal);
        } catch (again) {
          if (signal.aborted) throw again;
          failure = again;
        }
      }
      // A broken connection is opened again on the next call.
      this.drop(ref.sessionId, server);
      return { is_error: true, content: [{ type: 'text', text: `The MCP tool call failed: ${failure instanceof Error ? failure.message.slice(0, 500) : 'unknown error'}` }] };
    }
  }

  /** Closes a session's connections (it ended): its holds on shared workloads are released at once. */
  closeSession(sessionId: string): void {
    const prefix = this.key(sessionId, '');
    for (const k of [...this.conns.keys()]) if (k.startsWith(prefix)) this.drop(sessionId, k.slice(prefix.length));
  }

  /** Closes every connection (the worker stops). */
  async close(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    for (const c of all) if (c.timer) clearTimeout(c.timer);
    await Promise.all(all.map((c) => c.conn.then((x) => x.close()).catch(() => undefined)));
  }

  private target(ref: McpSessionRef, server: string): Promise<McpTarget> | McpTarget {
    const servers = Array.isArray(ref.agent.mcp_servers) ? (ref.agent.mcp_servers as Ev[]) : [];
    const s = servers.find((x) => x.name === server);
    if (!s) throw new McpConnectError('connection', `the agent declares no MCP server named '${server}' in mcp_servers`);
    if (s.type === 'workload') return { kind: 'workload', accountId: ref.accountId, workload: String(s.workload) };
    if (s.type === 'package') return { kind: 'package', accountId: ref.accountId, vaultIds: ref.vaultIds, package: String(s.package), version: String(s.version), server };
    const url = String(s.url);
    return (async () => {
      // An expired mcp_oauth access token is refreshed before it is sent.
      if (this.deps.refreshCredential) {
        await this.deps.refreshCredential(ref.accountId, ref.vaultIds, url, false).catch((e: unknown) => {
          throw new McpConnectError('authentication', `the vault's mcp_oauth credential could not be refreshed: ${e instanceof Error ? e.message.slice(0, 300) : 'unknown error'}`);
        });
      }
      return { kind: 'url' as const, url, headers: await this.deps.credentialHeaders(ref.accountId, ref.vaultIds, url) };
    })();
  }

  /** Refreshes the credential of a URL server (force: after a 401); false for a workload, no credential to refresh, or a failed refresh. */
  private async refreshed(ref: McpSessionRef, server: string, force: boolean): Promise<boolean> {
    const servers = Array.isArray(ref.agent.mcp_servers) ? (ref.agent.mcp_servers as Ev[]) : [];
    const s = servers.find((x) => x.name === server);
    if (!s || s.type === 'workload' || s.type === 'package' || !this.deps.refreshCredential) return false;
    return this.deps.refreshCredential(ref.accountId, ref.vaultIds, String(s.url), force).catch(() => false);
  }

  private key(sessionId: string, server: string): string {
    return `${sessionId}\u0000${server}`;
  }

  private drop(sessionId: string, server: string): void {
    const k = this.key(sessionId, server);
    const entry = this.conns.get(k);
    if (!entry) return;
    this.conns.delete(k);
    if (entry.timer) clearTimeout(entry.timer);
    void entry.conn.then((c) => c.close()).catch(() => undefined);
  }

  private entry(ref: McpSessionRef, server: string, signal: AbortSignal) {
    const k = this.key(ref.sessionId, server);
    let entry = this.conns.get(k);
    if (!entry) {
      const conn = (async () => {
        try {
          return await this.deps.connector.connect(await this.target(ref, server), signal);
        } catch (e) {
          // Refused with the stored token: refresh it once and connect again.
          if (signal.aborted || !(e instanceof McpConnectError && e.kind === 'authentication') || !(await this.refreshed(ref, server, true))) throw e;
          return this.deps.connector.connect(await this.target(ref, server), signal);
        }
      })();
      entry = { conn };
      this.conns.set(k, entry);
      const mine = entry;
      conn.catch(() => {
        if (this.conns.get(k) === mine) this.conns.delete(k);
      });
    }
    if (entry.timer) clearTimeout(entry.timer);
    const current = entry;
    current.timer = setTimeout(() => {
      if (this.conns.get(k) === current) this.drop(ref.sessionId, server);
    }, IDLE_CLOSE_MS);
    current.timer.unref?.();
    return entry;
  }

  private connection(ref: McpSessionRef, server: string, signal: AbortSignal): Promise<McpConnection> {
    return this.entry(ref, server, signal).conn;
  }

  private tools(ref: McpSessionRef, server: string, signal: AbortSignal) {
    const entry = this.entry(ref, server, signal);
    if (!entry.tools) {
      entry.tools = entry.conn.then((c) => c.listTools(signal));
      entry.tools.catch(() => this.drop(ref.sessionId, server));
    }
    return entry.tools;
  }
}
