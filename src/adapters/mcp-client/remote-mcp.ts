import { mcpClientSdk, type McpClientSdk } from './sdk.js';
import { McpConnectError, mcpResultOutcome, mcpToolOf, type McpConnection, type McpTool } from '../../core/sessions/mcp-port.js';

/** How long connecting (initialize) may take (OMA: 15 s). */
const CONNECT_TIMEOUT_MS = 15_000;
/** How long one tool call may take. */
const CALL_TIMEOUT_MS = 300_000;
const MAX_PAGES = 20;

const authFailure = ({ UnauthorizedError, StreamableHTTPError }: McpClientSdk, e: unknown): boolean =>
  e instanceof UnauthorizedError || (e instanceof StreamableHTTPError && (e.code === 401 || e.code === 403)) || (e instanceof Error && /\b(401|403)\b/.test(e.message) && /HTTP/i.test(e.message));

/**
 * A session's connection to a remote MCP server over Streamable HTTP, with the official
 * `@modelcontextprotocol/sdk` client; every request through `fetch` (the egress policy's), the
 * credential in `headers` (injected by the server from the session's vaults, never shown).
 */
export const connectRemoteMcp = async (url: string, headers: Record<string, string>, fetch: typeof globalThis.fetch, signal: AbortSignal): Promise<McpConnection> => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new McpConnectError('connection', 'the server URL is not a URL');
  }
  const sdk = await mcpClientSdk();
  const { Client, StreamableHTTPClientTransport } = sdk;
  const transport = new StreamableHTTPClientTransport(u, { fetch, requestInit: { headers } });
  const client = new Client({ name: 'agentry-session', version: '1' }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS, signal });
  } catch (e) {
    await client.close().catch(() => undefined);
    const message = e instanceof Error ? e.message.slice(0, 300) : 'could not connect';
    throw new McpConnectError(authFailure(sdk, e) ? 'authentication' : 'connection', authFailure(sdk, e) ? `the server refused the credential (${message})` : message);
  }
  return {
    async listTools(sig): Promise<McpTool[]> {
      const out: McpTool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await client.listTools(cursor ? { cursor } : {}, { signal: sig, timeout: CONNECT_TIMEOUT_MS });
        for (const t of r.tools) {
          const tool = mcpToolOf(t as unknown as Record<string, unknown>);
          if (tool) out.push(tool);
        }
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
      return out;
    },
    async callTool(name, input, sig) {
      const r = await client.callTool({ name, arguments: input }, undefined, { signal: sig, timeout: CALL_TIMEOUT_MS });
      return mcpResultOutcome(r as Record<string, unknown>);
    },
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
};
