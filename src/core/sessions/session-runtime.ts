import { randomBytes } from 'node:crypto';
import { isoNow, type Clock } from '../time.js';
import type { Storage } from '../storage.js';
import { conversationOf } from './conversation.js';
import { newEventId, TOOL_USE_TYPES, toolResultTarget, type SessionEvent } from './events.js';
import type { ModelClientFactory, ModelEndpoint } from './model-port.js';
import { mcpRefOf, requestModel, Stop, ZERO_USAGE } from './model-request.js';
import type { SessionLog } from './session-log.js';
import type { SessionService } from './session-service.js';
import type { SessionEventRecord, SessionRecord } from './session-store.js';
import type { BuiltinToolExecutor } from './tool-port.js';
import type { McpToolsets } from './mcp-toolsets.js';
import { budgetReached, type Budget } from './budget.js';
import { coalesced } from '../coalesced.js';
import type { ThreadDelegation } from './threads/thread-runner.js';
import { childThreadOf } from './threads/thread-view.js';
import { OutcomeGrader } from './outcomes/outcome-grader.js';
import { remoteOfSession } from './formats/a2a-agent.js';
import type { RemoteAgents } from './remote-agent-port.js';
import { remoteAgentTurn } from './remote-agent-turn.js';

type Ev = Record<string, unknown>;

export interface RuntimeOptions {
  /** How long a claimed session's lease lasts without renewal (default 30 s); renewed every third of it. */
  leaseMs?: number;
  /** How often idle workers look for work besides being woken (default 1 s). */
  pollMs?: number;
  /** Sessions one process runs at once (default 256; the server's `--max-running-sessions`). */
  maxConcurrent?: number;
  /** Model calls retried after 429 / 5xx / overloaded / lost connections (default 3). */
  maxRetries?: number;
  /** First retry delay when the provider gives none (default 1 s, doubling). */
  retryBaseMs?: number;
  /** Model requests per turn before the runtime stops it (default 50). */
  maxStepsPerTurn?: number;
  /** Largest answer asked of the model (default 8192 tokens). */
  maxTokens?: number;
  /** How often a running outcome evaluation says so (span.outcome_evaluation_ongoing; default 15 s). */
  outcomeHeartbeatMs?: number;
  /** Where failures of the runtime itself are reported (never keys). */
  onError?: (e: unknown, sessionId: string) => void;
}

export interface RuntimeDeps {
  storage: Storage;
  log: SessionLog;
  sessions: SessionService;
  /** The key of a model card, decrypted here, in the worker, and nowhere else. */
  endpointFor(accountId: number, modelId: string): Promise<ModelEndpoint | undefined>;
  models: ModelClientFactory;
  tools?: BuiltinToolExecutor;
  /** The agent's MCP servers (`mcp_toolset` tools); without it they are not offered. */
  mcp?: McpToolsets;
  /** Multi-agent threads: a coordinator's `call_agent_<name>` tools; without it none are offered. */
  threads?: ThreadDelegation;
  /** Remote A2A agents (imported cards): without it their sessions' turns fail with a session.error. */
  remoteAgents?: RemoteAgents;
  clock: Clock;
}

/** The primary thread's events: child threads (multi-agent) keep their own conversations. */
const primaryOnly = (records: SessionEventRecord[]): SessionEventRecord[] => records.filter((r) => childThreadOf(r.event) === undefined);

/**
 * The agent loop, off the request path. Every server process (or `agentry runtime`) runs one:
 * it claims running sessions nobody holds (a lease in the store, renewed while it works, so a
 * crashed worker's session is taken again once its lease runs out), rebuilds the conversation
 * from the event log, calls the agent's model through its model card, runs tools, and writes
 * every step as events. A turn ends idle: end_turn, requires_action, or retries_exhausted.
 */
