import type { Storage, StorageRepos } from '../storage.js';
import { accrueUsage } from './budget.js';
import type { conversationOf } from './conversation.js';
import { newEventId } from './events.js';
import type { McpToolsets, OfferedMcpTool } from './mcp-toolsets.js';
import type { ModelClientFactory, ModelEndpoint, ModelToolDefinition, ModelUsage } from './model-port.js';
import { retryDecision, stoppableModelCall, waitUnlessAborted } from './model-retry.js';
import type { SessionLog } from './session-log.js';
import type { SessionEventRecord, SessionRecord } from './session-store.js';
import type { ThreadDelegation } from './threads/thread-runner.js';
import type { BuiltinToolExecutor } from './tool-port.js';

/**
 * One model request of a turn: the tools the model is offered, the request streamed to the
 * session's listeners as previews, an interrupt that stops it, retries of transient failures, and
 * the answer (text, tool uses, usage) appended as events. The session runtime calls it per step.
 */

type Ev = Record<string, unknown>;

/** Why the runtime stopped working on a session (shutdown, a lost lease, an abort, an interrupt). */
export class Stop extends Error {}

export const ZERO_USAGE: ModelUsage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

const ERROR_TYPE: Record<string, string> = {
  rate_limited: 'model_rate_limited_error',
  overloaded: 'model_overloaded_error',
  failed: 'model_request_failed_error',
  unreachable: 'model_request_failed_error',
  refused: 'model_request_failed_error',
};

const isBuiltinToolset = (t: Ev): boolean => t.type === 'agent_toolset_20260401';

/** What a model request needs of the runtime's deps. */
export interface ModelRequestDeps {
  storage: Pick<Storage, 'sessions'>;
  log: SessionLog;
  endpointFor(accountId: number, modelId: string): Promise<ModelEndpoint | undefined>;
  models: ModelClientFactory;
  tools?: BuiltinToolExecutor;
  mcp?: McpToolsets;
  threads?: ThreadDelegation;
}

export interface ModelRequestOptions {
  maxRetries: number;
  retryBaseMs: number;
  maxTokens: number;
}

export type ModelRequestOutcome = 'ok' | 'failed' | 'terminal' | 'interrupted' | 'aborted';

interface OfferedTools {
  defs: ModelToolDefinition[];
  custom: Set<string>;
  builtin: Map<string, Ev>;
  mcp: Map<string, OfferedMcpTool>;
  delegates: Set<string>;
  failure?: { server: string; type: string; message: string };
}

/** What the MCP toolsets are told of a session. */
export const mcpRefOf = (s: SessionRecord) => {
  return { sessionId: s.id, accountId: s.accountId, agent: s.data.agent as Ev, vaultIds: (s.data.vault_ids as string[] | undefined) ?? [] };
};

/** The tools a session's model is offered: its custom tools, the built-in toolset, threads' delegates and its MCP servers' tools. */
const offeredTools = async (deps: ModelRequestDeps, s: SessionRecord, signal: AbortSignal): Promise<OfferedTools> => {
  const agent = s.data.agent as Ev;
  const tools = Array.isArray(agent.tools) ? (agent.tools as Ev[]) : [];
  const defs: ModelToolDefinition[] = [];
  const custom = new Set<string>();
  const builtin = new Map<string, Ev>();
  for (const t of tools) {
    if (t.type === 'custom') {
      custom.add(t.name as string);
      defs.push({ name: t.name as string, description: (t.description as string) ?? '', input_schema: t.input_schema as Record<string, unknown> });
    } else if (isBuiltinToolset(t) && deps.tools) {
      for (const d of deps.tools.definitions(t)) {
        builtin.set(d.name, t);
        defs.push(d);
      }
    }
  }
  const delegates = new Set<string>();
  for (const d of (await deps.threads?.tools(s)) ?? []) {
    if (custom.has(d.name) || builtin.has(d.name)) continue;
    delegates.add(d.name);
    defs.push(d);
  }
  let mcp = new Map<string, OfferedMcpTool>();
  if (deps.mcp && tools.some((t) => t.type === 'mcp_toolset')) {
    const r = await deps.mcp.resolve(mcpRefOf(s), signal);
    if (r.failure) return { defs, custom, builtin, mcp, delegates, failure: r.failure };
    mcp = r.offered;
    for (const d of r.defs) if (!custom.has(d.name) && !builtin.has(d.name) && !delegates.has(d.name)) defs.push(d);
  }
  return { defs, custom, builtin, mcp, delegates };
};

