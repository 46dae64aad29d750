import type { WorkloadSession } from '../workloads/workload-proxy.js';
import { McpConnectError, mcpResultOutcome, mcpToolOf, type McpConnection, type McpTool } from './mcp-port.js';

/** Longest a session's tool listing may follow `nextCursor` pages. */
const MAX_PAGES = 20;

/**
 * A session's connection to one of Agentry's own MCP workloads, in-process through the workload
 * service (the same gate as the workload proxy: the session's account must be able to read it, and
 * the workload's tool filter and overrides apply), or to a shared workload it holds (`close`
 * releases it).
 */
export const workloadConnection = (session: Pick<WorkloadSession, 'request'>, release?: () => void): McpConnection => ({
  async listTools(signal) {
    const out: McpTool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES && !signal.aborted; page++) {
      const r = await session.request('tools/list', cursor ? { cursor } : {});
      for (const t of Array.isArray(r.tools) ? (r.tools as Array<Record<string, unknown>>) : []) {
        const tool = mcpToolOf(t);
        if (tool) out.push(tool);
      }
      if (typeof r.nextCursor !== 'string' || r.nextCursor === '') break;
      cursor = r.nextCursor;
    }
    return out;
  },
  async callTool(name, input) {
    return mcpResultOutcome(await session.request('tools/call', { name, arguments: input }));
  },
  async close() {
    // The workload keeps running (a shared one until it has been idle a while).
    release?.();
  },
});

/** Opens a workload session, turning "not found" / "not running" into a connection failure. */
export const openWorkloadConnection = async (open: () => Promise<WorkloadSession>, name: string): Promise<McpConnection> => {
  try {
    return workloadConnection(await open());
  } catch (e) {
    throw new McpConnectError('connection', `workload '${name}': ${e instanceof Error ? e.message.slice(0, 300) : 'unavailable'}`);
  }
};
