import type { Storage, StorageRepos } from '../../storage.js';
import { isoNow, type Clock } from '../../time.js';
import { accrueUsage, budgetReached, type Budget } from '../budget.js';
import { textOf } from '../content-text.js';
import { conversationOf } from '../conversation.js';
import { newEventId, TOOL_USE_TYPES, toolResultTarget, type SessionEvent } from '../events.js';
import type { ModelClientFactory, ModelEndpoint, ModelToolDefinition, ModelUsage } from '../model-port.js';
import { retryDecision, stoppableModelCall, waitUnlessAborted } from '../model-retry.js';
import type { SessionLog } from '../session-log.js';
import type { SessionEventRecord, SessionRecord } from '../session-store.js';
import type { BuiltinToolExecutor } from '../tool-port.js';
import { DELEGATION_PREFIX, delegationToolName, rosterOf } from './roster.js';
import type { ThreadRecord } from './thread-store.js';
import { primaryThreadId } from './thread-view.js';

type Ev = Record<string, unknown>;

/** What the session runtime asks of multi-agent threads (a port, so the runtime runs without them). */
export interface ThreadDelegation {
  /** The `call_agent_<name>` tools of a coordinator: one per agent of its roster (none for other agents). */
  tools(s: SessionRecord): Promise<ModelToolDefinition[]>;
  /**
   * Runs a delegation tool call as a thread of the session until the thread is idle; answers the
   * tool result carrying the thread's reply, or undefined when `use` is no delegation.
   */
  delegate(s: SessionRecord, use: Ev, signal: AbortSignal): Promise<SessionEvent | undefined>;
}

export interface ThreadRunnerDeps {
  storage: Storage;
  log: SessionLog;
  endpointFor(accountId: number, modelId: string): Promise<ModelEndpoint | undefined>;
  models: ModelClientFactory;
  tools?: BuiltinToolExecutor;
  clock: Clock;
}

export interface ThreadRunnerOptions {
  maxRetries?: number;
  retryBaseMs?: number;
  maxStepsPerTurn?: number;
  maxTokens?: number;
}

/** A roster agent resolved for a session: the snapshot a thread runs and the tool that reaches it. */
interface RosterAgent {
  tool: string;
  id: string;
  version: number;
  name: string;
  description: string | null;
  snapshot: Ev;
}

/** How one delegated run ended. */
interface RunEnd {
  reply: string;
  isError: boolean;
  stopReason: Ev;
  terminated?: boolean;
}

class Aborted extends Error {}

const ZERO_USAGE: ModelUsage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

const ERROR_TYPE: Record<string, string> = {
  rate_limited: 'model_rate_limited_error',
  overloaded: 'model_overloaded_error',
};

/** Usage totals with one model answer added (the SDK's cumulative usage shape). */
/**
 * Multi-agent threads (issue 14): a coordinator, an agent whose `multiagent` config names other
 * agents, gets a `call_agent_<name>` tool per agent. A call runs that agent as a child thread of
 * the session, in the same workspace, with its own conversation: its events carry
 * `session_thread_id`, its status moves running → idle (`session.thread_status_*`), the message
 * goes out as `agent.thread_message_sent` and the reply comes back as `agent.thread_message_received`
 * and the call's tool result. A thread runs inside the coordinator's turn (under its lease), so a
 * crashed worker's successor resumes it from its events. Threads do not delegate further (depth 1),
 * and run the built-in toolset only (no MCP, custom or always_ask tools: nobody answers them there).
 */
export class ThreadRunner implements ThreadDelegation {
  private readonly o: Required<ThreadRunnerOptions>;

  constructor(
    private readonly deps: ThreadRunnerDeps,
    opts: ThreadRunnerOptions = {},
  ) {
    this.o = { maxRetries: opts.maxRetries ?? 3, retryBaseMs: opts.retryBaseMs ?? 1_000, maxStepsPerTurn: opts.maxStepsPerTurn ?? 50, maxTokens: opts.maxTokens ?? 8192 };
  }

  async tools(s: SessionRecord): Promise<ModelToolDefinition[]> {
    return (await this.roster(s)).map((a) => ({
      name: a.tool,
      description: `Delegate a task to the agent '${a.name}'${a.description ? ` (${a.description})` : ''}. It works in its own thread of this session, in the same workspace, and answers with its reply. Calling it again continues that thread.`,
      input_schema: { type: 'object', properties: { message: { type: 'string', description: 'What the agent should do, with everything it needs to know' } }, required: ['message'] },
    }));
  }

