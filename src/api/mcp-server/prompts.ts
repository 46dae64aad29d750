import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { Type } from 'typebox';
import { strictValidator } from '../shared/strict-validator.js';
import { RESOURCE_NOT_FOUND } from './errors.js';
import type { McpCall } from './tool.js';
import { searchPackages } from './tools/packages.js';

/** The prompts of Agentry's MCP endpoint. */

export const PICK_MCP_SERVER: Prompt = {
  name: 'pick_mcp_server',
  title: 'Pick an MCP server for a task',
  description: 'Asks the model to choose, among the MCP servers of this registry that match the task, the one to use, with the search results embedded',
  arguments: [{ name: 'task', description: 'What the MCP server is needed for, in a sentence or a few words', required: true }],
};

export const PROMPTS: Prompt[] = [PICK_MCP_SERVER];

const PickArgs = Type.Object({ task: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
const checkPickArgs = strictValidator(PickArgs, 'arguments');

/** How many servers the prompt shows. */
const SHOWN = 10;

export const getPrompt = async (call: McpCall, name: string, args: Record<string, string> | undefined): Promise<GetPromptResult> => {
  if (name !== PICK_MCP_SERVER.name) throw new McpError(RESOURCE_NOT_FOUND, `Prompt not found: ${name.slice(0, 100)}`);
  const checked = checkPickArgs(args ?? {});
  if (checked.error) throw new McpError(ErrorCode.InvalidParams, `${checked.error.message}: ${checked.error.details.join('; ')}`);
  const task = (checked.value as { task: string }).task.trim();
  if (task === '') throw new McpError(ErrorCode.InvalidParams, 'Validation failed: arguments.task: is empty');
  // The task's words as the search (a keyword search matches every word); none matching: the most used servers.
  let found = await searchPackages(call, { query: task.slice(0, 200), kind: 'mcp-server', limit: SHOWN });
  const matched = found.packages.length > 0;
  if (!matched) found = await searchPackages(call, { kind: 'mcp-server', sort: 'downloads', limit: SHOWN });
  const lines = found.packages.map(
    (p, i) => `${i + 1}. ${p.name}${p.latest_version ? ` (${p.latest_version})` : ''}: ${p.description ?? 'no description'}${p.tags.length > 0 ? ` [tags: ${p.tags.join(', ')}]` : ''}`,
  );
  const intro = matched
    ? `These MCP servers of the Agentry registry at ${call.origin} matched a search for the task (${found.total} in all):`
    : found.packages.length > 0
      ? `No MCP server of the Agentry registry at ${call.origin} matched a search for the task's words; these are its most downloaded MCP servers:`
      : `The Agentry registry at ${call.origin} has no MCP server you may read.`;
  const text = [
    `I need an MCP server for this task:`,
    '',
    task,
    '',
    intro,
    ...(lines.length > 0 ? ['', ...lines] : []),
    '',
    'Pick the MCP server that fits the task best and say why, in a few sentences. If none fits, say so and suggest other search words ' +
      "(the search_packages tool, with kind 'mcp-server'). Read a candidate's README and how to install it with the get_package tool.",
  ].join('\n');
  return { description: `MCP servers for: ${task.slice(0, 100)}`, messages: [{ role: 'user', content: { type: 'text', text } }] };
};
