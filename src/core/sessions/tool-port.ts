/**
 * The built-in toolset's seam (bash, read, write, edit, glob, grep, web_fetch): an executor runs a
 * tool_use in the session's workspace and answers a tool result. The runtime calls it for
 * `agent_toolset_20260401` tools; without one, the toolset's tools are not offered to the model.
 */
import type { ModelToolDefinition } from './model-port.js';

export interface ToolUse {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolResult {
  is_error: boolean;
  content: Array<Record<string, unknown>>;
}

export interface SessionWorkspaceRef {
  sessionId: string;
  accountId: number;
  environmentId: string;
  /** The environment's config (networking, packages). */
  environment: Record<string, unknown>;
  /** The agent's `tools` (the toolset entry's per-tool config). */
  agentTools?: Array<Record<string, unknown>>;
  /** The agent's definition as the session holds it: its MCP server URLs (a limited network may allow them) and its metadata's network rule shape bash's network. */
  agent?: Record<string, unknown>;
}

export interface BuiltinToolExecutor {
  /** The definitions to send to the model for the enabled tools of a toolset entry (`agent.tools[i]`). */
  definitions(toolset: Record<string, unknown>): ModelToolDefinition[];
  /** `ask`: the call waits for a user.tool_confirmation (always_ask), `allow`: it runs at once. */
  permission(toolset: Record<string, unknown>, name: string): 'allow' | 'ask';
  execute(workspace: SessionWorkspaceRef, use: ToolUse, signal: AbortSignal): Promise<ToolResult>;
}