  async delegate(s: SessionRecord, use: Ev, signal: AbortSignal): Promise<SessionEvent | undefined> {
    if (use.type !== 'agent.tool_use' || typeof use.name !== 'string' || !use.name.startsWith(DELEGATION_PREFIX)) return undefined;
    const target = (await this.roster(s)).find((a) => a.tool === use.name);
    if (!target) return undefined;
    const input = (use.input as Ev | undefined) ?? {};
    const message = typeof input.message === 'string' && input.message !== '' ? input.message : JSON.stringify(input);
    const threads = await this.deps.storage.sessionThreads.list(s.id, { limit: 1000 });
    let thread = threads.find((t) => (t.data.call as Ev | undefined)?.tool_use_id === use.id);
    if (thread && (thread.data.call as Ev).done === true) {
      const call = thread.data.call as Ev;
      return this.result(use, call.is_error === true, String(call.reply ?? ''));
    }
    if (!thread) thread = await this.send(s, target, message, use, threads);
    const sinceSeq = Number((thread.data.call as Ev).since_seq);
    let end: RunEnd;
    try {
      end = await this.run(s, thread, target, sinceSeq, signal);
    } catch (e) {
      if (signal.aborted || e instanceof Aborted) throw new Aborted('aborted');
      throw e;
    }
    await this.finish(s.id, thread.id, target, end);
    return this.result(use, end.isError, end.reply);
  }

  /** The coordinator's roster, resolved to the account's agents (a missing or archived one is left out). */
  private async roster(s: SessionRecord): Promise<RosterAgent[]> {
    const agent = s.data.agent as Ev;
    const refs = rosterOf(agent.multiagent, { id: String(agent.id), version: Number(agent.version) });
    const out: RosterAgent[] = [];
    const taken = new Set<string>();
    for (const ref of refs) {
      const o = await this.deps.storage.managed.find(ref.id);
      if (!o || o.kind !== 'agent' || o.accountId !== s.accountId || o.archivedAt) continue;
      let config = o.data;
      let version = o.version;
      if (ref.version !== undefined && ref.version !== o.version) {
        const r = await this.deps.storage.managed.findRevision(o.id, ref.version);
        if (!r) continue;
        config = r.data;
        version = ref.version;
      }
      const name = typeof config.name === 'string' ? config.name : o.id;
      const tool = delegationToolName(name, taken);
      taken.add(tool);
      out.push({
        tool,
        id: o.id,
        version,
        name,
        description: typeof config.description === 'string' ? config.description : null,
        snapshot: {
          type: 'agent',
          id: o.id,
          version,
          name,
          description: config.description ?? null,
          model: config.model,
          system: config.system ?? null,
          tools: config.tools ?? [],
          mcp_servers: config.mcp_servers ?? [],
          skills: config.skills ?? [],
          metadata: config.metadata ?? {},
          execution_identity: config.execution_identity ?? { type: 'service_account' },
        },
      });
    }
    return out;
  }

  private now(): string {
    return isoNow(this.deps.clock);
  }

  private stamp(t: { id: string }, type: string, fields: Ev = {}): SessionEvent {
    return this.deps.log.stamp(type, { ...fields, session_thread_id: t.id }, newEventId());
  }

  /**
   * Sends the coordinator's message to the agent's thread (its idle one, or a new one): the thread
   * is created or woken, and remembers the call it works for.
   */
  private async send(s: SessionRecord, target: RosterAgent, message: string, use: Ev, threads: ThreadRecord[]): Promise<ThreadRecord> {
    const live = threads.find((t) => t.agentId === target.id && t.archivedAt === null && t.status === 'idle');
    const primary = primaryThreadId(s.id);
    const content = [{ type: 'text', text: message }];
    let thread: ThreadRecord | undefined;
    await this.deps.log.append(s.id, async (locked, tx) => {
      const now = this.now();
      // Read again under the session's lock: the thread may have been archived since.
      const fresh = live && (await tx.sessionThreads.find(s.id, live.id));
      const reuse = fresh && fresh.archivedAt === null && fresh.status === 'idle' ? fresh : undefined;
      const base = reuse ?? {
        id: `sthr_${String(newEventId()).replace(/^sevt_/, '')}`,
        sessionId: s.id,
        parentThreadId: primary,
        agentId: target.id,
        agentVersion: target.version,
        agentName: target.name,
        status: 'idle' as const,
        data: { agent: target.snapshot, active_ms: 0 },
        archivedAt: null,
        createdAt: now,
        updatedAt: now,
      };
      const events: SessionEvent[] = [];
      if (!reuse) events.push(this.deps.log.stamp('session.thread_created', { session_thread_id: base.id, agent_name: target.name, workflow_run_id: null }, newEventId()));
      events.push(this.deps.log.stamp('agent.thread_message_sent', { to_session_thread_id: base.id, to_agent_name: target.name, content }, newEventId()));
      events.push(this.stamp(base, 'agent.thread_message_received', { from_session_thread_id: primary, from_agent_name: String((s.data.agent as Ev).name ?? ''), content }));
      const sinceSeq = locked.eventSeq + events.length;
      events.push(this.stamp(base, 'session.thread_status_running', { agent_name: target.name }));
      const data = { ...base.data, running_since: now, call: { tool_use_id: use.id, since_seq: sinceSeq, done: false } };
      if (reuse) await tx.sessionThreads.update(base.id, { status: 'running', data, updatedAt: now });
      else await tx.sessionThreads.insert({ ...base, status: 'running', data });
      thread = { seq: 0, ...base, status: 'running', data, updatedAt: now };
      return { events };
    });
    return thread!;
  }

