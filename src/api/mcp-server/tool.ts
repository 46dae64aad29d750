import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { Static, TObject } from 'typebox';
import type { RequestContext } from '../../core/auth/principal.js';
import type { Registry } from '../../core/registry.js';

/** What every tool of Agentry's MCP endpoint is given: the core, the caller, and where this server is reached. */
export interface McpCall {
  registry: Registry;
  ctx: RequestContext;
  /** This server's public base URL (for install snippets and links). */
  origin: string;
  signal: AbortSignal;
}

/**
 * One tool: its name, what a model reads about it, its arguments as a TypeBox schema (checked
 * strictly before `run`, and listed as the tool's `inputSchema`), and the core call it makes. Adding
 * a tool is adding one of these to TOOLS (tools.ts).
 */
export interface McpTool<S extends TObject = TObject> {
  name: string;
  title: string;
  description: string;
  input: S;
  annotations: ToolAnnotations;
  /** The tool's answer as plain JSON (sent as structured content and as its text). */
  run(call: McpCall, args: Static<S>): Promise<Record<string, unknown>>;
}

/** Declares a tool with its argument type inferred from its schema. */
export const tool = <S extends TObject>(t: McpTool<S>): McpTool => t as unknown as McpTool;
