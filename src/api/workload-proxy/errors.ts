import { jsonRpcErrorHandler } from '../shared/jsonrpc-errors.js';

/**
 * The workload proxy's error shape: a JSON-RPC error with a null id (what MCP clients read), with the
 * HTTP status of the refusal (shared with Agentry's own MCP endpoint).
 */
export const workloadProxyErrorHandler = jsonRpcErrorHandler;
