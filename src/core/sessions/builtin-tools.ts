import { agentToolNetwork, builtinTool, resolveBuiltinToolset, type SessionToolbox, type ToolRuntime } from '../tools/builtin-toolset.js';
import type { ModelToolDefinition } from './model-port.js';
import type { BuiltinToolExecutor, SessionWorkspaceRef, ToolResult, ToolUse } from './tool-port.js';
import type { SessionMountSet, SessionMounts } from './session-mounts.js';

/** A toolbox nobody used for this long has its shell (and sandbox) closed; the workspace folder stays. */
const IDLE_CLOSE_MS = 120_000;

/**
 * The session loop's tool port on the built-in toolset (core/tools): one toolbox per session,
 * opened on its first built-in call with the agent's resolved tools and the network its
 * environment allows, closed after two idle minutes (the next call opens it again on the same
 * workspace).
 */
export class ToolsetExecutor implements BuiltinToolExecutor {
  private readonly boxes = new Map<string, { box: Promise<SessionToolbox>; memory: SessionMountSet['memory']; rev: number; timer?: NodeJS.Timeout }>();

  /** `mounts`: the session's skills, files and memory stores, written into the workspace when its toolbox opens. */
  constructor(
    private readonly runtime: ToolRuntime,
    private readonly mounts?: SessionMounts,
  ) {}

  definitions(toolset: Record<string, unknown>): ModelToolDefinition[] {
    return resolveBuiltinToolset([toolset]).map((t) => ({ name: t.definition.name, description: t.definition.description, input_schema: t.definition.input_schema as Record<string, unknown> }));
  }

  permission(toolset: Record<string, unknown>, name: string): 'allow' | 'ask' {
    return builtinTool(resolveBuiltinToolset([toolset]), name)?.permission === 'always_ask' ? 'ask' : 'allow';
  }

  async execute(ws: SessionWorkspaceRef, use: ToolUse, signal: AbortSignal): Promise<ToolResult> {
    let entry = this.boxes.get(ws.sessionId);
    // The session's resources changed since the toolbox opened (added or removed while idle): re-open it with the new mounts.
    const rev = this.mounts ? await this.mounts.revision(ws.sessionId) : 0;
    if (entry && entry.rev !== rev) {
      const stale = entry;
      this.boxes.delete(ws.sessionId);
      if (stale.timer) clearTimeout(stale.timer);
      await stale.box.then((b) => b.close()).catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      const tools = resolveBuiltinToolset(ws.agentTools ?? []);
      const created: { box: Promise<SessionToolbox>; memory: SessionMountSet['memory']; rev: number } = { box: Promise.resolve(undefined as never), memory: [], rev };
      created.box = (async () => {
        const set = this.mounts ? await this.mounts.mountsFor(ws.sessionId) : { mounts: [], memory: [] };
        created.memory = set.memory;
        return this.runtime.open({ sessionId: ws.sessionId, tools, networking: agentToolNetwork(ws.environment, ws.agent), mounts: set.mounts });
      })();
      entry = created;
      this.boxes.set(ws.sessionId, entry);
      entry.box.catch(() => this.boxes.delete(ws.sessionId));
    }
    if (entry.timer) clearTimeout(entry.timer);
    const box = await entry.box;
    try {
      const result = await box.execute({ id: use.id, name: use.name, input: use.input }, { signal });
      // What the agent wrote in a read-write memory store goes back to the store.
      if (this.mounts && entry.memory.length > 0 && use.name !== 'read' && use.name !== 'glob' && use.name !== 'grep' && use.name !== 'web_fetch') {
        try {
          await this.mounts.writeBack(ws.sessionId, box, entry.memory);
        } catch (e) {
          return { ...result, content: [...result.content, { type: 'text', text: `(The memory store was not updated: ${e instanceof Error ? e.message.slice(0, 300) : 'unknown error'})` }] };
        }
      }
      return result;
    } finally {
      const current = entry;
      current.timer = setTimeout(() => {
        if (this.boxes.get(ws.sessionId) === current) this.boxes.delete(ws.sessionId);
        void box.close().catch(() => undefined);
      }, IDLE_CLOSE_MS);
      current.timer.unref?.();
    }
  }

  /** Closes every open toolbox (the worker stops). */
  async close(): Promise<void> {
    const all = [...this.boxes.values()];
    this.boxes.clear();
    for (const e of all) if (e.timer) clearTimeout(e.timer);
    await Promise.all(all.map((e) => e.box.then((b) => b.close()).catch(() => undefined)));
  }
}