  /** Closes the run: the thread idle (or terminated) with its stop reason, and the reply back on the primary thread. */
  private async finish(sessionId: string, threadId: string, target: RosterAgent, end: RunEnd): Promise<void> {
    await this.deps.log.append(sessionId, async (_s, tx) => {
      const t = await tx.sessionThreads.find(sessionId, threadId);
      if (!t) return { events: [] };
      const now = this.now();
      const since = typeof t.data.running_since === 'string' ? Date.parse(t.data.running_since) : Date.parse(now);
      const { running_since: _gone, ...rest } = t.data;
      const call = { ...(rest.call as Ev), done: true, reply: end.reply, is_error: end.isError };
      const status = end.terminated ? ('terminated' as const) : ('idle' as const);
      await tx.sessionThreads.update(t.id, { status, data: { ...rest, call, active_ms: Number(t.data.active_ms ?? 0) + Math.max(0, Date.parse(now) - since) }, updatedAt: now });
      return {
        events: [
          end.terminated
            ? this.stamp(t, 'session.thread_status_terminated', { agent_name: target.name })
            : this.stamp(t, 'session.thread_status_idle', { agent_name: target.name, stop_reason: end.stopReason, stop_details: null }),
          this.deps.log.stamp('agent.thread_message_received', { from_session_thread_id: t.id, from_agent_name: target.name, content: [{ type: 'text', text: end.reply }] }, newEventId()),
        ],
      };
    });
  }

  private result(use: Ev, isError: boolean, text: string): SessionEvent {
    return this.deps.log.stamp('agent.tool_result', { tool_use_id: use.id, content: [{ type: 'text', text: text || '(no reply)' }], is_error: isError }, newEventId());
  }

  private async threadEvents(sessionId: string, threadId: string): Promise<SessionEventRecord[]> {
    const out: SessionEventRecord[] = [];
    for (let cursor = 0; ;) {
      const rows = await this.deps.storage.sessions.listEvents(sessionId, { order: 'asc', afterSeq: cursor, threadId, limit: 1000 });
      out.push(...rows);
      if (rows.length < 1000) return out;
      cursor = rows[rows.length - 1].seq;
    }
  }

  /** An interrupt of this thread sent since the run began, or of the whole session still queued. */
  private async interrupted(sessionId: string, threadId: string, sinceSeq: number): Promise<boolean> {
    const rows = await this.deps.storage.sessions.listEvents(sessionId, { order: 'asc', afterSeq: sinceSeq, types: ['user.interrupt'], limit: 100 });
    return rows.some((r) => r.event.session_thread_id === threadId || (r.event.session_thread_id == null && r.event.processed_at === null));
  }

