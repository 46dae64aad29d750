/**
 * MCP servers declared on an agent (`mcp_servers` + `mcp_toolset` tools), as the session loop
 * needs them: a connection that lists and calls tools. Remote servers (Streamable HTTP URLs) are
 * reached by an adapter through the egress policy; Agentry's own MCP workloads in-process.
 */

export interface McpTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

/** The `agent.mcp_tool_result` fields. */
export interface McpToolOutcome {
  is_error: boolean;
  content: Array<Record<string, unknown>>;
}

export interface McpConnection {
  listTools(signal: AbortSignal): Promise<McpTool[]>;
  callTool(name: string, input: Record<string, unknown>, signal: AbortSignal): Promise<McpToolOutcome>;
  close(): Promise<void>;
}

/** Why a server could not be reached: `authentication` for a 401/403 (a vault credential is missing or wrong). */
export class McpConnectError extends Error {
  override readonly name = 'McpConnectError';
  constructor(
    readonly kind: 'connection' | 'authentication',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where one declared server is: a URL (headers carry the injected credential), a workload of this
 * server, or a server of an agent.yaml package, run for the session's account with the secrets of
 * its vaults.
 */
export type McpTarget =
  | { kind: 'url'; url: string; headers: Record<string, string> }
  | { kind: 'workload'; accountId: number; workload: string }
  | { kind: 'package'; accountId: number; vaultIds: string[]; package: string; version: string; server: string };

/** Opens connections; rejects with McpConnectError. */
export interface McpConnector {
  connect(target: McpTarget, signal: AbortSignal): Promise<McpConnection>;
}

const MAX_RESULT_TEXT = 100_000;

/**
 * An MCP `tools/call` result as `agent.mcp_tool_result` content: text stays text, images become
 * base64 image blocks, embedded resources their text, anything else (audio, resource links,
 * structured content alone) a text rendering; the whole is cut at 100,000 characters.
 */
export const mcpResultOutcome = (result: Record<string, unknown>): McpToolOutcome => {
  const blocks = Array.isArray(result.content) ? (result.content as Array<Record<string, unknown>>) : [];
  const content: Array<Record<string, unknown>> = [];
  let size = 0;
  const text = (t: string): void => {
    if (size >= MAX_RESULT_TEXT) return;
    const cut = t.length + size > MAX_RESULT_TEXT ? `${t.slice(0, MAX_RESULT_TEXT - size)}\n[output cut at ${MAX_RESULT_TEXT} characters]` : t;
    size += cut.length;
    content.push({ type: 'text', text: cut });
  };
  for (const b of blocks) {
    if (b.type === 'text' && typeof b.text === 'string') text(b.text);
    else if (b.type === 'image' && typeof b.data === 'string' && typeof b.mimeType === 'string') content.push({ type: 'image', source: { type: 'base64', media_type: b.mimeType, data: b.data } });
    else if (b.type === 'resource' && typeof b.resource === 'object' && b.resource !== null) {
      const r = b.resource as Record<string, unknown>;
      text(typeof r.text === 'string' ? r.text : `[resource ${String(r.uri)} (${String(r.mimeType ?? 'binary')})]`);
    } else if (b.type === 'resource_link') text(`[resource link ${String(b.uri)}${typeof b.name === 'string' ? ` (${b.name})` : ''}]`);
    else text(JSON.stringify(b));
  }
  if (content.length === 0 && result.structuredContent !== undefined) text(JSON.stringify(result.structuredContent));
  return { is_error: result.isError === true, content };
};

/** An MCP tool from `tools/list` in the shape the model is shown (a missing schema becomes an empty object schema). */
export const mcpToolOf = (t: Record<string, unknown>): McpTool | undefined => {
  if (typeof t.name !== 'string' || t.name === '') return undefined;
  const schema = typeof t.inputSchema === 'object' && t.inputSchema !== null ? (t.inputSchema as Record<string, unknown>) : { type: 'object', properties: {} };
  return { name: t.name, description: typeof t.description === 'string' ? t.description : '', input_schema: schema };
};
