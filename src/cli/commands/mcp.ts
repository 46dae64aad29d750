import type { Command } from 'commander';
import { registerMcpWorkloadCommands } from './mcp-workloads.js';

/** `agentry mcp …`: MCP servers an Agentry runs, from a developer's machine. */
export const registerMcpCommand = (program: Command): void => {
  const mcp = program.command('mcp').description('Work with the MCP servers an Agentry runs');
  registerMcpWorkloadCommands(mcp);
};
