import type { Command } from 'commander';
import { registerMcpClientCommands } from './mcp-client.js';
import { registerMcpWorkloadCommands } from './mcp-workloads.js';

/** `agentry mcp …`: MCP servers an Agentry runs, from a developer's machine. */
export const registerMcpCommand = (program: Command): void => {
  const mcp = program.command('mcp').description('Work with the MCP servers an Agentry runs: run, list, stop them and read their logs; wire them into the MCP clients of this machine');
  registerMcpWorkloadCommands(mcp);
  registerMcpClientCommands(mcp);
};