  /** Works on the thread until its agent stops: it answers, is interrupted, or fails. */
  private async run(s: SessionRecord, t: ThreadRecord, target: RosterAgent, sinceSeq: number, signal: AbortSignal): Promise<RunEnd> {
    const toolsets = ((target.snapshot.tools as Ev[]) ?? []).filter((x) => x.type === 'agent_toolset_20260401');
    const builtin = new Map<string, Ev>();
    const defs: ModelToolDefinition[] = [];
    if (this.deps.tools) {
      for (const ts of toolsets) {
        for (const d of this.deps.tools.definitions(ts)) {
          builtin.set(d.name, ts);
          defs.push(d);
        }
      }
    }
    for (let step = 0; ; step++) {
      if (signal.aborted) throw new Aborted('aborted');
      const records = await this.threadEvents(s.id, t.id);
      if (await this.interrupted(s.id, t.id, sinceSeq)) {
        await this.closeOpenSpans(s.id, t, records);
        return { reply: 'The thread was interrupted before it finished.', isError: true, stopReason: { type: 'end_turn' } };
      }
      if (await this.closeOpenSpans(s.id, t, records)) continue;
      // Tool calls of the last answer still waiting (a call made before the latest message was abandoned).
      const answered = new Set(records.map((r) => toolResultTarget(r.event)).filter((x): x is string => x !== undefined));
      let lastIn = 0;
      for (const r of records) if (r.type === 'agent.thread_message_received') lastIn = r.seq;
      const waiting = records.filter((r) => r.seq > lastIn && TOOL_USE_TYPES.has(r.type) && !answered.has(r.id)).map((r) => r.event);
      if (waiting.length > 0) {
        const results: SessionEvent[] = [];
        for (const use of waiting) results.push(await this.execute(s, t, target, builtin, use, signal));
        await this.deps.log.append(s.id, () => ({ events: results }));
        continue;
      }
      // The thread's conversation: the messages it received are its user turns.
      const conversation = conversationOf(records.map((r) => (r.type === 'agent.thread_message_received' ? { ...r.event, type: 'user.message' } : r.event)));
      const last = conversation[conversation.length - 1];
      if (!last || last.role === 'assistant') {
        const reply = records.filter((r) => r.seq > sinceSeq && r.type === 'agent.message').map((r) => textOf(r.event.content, '\n'));
        return { reply: reply[reply.length - 1] ?? '', isError: false, stopReason: { type: 'end_turn' } };
      }
      if (step >= this.o.maxStepsPerTurn) return { reply: `The thread made ${this.o.maxStepsPerTurn} model requests and was stopped.`, isError: true, stopReason: { type: 'end_turn' } };
      const fresh = await this.deps.storage.sessions.find(s.id);
      if (fresh && budgetReached(fresh.data.budget as Budget | null, Number(fresh.data.list_cost_micro ?? 0))) {
        return { reply: "The session's budget is reached; the thread stopped.", isError: true, stopReason: { type: 'budget_reached' } };
      }
      const outcome = await this.callModel(s, t, target, conversation, defs, builtin, sinceSeq, signal);
      if (outcome === 'failed') return { reply: 'The thread could not reach its model (see its session.error).', isError: true, stopReason: { type: 'retries_exhausted' } };
      if (outcome === 'terminal') return { reply: 'The thread failed for good (see its session.error).', isError: true, stopReason: { type: 'end_turn' }, terminated: true };
    }
  }

  private async execute(s: SessionRecord, t: ThreadRecord, target: RosterAgent, builtin: Map<string, Ev>, use: Ev, signal: AbortSignal): Promise<SessionEvent> {
    const answer = (isError: boolean, content: Array<Record<string, unknown>>) => this.stamp(t, 'agent.tool_result', { tool_use_id: use.id, content, is_error: isError });
    const toolset = builtin.get(String(use.name));
    if (!this.deps.tools || !toolset) return answer(true, [{ type: 'text', text: `There is no tool named '${String(use.name)}' in this thread.` }]);
    if (use.evaluated_permission === 'ask') return answer(true, [{ type: 'text', text: 'This tool needs a confirmation, which a thread cannot ask for.' }]);
    try {
      const r = await this.deps.tools.execute(
        {
          sessionId: s.id,
          accountId: s.accountId,
          environmentId: s.environmentId,
          environment: (s.data.environment as Ev) ?? {},
          agentTools: (target.snapshot.tools as Ev[]) ?? [],
          agent: target.snapshot,
        },
        { id: String(use.id), name: String(use.name), input: (use.input as Ev) ?? {} },
        signal,
      );
      return answer(r.is_error, r.content);
    } catch (e) {
      if (signal.aborted) throw new Aborted('aborted');
      return answer(true, [{ type: 'text', text: `The tool failed: ${e instanceof Error ? e.message.slice(0, 500) : 'unknown error'}` }]);
    }
  }

  private async closeOpenSpans(sessionId: string, t: ThreadRecord, records: SessionEventRecord[]): Promise<boolean> {
    const ended = new Set(records.filter((r) => r.type === 'span.model_request_end').map((r) => r.event.model_request_start_id));
    const open = records.filter((r) => r.type === 'span.model_request_start' && !ended.has(r.id));
    if (open.length === 0) return false;
    await this.deps.log.append(sessionId, () => ({
      events: open.map((r) => this.stamp(t, 'span.model_request_end', { model_request_start_id: r.id, is_error: true, model_usage: ZERO_USAGE })),
    }));
    return true;
  }

