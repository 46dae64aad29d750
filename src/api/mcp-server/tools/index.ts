import type { McpTool } from '../tool.js';
import { RUN_AGENT } from './agents.js';
import { GET_PACKAGE, SEARCH_PACKAGES } from './packages.js';
import { LIST_WORKLOADS, LIST_WORKLOAD_TOOLS, START_WORKLOAD, STOP_WORKLOAD } from './workloads.js';

/** Every tool of Agentry's MCP endpoint, in the order they are listed. One more tool is one more entry. */
export const TOOLS: readonly McpTool[] = [SEARCH_PACKAGES, GET_PACKAGE, LIST_WORKLOADS, LIST_WORKLOAD_TOOLS, START_WORKLOAD, STOP_WORKLOAD, RUN_AGENT];
