import type { FastifyRequest } from 'fastify';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { strictValidator } from '../shared/strict-validator.js';
import { mcpError, toolError } from './errors.js';
import { PROMPTS, getPrompt } from './prompts.js';
import { RESOURCE_TEMPLATES, listResources, readResource } from './resources.js';
import type { McpCall, McpTool } from './tool.js';
import { TOOLS } from './tools/index.js';

/** Each tool with its listing (the schema as plain JSON) and its compiled argument check, made once. */
const REGISTERED = new Map(
  TOOLS.map((t: McpTool) => [
    t.name,
    {
      tool: t,
      listing: { name: t.name, title: t.title, description: t.description, inputSchema: JSON.parse(JSON.stringify(t.input)) as Tool['inputSchema'], annotations: t.annotations } satisfies Tool,
      check: strictValidator(t.input, 'arguments'),
    },
  ]),
);

const INSTRUCTIONS =
  'Agentry is a registry of AI agents, agent skills, MCP servers and recipes. Search it with search_packages, read a package (README, versions, how to install it) with get_package, ' +
  'and its README or SKILL.md as resources (agentry://packages/{scope}/{name}/readme, agentry://skills/{scope}/{name}/SKILL.md). ' +
  'The MCP servers it runs are workloads: list them and their tools, and start or stop those you manage. You see only what your token may read.';

/**
 * Agentry as an MCP server, for one request of one caller: every tool, resource and prompt calls
 * the core as `call.ctx`, so the caller's visibility and rights apply to everything. Translation
 * only: no rule of the registry lives here.
 */
export const agentryMcpServer = (call: Omit<McpCall, 'signal'>, request: FastifyRequest, version: string): Server => {
  const server = new Server({ name: 'agentry', title: 'Agentry', version }, { capabilities: { tools: {}, resources: {}, prompts: {} }, instructions: INSTRUCTIONS });
  /** A refusal of the core as the JSON-RPC error of a resource or prompt request. */
  const refused = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (e) {
      throw mcpError(e, request);
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...REGISTERED.values()].map((r) => r.listing) }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const registered = REGISTERED.get(req.params.name);
    if (!registered) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${req.params.name.slice(0, 100)}`);
    const checked = registered.check(req.params.arguments ?? {});
    if (checked.error) return toolError(checked.error, request);
    try {
      const out = await registered.tool.run({ ...call, signal: extra.signal }, checked.value as never);
      return { content: [{ type: 'text', text: JSON.stringify(out, null, 2) }], structuredContent: out };
    } catch (e) {
      return toolError(e, request);
    }
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: RESOURCE_TEMPLATES }));
  server.setRequestHandler(ListResourcesRequestSchema, (req) => refused(() => listResources(call, req.params?.cursor)));
  server.setRequestHandler(ReadResourceRequestSchema, (req) => refused(() => readResource(call, req.params.uri)));

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, (req, extra) => refused(() => getPrompt({ ...call, signal: extra.signal }, req.params.name, req.params.arguments)));
  return server;
};