/** One model request, retried on transient errors; its events are appended as it goes. */
export const requestModel = async (
  deps: ModelRequestDeps,
  o: ModelRequestOptions,
  s: SessionRecord,
  seenSeq: number,
  conversation: ReturnType<typeof conversationOf>,
  signal: AbortSignal,
  processed: SessionEventRecord[] = [],
): Promise<ModelRequestOutcome> => {
  const log = deps.log;
  // The user events this request answers are marked processed in the same transaction as its start (or its failure).
  let unmarked = processed;
  const mark = async (tx: StorageRepos): Promise<void> => {
    const rows = unmarked;
    unmarked = [];
    for (const r of rows) await tx.sessions.updateEvent(s.id, r.seq, r.event);
  };
  const agent = s.data.agent as Ev;
  const modelId = ((agent.model as Ev | undefined)?.id as string) ?? '';
  // The card and the tools are looked up at once (both only read).
  const tooling = offeredTools(deps, s, signal).then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const endpoint = await deps.endpointFor(s.accountId, modelId).catch(async (e: unknown) => {
    await tooling;
    throw e;
  });
  if (!endpoint) {
    await tooling;
    await log.append(s.id, async (_s, tx) => {
      await mark(tx);
      return {
        events: [
          log.stamp(
            'session.error',
            {
              error: {
                type: 'model_request_failed_error',
                message: `No model card with model_id '${modelId}': create one (POST /v1/model_cards) and send the message again`,
                retry_status: { type: 'exhausted' },
              },
            },
            newEventId(),
          ),
        ],
      };
    });
    return 'failed';
  }
  const client = deps.models(endpoint);
  const t = await tooling;
  if (!t.ok) {
    if (signal.aborted) return 'aborted';
    throw t.e;
  }
  const resolved = t.r;
  const { defs, custom, builtin, mcp, delegates, failure: mcpFailure } = resolved;
  if (mcpFailure) {
    // The agent cannot work without a server it declares: the turn ends (the session stays usable once it is fixed).
    await log.append(s.id, async (_s, tx) => {
      await mark(tx);
      return {
        events: [log.stamp('session.error', { error: { type: mcpFailure.type, mcp_server_name: mcpFailure.server, message: mcpFailure.message, retry_status: { type: 'exhausted' } } }, newEventId())],
      };
    });
    return 'failed';
  }
  for (let attempt = 0; ; attempt++) {
    const { records } = await log.append(s.id, async (_s, tx) => {
      await mark(tx);
      return { events: [log.stamp('span.model_request_start', {}, newEventId())] };
    });
    const start = records[0];
    const messageId = newEventId();
    let started = false;
    const thinkingId = newEventId();
    let thought = false;
    // An interrupt sent while the model answers (or before) stops the request.
    const interrupted = async () =>
      (await deps.storage.sessions.listEvents(s.id, { order: 'asc', afterSeq: seenSeq, types: ['user.interrupt'], limit: 10 })).some((r) => r.event.processed_at === null);
    const text: string[] = [];
    // A preview frame of this turn: streamed to listeners, never stored.
    const preview = (event: Record<string, unknown>) => log.bus.publish({ kind: 'preview', sessionId: s.id, afterSeq: start.seq, event });
    const delta = (eventId: string, previewOf: string, text: string, index?: number) =>
      preview({ type: 'event_delta', event_id: eventId, preview_of: previewOf, delta: { type: 'content_delta', ...(index === undefined ? {} : { index }), content: { type: 'text', text } } });
    const outcome = await stoppableModelCall(log.bus, s.id, signal, interrupted, new Stop('interrupt'), (stop) =>
      client.stream(
        { model: endpoint.model, system: (agent.system as string | null) ?? null, messages: conversation, tools: defs, maxTokens: o.maxTokens },
        {
          onText: (chunk, index) => {
            text[index] = (text[index] ?? '') + chunk;
            if (!started) {
              started = true;
              preview({ type: 'event_start', event: { id: messageId, type: 'agent.message' } });
            }
            delta(messageId, 'agent.message', chunk, index);
            preview({ type: 'agent.message_chunk', message_id: messageId, delta: chunk });
          },
          onThinking: (chunk) => {
            if (!thought) {
              thought = true;
              preview({ type: 'event_start', event: { id: thinkingId, type: 'agent.thinking' } });
            }
            delta(thinkingId, 'agent.thinking', chunk);
          },
        },
        stop,
      ),
    );
    if ('stopped' in outcome) {
      const reason = outcome.stopped;
      if (!(reason instanceof Stop && reason.message === 'interrupt')) return 'aborted';
      // The interrupted answer is kept as far as it got.
      const partial = text.filter((t) => t).map((t) => ({ type: 'text', text: t }));
      await log.append(s.id, () => ({
        events: [
          ...(partial.length > 0 ? [log.stamp('agent.message', { content: partial }, messageId)] : []),
          log.stamp('span.model_request_end', { model_request_start_id: start.id, is_error: true, model_usage: ZERO_USAGE }, newEventId()),
        ],
      }));
      return 'interrupted';
    }
    if ('failure' in outcome) {
      const f = outcome.failure;
      // Retried, or the turn ends; `terminal` (a request the provider refuses as malformed) ends the session.
      const { status: retry, waitMs } = retryDecision(f, attempt, o);
      const errorType = ERROR_TYPE[f.kind] ?? 'unknown_error';
      await log.append(s.id, () => ({
        events: [
          log.stamp('span.model_request_end', { model_request_start_id: start.id, is_error: true, model_usage: ZERO_USAGE }, newEventId()),
          log.stamp('session.error', { error: { type: errorType, message: f.message, retry_status: { type: retry } } }, newEventId()),
          ...(retry === 'retrying' ? [log.stamp('session.status_rescheduled', {}, newEventId())] : []),
        ],
        ...(retry === 'retrying' ? { patch: { status: 'rescheduling' as const } } : {}),
      }));
      if (retry !== 'retrying') return retry === 'terminal' ? 'terminal' : 'failed';
      if (!(await waitUnlessAborted(waitMs, signal))) return 'aborted';
      await log.append(s.id, () => ({ events: [log.stamp('session.status_running', {}, newEventId())], patch: { status: 'running' } }));
      continue;
    }
    const a = outcome.answer;
    const uses = a.toolUses.map((u) => {
      if (custom.has(u.name)) return log.stamp('agent.custom_tool_use', { name: u.name, input: u.input }, newEventId());
      const m = mcp.get(u.name);
      if (m) return log.stamp('agent.mcp_tool_use', { name: m.tool, mcp_server_name: m.server, input: u.input, evaluated_permission: m.permission }, newEventId());
      const known = builtin.get(u.name);
      return log.stamp(
        'agent.tool_use',
        {
          name: u.name,
          input: u.input,
          evaluated_permission: known && deps.tools ? deps.tools.permission(known, u.name) : 'allow',
          ...(known || delegates.has(u.name) ? {} : { unknown_tool: true }),
        },
        newEventId(),
      );
    });
    await log.append(s.id, (locked) => {
      const { usage, data } = accrueUsage(locked.data, a.usage, endpoint.listPrice);
      const content = a.text.filter((t) => t !== '').map((t) => ({ type: 'text', text: t }));
      return {
        events: [
          // The spec's agent.thinking is a progress signal: that the model thought, not what.
          ...(thought ? [log.stamp('agent.thinking', {}, thinkingId)] : []),
          ...(content.length > 0 ? [log.stamp('agent.message', { content }, messageId)] : []),
          ...uses,
          log.stamp('span.model_request_end', { model_request_start_id: start.id, is_error: false, model_usage: a.usage }, newEventId()),
          log.stamp('session.usage', { usage, budget: locked.data.budget ?? null }, newEventId()),
        ],
        patch: { data },
      };
    });
    return 'ok';
  }
};