  private async callModel(
    s: SessionRecord,
    t: ThreadRecord,
    target: RosterAgent,
    conversation: ReturnType<typeof conversationOf>,
    defs: ModelToolDefinition[],
    builtin: Map<string, Ev>,
    sinceSeq: number,
    signal: AbortSignal,
  ): Promise<'ok' | 'failed' | 'terminal' | 'interrupted'> {
    const log = this.deps.log;
    const modelId = String((target.snapshot.model as Ev | undefined)?.id ?? '');
    const endpoint = await this.deps.endpointFor(s.accountId, modelId);
    const error = (type: string, message: string, retry: string) => this.stamp(t, 'session.error', { error: { type, message, retry_status: { type: retry } } });
    if (!endpoint) {
      await log.append(s.id, () => ({ events: [error('model_request_failed_error', `No model card with model_id '${modelId}'`, 'exhausted')] }));
      return 'failed';
    }
    const client = this.deps.models(endpoint);
    for (let attempt = 0; ; attempt++) {
      const { records } = await log.append(s.id, () => ({ events: [this.stamp(t, 'span.model_request_start')] }));
      const start = records[0];
      // Previews of the answer (event_deltas[]), tagged with the thread so its stream admits them.
      const messageId = newEventId();
      let started = false;
      const preview = (event: Ev) => log.bus.publish({ kind: 'preview', sessionId: s.id, afterSeq: start.seq, event: { ...event, session_thread_id: t.id } });
      const onText = (chunk: string, index: number): void => {
        if (!started) preview({ type: 'event_start', event: { id: messageId, type: 'agent.message' } });
        started = true;
        preview({ type: 'event_delta', event_id: messageId, preview_of: 'agent.message', delta: { type: 'content_delta', index, content: { type: 'text', text: chunk } } });
      };
      const end = (isError: boolean, usage: ModelUsage) => this.stamp(t, 'span.model_request_end', { model_request_start_id: start.id, is_error: isError, model_usage: usage });
      const outcome = await stoppableModelCall(
        log.bus,
        s.id,
        signal,
        () => this.interrupted(s.id, t.id, sinceSeq),
        new Aborted('interrupt'),
        (stop) =>
          client.stream({ model: endpoint.model, system: (target.snapshot.system as string | null) ?? null, messages: conversation, tools: defs, maxTokens: this.o.maxTokens }, { onText }, stop),
      );
      if ('stopped' in outcome) {
        if (signal.aborted) throw new Aborted('aborted');
        await log.append(s.id, () => ({ events: [end(true, ZERO_USAGE)] }));
        return 'interrupted';
      }
      if ('failure' in outcome) {
        const f = outcome.failure;
        const { status: retry, waitMs } = retryDecision(f, attempt, this.o);
        await log.append(s.id, () => ({
          events: [
            end(true, ZERO_USAGE),
            error(ERROR_TYPE[f.kind] ?? 'model_request_failed_error', f.message, retry),
            ...(retry === 'retrying' ? [this.stamp(t, 'session.thread_status_rescheduled', { agent_name: target.name })] : []),
          ],
        }));
        if (retry !== 'retrying') return retry === 'terminal' ? 'terminal' : 'failed';
        if (!(await waitUnlessAborted(waitMs, signal))) throw new Aborted('aborted');
        await log.append(s.id, () => ({ events: [this.stamp(t, 'session.thread_status_running', { agent_name: target.name })] }));
        continue;
      }
      const a = outcome.answer;
      await log.append(s.id, async (locked, tx: StorageRepos) => {
        // The session's usage (what a budget is held against) includes its threads'.
        const session = accrueUsage(locked.data, a.usage, endpoint.listPrice);
        const current = await tx.sessionThreads.find(s.id, t.id);
        if (current) await tx.sessionThreads.update(t.id, { data: accrueUsage(current.data, a.usage, endpoint.listPrice).data, updatedAt: this.now() });
        const content = a.text.filter((x) => x !== '').map((x) => ({ type: 'text', text: x }));
        const uses = a.toolUses.map((u) => {
          const ts = builtin.get(u.name);
          return this.stamp(t, 'agent.tool_use', { name: u.name, input: u.input, evaluated_permission: ts && this.deps.tools ? this.deps.tools.permission(ts, u.name) : 'allow' });
        });
        return {
          events: [...(content.length > 0 ? [{ ...this.stamp(t, 'agent.message', { content }), id: messageId }] : []), ...uses, end(false, a.usage)],
          patch: { data: session.data },
        };
      });
      return 'ok';
    }
  }
}
