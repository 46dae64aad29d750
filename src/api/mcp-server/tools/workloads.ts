import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Registry } from '../../../core/registry.js';
import type { WorkloadService } from '../../../core/workloads/workload-service.js';
import { notImplemented } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/packages/manifest/fields.js';
import { ListWorkloadsInput, WorkloadInput, WorkloadToolsInput } from '../schemas.js';
import { tool } from '../tool.js';
import { workloadSummary } from '../views.js';

/** The workload service, where this server runs MCP servers. */
const workloadsOf = (registry: Registry) => {
  if (!registry.workloads) throw notImplemented('This server does not run MCP workloads');
  return registry.workloads;
};

export const LIST_WORKLOADS = tool({
  name: 'list_workloads',
  title: 'List running MCP servers',
  description: 'List the MCP servers this Agentry runs as workloads that you may read (running ones unless all is true): name, status, package, group and the URL of their MCP endpoint.',
  input: ListWorkloadsInput,
  annotations: { readOnlyHint: true, openWorldHint: false },
  run: async ({ registry, ctx, origin }, args) => {
    const rows = await workloadsOf(registry).list(ctx, { all: args.all === true, group: args.group });
    return { workloads: rows.map((r) => workloadSummary(r, origin)) };
  },
});

export const LIST_WORKLOAD_TOOLS = tool({
  name: 'list_workload_tools',
  title: "List a running MCP server's tools",
  description: "List the tools of an MCP server this Agentry runs as a workload (as the workload's proxy offers them: its tool filter and overrides applied), one page at a time.",
  input: WorkloadToolsInput,
  annotations: { readOnlyHint: true, openWorldHint: false },
  run: async ({ registry, ctx, signal }, args) => {
    const session = await workloadsOf(registry).session(ctx, args.workload);
    const result = await session.request('tools/list', args.cursor === undefined ? undefined : { cursor: args.cursor }, { signal });
    const tools = Array.isArray(result.tools) ? result.tools.filter(isPlainObject) : [];
    return {
      workload: args.workload,
      server: session.serverInfo,
      tools: tools.map((t) => ({ name: t.name, ...(t.title !== undefined ? { title: t.title } : {}), description: t.description ?? null, input_schema: t.inputSchema ?? null })),
      ...(typeof result.nextCursor === 'string' ? { next_cursor: result.nextCursor } : {}),
    };
  },
});

/** A tool that changes a workload's state through the core (which decides who may), answering its status after. */
const workloadAction = (name: string, title: string, description: string, annotations: ToolAnnotations, act: (workloads: WorkloadService, ctx: RequestContext, workload: string) => Promise<void>) =>
  tool({
    name,
    title,
    description,
    input: WorkloadInput,
    annotations,
    run: async ({ registry, ctx, origin }, args) => {
      const workloads = workloadsOf(registry);
      await act(workloads, ctx, args.workload);
      return { workload: workloadSummary(await workloads.get(ctx, args.workload), origin) };
    },
  });

export const START_WORKLOAD = workloadAction(
  'start_workload',
  'Start an MCP server',
  "Start (or restart) a workload: its owner and administrators may, with a token that publishes. Answers the workload's status after the request.",
  { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  (workloads, ctx, name) => workloads.restart(ctx, name),
);

export const STOP_WORKLOAD = workloadAction(
  'stop_workload',
  'Stop an MCP server',
  "Stop a workload (it is kept, and can be started again): its owner and administrators may, with a token that publishes. Answers the workload's status after the request.",
  { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  (workloads, ctx, name) => workloads.stop(ctx, name),
);
