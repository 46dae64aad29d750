import { loadOnce } from '../../core/load-once.js';

/**
 * The MCP SDK's client side and the schemas it checks messages with, loaded on first use: a
 * registry that launches no workload and connects no session to an MCP server never loads the
 * SDK and zod (about 10 MB of heap that every server process held from start-up on).
 */
const load = async () => {
  const [client, sse, streamable, auth, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/sse.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/client/auth.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return {
    Client: client.Client,
    SSEClientTransport: sse.SSEClientTransport,
    StreamableHTTPClientTransport: streamable.StreamableHTTPClientTransport,
    StreamableHTTPError: streamable.StreamableHTTPError,
    UnauthorizedError: auth.UnauthorizedError,
    JSONRPCMessageSchema: types.JSONRPCMessageSchema,
    ProgressNotificationSchema: types.ProgressNotificationSchema,
    ResultSchema: types.ResultSchema,
  };
};

export type McpClientSdk = Awaited<ReturnType<typeof load>>;

/** The SDK's client classes and schemas (one import, shared by every caller). */
export const mcpClientSdk: () => Promise<McpClientSdk> = loadOnce(load);