export class SessionRuntime {
  readonly workerId = `wrk_${randomBytes(8).toString('hex')}`;
  private readonly active = new Map<string, { ac: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;
  /** Looks for work to claim; wake-ups while it looks coalesce into one more look. */
  private readonly pollOnce = coalesced(
    async () => {
      if (!this.stopped) await this.claimSome();
    },
    (e) => this.o.onError?.(e, ''),
  );
  /** Sessions whose lease is being taken on a notice. */
  private readonly claiming = new Set<string>();
  private readonly o: Required<Omit<RuntimeOptions, 'onError' | 'outcomeHeartbeatMs'>> & Pick<RuntimeOptions, 'onError'>;
  /** Grades the work of a turn against the session's outcome, when one is defined. */
  private readonly outcomes: OutcomeGrader;

  constructor(
    private readonly deps: RuntimeDeps,
    opts: RuntimeOptions = {},
  ) {
    this.o = {
      leaseMs: opts.leaseMs ?? 30_000,
      pollMs: opts.pollMs ?? 1_000,
      maxConcurrent: opts.maxConcurrent ?? 256,
      maxRetries: opts.maxRetries ?? 3,
      retryBaseMs: opts.retryBaseMs ?? 1_000,
      maxStepsPerTurn: opts.maxStepsPerTurn ?? 50,
      maxTokens: opts.maxTokens ?? 8192,
      onError: opts.onError,
    };
    this.outcomes = new OutcomeGrader(deps, opts.outcomeHeartbeatMs);
  }

  get runningSessions(): number {
    return this.active.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.deps.log.bus.subscribe((n) => {
      if (n.kind === 'appended' && (n.status === 'running' || n.status === 'rescheduling') && !this.active.has(n.sessionId)) this.claimNow(n.sessionId);
    });
    this.timer = setInterval(() => this.poll(), this.o.pollMs);
    this.timer.unref?.();
    this.poll();
  }

  /** Stops taking work, stops the turns in progress (their sessions stay running for another worker) and releases them. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    for (const { ac } of this.active.values()) ac.abort(new Stop('shutdown'));
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private now(): string {
    return isoNow(this.deps.clock);
  }

  private poll(): void {
    if (!this.stopped) this.pollOnce();
  }

  /**
   * A session that just started working: its lease is taken at once, without looking for work
   * first (the periodic poll still finds what a notice missed, and what another worker let go).
   */
  private claimNow(id: string): void {
    if (this.stopped || this.claiming.has(id) || this.taken() >= this.o.maxConcurrent) {
      if (!this.stopped) this.poll();
      return;
    }
    this.claiming.add(id);
    const now = this.now();
    const until = new Date(Date.parse(now) + this.o.leaseMs).toISOString();
    void this.deps.storage.sessions
      .claim(id, this.workerId, now, until)
      .then((held) => {
        if (!held) return;
        if (this.stopped) return void this.deps.storage.sessions.release(id, this.workerId).catch(() => undefined);
        if (!this.active.has(id)) this.run(id);
      })
      .catch((e: unknown) => this.o.onError?.(e, id))
      .finally(() => this.claiming.delete(id));
  }

  /** Places taken: sessions running here and those whose lease is being taken (the cap counts both). */
  private taken(): number {
    return this.active.size + this.claiming.size;
  }

  private async claimSome(): Promise<void> {
    const room = this.o.maxConcurrent - this.taken();
    if (room <= 0) return;
    const now = this.now();
    const ids = await this.deps.storage.sessions.claimable(now, room + this.active.size + this.claiming.size);
    for (const id of ids) {
      if (this.stopped || this.taken() >= this.o.maxConcurrent || this.active.has(id) || this.claiming.has(id)) continue;
      const until = new Date(Date.parse(now) + this.o.leaseMs).toISOString();
      this.claiming.add(id);
      try {
        if (await this.deps.storage.sessions.claim(id, this.workerId, now, until)) this.run(id);
      } finally {
        this.claiming.delete(id);
      }
    }
  }

  private run(id: string): void {
    const ac = new AbortController();
    const renew = setInterval(
      () => {
        const until = new Date(Date.now() + this.o.leaseMs).toISOString();
        void this.deps.storage.sessions.renew(id, this.workerId, until).then(
          (held) => {
            if (!held) ac.abort(new Stop('lease lost'));
          },
          () => undefined,
        );
      },
      Math.max(50, Math.floor(this.o.leaseMs / 3)),
    );
    const done = this.turn(id, ac.signal)
      .catch((e) => {
        if (!(e instanceof Stop) && !ac.signal.aborted) this.o.onError?.(e, id);
      })
      .finally(async () => {
        clearInterval(renew);
        await this.deps.storage.sessions.release(id, this.workerId).catch(() => undefined);
        this.active.delete(id);
        this.poll();
      });
    this.active.set(id, { ac, done });
  }

  /** Works on a session until it goes idle (or the worker stops). */
  private async turn(id: string, signal: AbortSignal): Promise<void> {
    // The log as read so far: only this worker (holding the lease) changes events already written
    // (their processed_at), so each step reads just what was appended since.
    let known: SessionEventRecord[] = [];
    for (let step = 0; ; step++) {
      if (signal.aborted) return;
      // Both reads at once (the events are read in vain only when the session stopped running).
      const [s, fresh] = await Promise.all([this.deps.storage.sessions.find(id), this.deps.sessions.allEvents(id, known.length > 0 ? known[known.length - 1].seq : 0)]);
      if (!s || (s.status !== 'running' && s.status !== 'rescheduling')) return;
      let records = known.concat(fresh);
      const lastSeq = records.length > 0 ? records[records.length - 1].seq : 0;

      // 1. Take the queued user events; an interrupt ends the turn. Their processed_at is written
      // with the next append of this step (the model request's start, usually), not on its own.
      const queued = records.filter((r) => r.event.processed_at === null);
      let deferred: SessionEventRecord[] = [];
      if (queued.length > 0) {
        const at = this.now();
        records = records.map((r) => (r.event.processed_at === null ? { ...r, event: { ...r.event, processed_at: at } } : r));
        deferred = records.filter((r) => queued.some((q) => q.seq === r.seq));
      }
      known = records;
      const flush = async (): Promise<void> => {
        if (deferred.length === 0) return;
        const rows = deferred;
        deferred = [];
        await this.deps.log.append(id, async (_s, tx) => {
          for (const r of rows) await tx.sessions.updateEvent(id, r.seq, r.event);
          return { events: [] };
        });
      };
      if (queued.some((r) => r.type === 'user.interrupt')) {
        await flush();
        await this.closeOpenSpan(id, primaryOnly(records));
        await this.outcomes.interrupted(s, records);
        if (await this.goIdle(id, lastSeq, { type: 'end_turn' })) return;
        continue;
      }

      // 2. A model request a crashed worker left open is closed before anything else.
      if (await this.closeOpenSpan(id, primaryOnly(records))) {
        await flush();
        await this.deps.log.append(id, () => ({ events: [this.deps.log.stamp('session.status_rescheduled', {}, newEventId())] }));
        continue;
      }

      // 3. Tool calls of the last model answer still waiting.
      const events = primaryOnly(records).map((r) => r.event);
      const blocked: string[] = [];
      const results: SessionEvent[] = [];
      // A self-hosted environment's tools run in its worker, which posts user.tool_result.
      const selfHosted = (s.data.environment as Ev | undefined)?.type === 'self_hosted';
      for (const use of this.waitingToolUses(primaryOnly(records))) {
        if (use.type === 'agent.custom_tool_use') {
          blocked.push(use.id as string);
          continue;
        }
        if ((use.type === 'agent.tool_use' || use.type === 'agent.mcp_tool_use') && use.evaluated_permission === 'ask') {
          const answer = events.find((e) => e.type === 'user.tool_confirmation' && e.tool_use_id === use.id);
          if (!answer) {
            blocked.push(use.id as string);
            continue;
          }
          if (answer.result === 'deny') {
            results.push(this.toolResult(use, true, `The user denied this tool call${typeof answer.deny_message === 'string' && answer.deny_message ? `: ${answer.deny_message}` : '.'}`));
            continue;
          }
        }
        // A call of another agent runs as a thread of this session (multi-agent).
        const delegated = this.deps.threads ? await this.deps.threads.delegate(s, use, signal) : undefined;
        if (delegated) {
          results.push(delegated);
          continue;
        }
        if (selfHosted && use.type === 'agent.tool_use' && use.unknown_tool !== true) {
          blocked.push(use.id as string);
          continue;
        }
        results.push(await this.execute(s, use, signal));
      }
      if (results.length > 0 || blocked.length > 0) await flush();
      if (results.length > 0) {
        await this.deps.log.append(id, () => ({ events: results }));
        continue;
      }
      if (blocked.length > 0) {
        if (await this.goIdle(id, lastSeq, { type: 'requires_action', event_ids: blocked })) return;
        continue;
      }

      // 4. Something for the model to answer?
      const conversation = conversationOf(events);
      const last = conversation[conversation.length - 1];
      // The agent's own cap (an agentspace agent's max_steps) counts this turn's model requests.
      const cap = typeof s.data.max_steps_per_turn === 'number' ? s.data.max_steps_per_turn : undefined;
      const capped = cap !== undefined && last !== undefined && last.role !== 'assistant' && modelRequestsThisTurn(records) >= cap;
      if (!last || last.role === 'assistant' || step >= this.o.maxStepsPerTurn || capped) {
        await flush();
        if (step >= this.o.maxStepsPerTurn || capped) {
          await this.deps.log.append(id, () => ({
            events: [
              this.deps.log.stamp(
                'session.error',
                { error: { type: 'unknown_error', message: `The turn made ${capped ? cap : this.o.maxStepsPerTurn} model requests and was stopped`, retry_status: { type: 'terminal' } } },
                newEventId(),
              ),
            ],
          }));
        } else if (last) {
          // A finished turn of an outcome is graded; feedback to revise starts another.
          const next = await this.outcomes.afterTurn(s, records, signal);
          if (next === 'aborted') return;
          if (next === 'revise' || next === 'interrupted') continue;
        }
        if (await this.goIdle(id, lastSeq, { type: 'end_turn' })) return;
        continue;
      }
      // 5. A session at its budget issues no more model requests: the turn stops (raise the budget to go on).
      if (budgetReached(s.data.budget as Budget | null, Number(s.data.list_cost_micro ?? 0))) {
        await flush();
        await this.deps.log.append(id, (locked) => ({
          events: [this.deps.log.stamp('session.usage', { usage: locked.data.usage, budget: locked.data.budget ?? null }, newEventId())],
        }));
        if (await this.goIdle(id, lastSeq, { type: 'budget_reached' })) return;
        continue;
      }
      // An imported A2A agent's turn goes to its remote agent instead of a model.
      const remote = remoteOfSession(s.data.agent as Ev);
      if (remote) {
        const done = await remoteAgentTurn({ log: this.deps.log, remote: this.deps.remoteAgents }, s, remote, events, deferred, signal);
        deferred = [];
        if (done === 'aborted') return;
        if (done === 'failed') {
          const latest = await this.deps.storage.sessions.find(id);
          if (await this.goIdle(id, latest?.eventSeq ?? lastSeq, { type: 'retries_exhausted' })) return;
        }
        continue;
      }
      const outcome = await requestModel(this.deps, this.o, s, lastSeq, conversation, signal, deferred);
      deferred = [];
      if (outcome === 'aborted') return;
      if (outcome === 'terminal') {
        await this.terminate(id);
        return;
      }
      // 'interrupted': the next round takes the queued interrupt and ends the turn.
      if (outcome === 'failed') {
        const latest = await this.deps.storage.sessions.find(id);
        if (await this.goIdle(id, latest?.eventSeq ?? lastSeq, { type: 'retries_exhausted' })) return;
      }
    }
  }

  /** Tool uses of the session that no result answers and that no later user message abandoned. */
  private waitingToolUses(records: SessionEventRecord[]): Ev[] {
    const answered = new Set(records.map((r) => toolResultTarget(r.event)).filter((x): x is string => x !== undefined));
    let lastUser = 0;
    for (const r of records) if (r.type === 'user.message' || r.type === 'user.interrupt') lastUser = r.seq;
    return records.filter((r) => r.seq > lastUser && TOOL_USE_TYPES.has(r.type) && !answered.has(r.id)).map((r) => r.event);
  }

  private toolResult(use: Ev, isError: boolean, text: string, content?: Array<Record<string, unknown>>): SessionEvent {
    const type = use.type === 'agent.mcp_tool_use' ? 'agent.mcp_tool_result' : 'agent.tool_result';
    const ref = use.type === 'agent.mcp_tool_use' ? { mcp_tool_use_id: use.id } : { tool_use_id: use.id };
    return this.deps.log.stamp(type, { ...ref, content: content ?? [{ type: 'text', text }], is_error: isError }, newEventId());
  }

  private async execute(s: SessionRecord, use: Ev, signal: AbortSignal): Promise<SessionEvent> {
    if (use.type === 'agent.mcp_tool_use') {
      if (!this.deps.mcp || use.unknown_tool === true) return this.toolResult(use, true, `There is no MCP tool named '${String(use.name)}' here.`);
      const r = await this.deps.mcp.call(mcpRefOf(s), String(use.mcp_server_name), String(use.name), (use.input as Record<string, unknown>) ?? {}, signal);
      if (signal.aborted) throw new Stop('aborted');
      return this.toolResult(use, r.is_error, '', r.content);
    }
    const tools = this.deps.tools;
    if (!tools || use.unknown_tool === true) return this.toolResult(use, true, `There is no tool named '${String(use.name)}' here.`);
    try {
      const r = await tools.execute(
        {
          sessionId: s.id,
          accountId: s.accountId,
          environmentId: s.environmentId,
          environment: (s.data.environment as Record<string, unknown>) ?? {},
          agentTools: ((s.data.agent as Ev).tools as Ev[]) ?? [],
          agent: s.data.agent as Ev,
        },
        { id: use.id as string, name: use.name as string, input: (use.input as Record<string, unknown>) ?? {} },
        signal,
      );
      return this.toolResult(use, r.is_error, '', r.content);
    } catch (e) {
      if (signal.aborted) throw new Stop('aborted');
      return this.toolResult(use, true, `The tool failed: ${e instanceof Error ? e.message.slice(0, 500) : 'unknown error'}`);
    }
  }

  /** Closes a span.model_request_start with no end (a worker died mid-request); true when there was one. */
  private async closeOpenSpan(id: string, records: SessionEventRecord[]): Promise<boolean> {
    const ended = new Set(records.filter((r) => r.type === 'span.model_request_end').map((r) => r.event.model_request_start_id));
    const open = records.filter((r) => r.type === 'span.model_request_start' && !ended.has(r.id));
    if (open.length === 0) return false;
    await this.deps.log.append(id, () => ({
      events: open.map((r) => this.deps.log.stamp('span.model_request_end', { model_request_start_id: r.id, is_error: true, model_usage: ZERO_USAGE }, newEventId())),
    }));
    return true;
  }

  /**
   * Ends the turn: session.status_idle with its stop reason, unless user events arrived after
   * `seenSeq` (then the loop goes on and answers them). Answers whether the session went idle.
   */
  private async goIdle(id: string, seenSeq: number, stopReason: Record<string, unknown>): Promise<boolean> {
    let idle = false;
    await this.deps.log.append(id, async (s, tx) => {
      if (s.status !== 'running' && s.status !== 'rescheduling') return { events: [] };
      const newer = await tx.sessions.listEvents(id, { order: 'asc', afterSeq: seenSeq, limit: 100 });
      if (newer.some((r) => r.event.processed_at === null)) return { events: [] };
      idle = true;
      const now = this.now();
      const since = typeof s.data.running_since === 'string' ? Date.parse(s.data.running_since) : Date.parse(now);
      const { running_since: _gone, ...rest } = s.data;
      return {
        events: [this.deps.log.stamp('session.status_idle', { stop_reason: stopReason, stop_details: null }, newEventId())],
        patch: { status: 'idle', data: { ...rest, active_ms: Number(s.data.active_ms ?? 0) + Math.max(0, Date.parse(now) - since) } },
      };
    });
    return idle;
  }

  /**
   * An unrecoverable error: the session ends `terminated` (session.status_terminated) and takes no
   * more events; its log, usage and workspace stay until it is deleted.
   */
  private async terminate(id: string): Promise<void> {
    await this.deps.log.append(id, (s) => {
      if (s.status === 'terminated') return { events: [] };
      const now = this.now();
      const since = typeof s.data.running_since === 'string' ? Date.parse(s.data.running_since) : Date.parse(now);
      const { running_since: _gone, ...rest } = s.data;
      return {
        events: [this.deps.log.stamp('session.status_terminated', {}, newEventId())],
        patch: { status: 'terminated', data: { ...rest, active_ms: Number(s.data.active_ms ?? 0) + Math.max(0, Date.parse(now) - since) } },
      };
    });
    this.deps.mcp?.closeSession(id);
  }
}

/** The model requests since the turn's user message (a worker that took the turn over counts those before it too). */
const modelRequestsThisTurn = (records: SessionEventRecord[]): number => {
  let n = 0;
  for (let i = records.length - 1; i >= 0 && records[i].type !== 'user.message'; i--) if (records[i].type === 'span.model_request_start') n++;
  return n;
};
