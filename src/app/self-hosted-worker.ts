import Anthropic from '@anthropic-ai/sdk';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import type { BetaRunnableTool, BetaToolRunContext } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { EgressPolicy } from '../adapters/egress/index.js';
import { BubblewrapSandbox } from '../adapters/sandbox/bubblewrap.js';
import { LocalToolRuntime } from '../adapters/tools/local-tool-runtime.js';
import { builtinToolDefinition, resolveBuiltinToolset, type SessionToolbox, type ToolNetwork, type ToolRuntimeStatus } from '../core/tools/builtin-toolset.js';

export interface SelfHostedWorkerOptions {
  /** The Agentry server (`--registry`). */
  baseUrl: string;
  environmentId: string;
  /** The environment's key, or its owner's API token. */
  key: string;
  /** Where session workspaces are made: `<workdir>/<session id>`. */
  workdir: string;
  /** The network bash and web_fetch get (default: unrestricted — the operator's own machine). */
  network: ToolNetwork;
  /** Run bash without bubblewrap when it is missing. */
  unsafeLocalTools: boolean;
  bwrapPath?: string;
  /** How long a session that went idle is kept before its work item is released (default 60 s). */
  maxIdleMs?: number;
  signal: AbortSignal;
  log?: (line: string) => void;
}

/**
 * `agentry worker --environment <id>`: the self-hosted environment runner. The SDK's own worker
 * (`client.beta.environments.work.worker`) does the queue side — poll, ack, heartbeat the lease,
 * stream the session, post `user.tool_result`, stop — and the tools it runs are Agentry's built-in
 * toolset on this machine: the same LocalToolRuntime the server uses (bash in bubblewrap, file
 * tools confined to the session's workspace, web_fetch through an egress policy).
 */
export const runSelfHostedWorker = async (o: SelfHostedWorkerOptions): Promise<ToolRuntimeStatus> => {
  const egress = new EgressPolicy({ allow: o.network.type === 'limited' ? o.network.allowedHosts : undefined });
  const runtime = new LocalToolRuntime({
    baseDir: o.workdir,
    sandbox: new BubblewrapSandbox({ egress, bwrapPath: o.bwrapPath }),
    fetch: egress.fetch,
    unsafeLocalTools: o.unsafeLocalTools,
  });
  const status = await runtime.status();
  o.log?.(status.message);
  const client = new Anthropic({ apiKey: o.key, baseURL: o.baseUrl, maxRetries: 2 });
  const worker = client.beta.environments.work.worker({
    environmentId: o.environmentId,
    environmentKey: o.key,
    workdir: o.workdir,
    memorySyncIntervalMs: null,
    ...(o.maxIdleMs !== undefined ? { maxIdleMs: o.maxIdleMs } : {}),
    signal: o.signal,
    tools: (ctx) => {
      const session = ctx.session;
      if (!session) return [];
      const agentTools = ((session.agent as unknown as { tools?: Array<Record<string, unknown>> }).tools ?? []).filter((t) => t.type === 'agent_toolset_20260401');
      const enabled = resolveBuiltinToolset(agentTools);
      let box: Promise<SessionToolbox> | undefined;
      const toolbox = (): Promise<SessionToolbox> => (box ??= runtime.open({ sessionId: session.id, tools: enabled, networking: o.network }));
      o.log?.(`Session ${session.id}: running ${enabled.map((t) => t.name).join(', ') || 'no tools'} in ${o.workdir}/${session.id}/root/workspace`);
      return enabled.map((t, i): BetaRunnableTool => {
        const def = builtinToolDefinition(t.name);
        const tool = {
          name: t.name,
          description: def.description,
          input_schema: def.input_schema,
          parse: (input: unknown) => input,
          run: async (input: unknown, run?: BetaToolRunContext) => {
            const r = await (await toolbox()).execute({ id: run?.toolUse.id ?? '', name: t.name, input: (input ?? {}) as Record<string, unknown> }, { signal: run?.signal ?? undefined });
            const content = r.content as Array<{ type: 'text'; text: string }>;
            if (r.is_error) throw new ToolError(content);
            return content;
          },
          // The runner calls every tool's close once; the first closes the session's shell.
          ...(i === 0 ? { close: async () => (box ? (await box).close() : undefined) } : {}),
        };
        // The toolset's JSON schemas are the SDK's Tool.InputSchema in all but their static type.
        return tool as unknown as BetaRunnableTool;
      });
    },
  });
  await worker.run(o.signal).catch((e: unknown) => {
    if (!o.signal.aborted) throw e;
  });
  return status;
};
