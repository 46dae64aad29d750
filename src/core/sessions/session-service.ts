import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { AgentService } from '../managed/agents/agent-service.js';
import { newManagedId } from '../managed/ids.js';
import { ownedObject, reader, writer, type ManagedDeps } from '../managed/managed-deps.js';
import { newMetadata, patchMetadata, type Metadata } from '../managed/metadata.js';
import { decodePageToken, encodePageToken, type Paged } from '../managed/page-token.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import type { StorageRepos } from '../storage.js';
import { clientEvent, newEventId, SPEC_EVENT_TYPES, TOOL_USE_TYPES, toolResultTarget, type SessionEvent } from './events.js';
import type { SessionNotice } from './event-bus.js';
import type { EnvironmentWorkService } from './environment-work.js';
import type { SessionLog } from './session-log.js';
import { checkResources, forgetResourceTokens, keepResourceTokens, readableSession } from './session-resources.js';
import { budgetError, checkBudget, listCost } from './budget.js';
import { checkThreadTargets } from './threads/thread-targets.js';
import { acceptOutcomes, outcomeEvaluations, type OutcomeEvaluationView } from './outcomes/outcome-spec.js';
import { resolveRubricFiles, type RubricFiles } from './outcomes/rubric-files.js';
import type { SessionEventRecord, SessionRecord, SessionStatus } from './session-store.js';
import type { AgentRefResolution, AgentRefResolver } from './agent-refs.js';

export const SESSION_STATUSES: readonly SessionStatus[] = ['idle', 'running', 'rescheduling', 'terminated'];

/** A session as every door shows it (the SDK's `BetaManagedAgentsSession`). */
export interface SessionView {
  type: 'session';
  id: string;
  status: SessionStatus;
  title: string | null;
  agent: Record<string, unknown>;
  environment_id: string;
  metadata: Metadata;
  vault_ids: string[];
  resources: Array<Record<string, unknown>>;
  outcome_evaluations: OutcomeEvaluationView[];
  budget: Record<string, unknown> | null;
  usage: Record<string, unknown>;
  stats: { active_seconds: number; duration_seconds: number };
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface SessionCreateInput {
  agent?: unknown;
  environment_id?: string | null;
  title?: string | null;
  metadata?: Record<string, string | null> | null;
  vault_ids?: string[] | null;
  resources?: unknown[] | null;
  initial_events?: unknown[] | null;
  budget?: Record<string, unknown> | null;
}

export interface SessionUpdateInput {
  title?: string | null;
  metadata?: Record<string, string | null> | null;
  vault_ids?: string[] | null;
  budget?: Record<string, unknown> | null;
  agent?: unknown;
}

export interface SessionListInput {
  limit: number;
  page?: string;
  order?: 'asc' | 'desc';
  agentId?: string;
  agentVersion?: number;
  statuses?: string[];
  createdAt?: { gt?: string; gte?: string; lt?: string; lte?: string };
  includeArchived?: boolean;
}

export interface EventListInput {
  limit: number;
  page?: string;
  order?: 'asc' | 'desc';
  afterSeq?: number;
  types?: string[];
}

export interface StreamOptions {
  /** Where to start: after this sequence number (0: the whole log); absent: only what happens from now. */
  afterSeq?: number;
  /** Admit extension events (chunks) besides the spec union. */
  includeChunks?: boolean;
  /** `event_deltas[]`: which event types to preview as event_start / event_delta. */
  deltas?: ReadonlySet<string>;
  /** End after the first session.status_idle (POST /messages). */
  untilIdle?: boolean;
  /** Only the events (and previews) this admits: a thread's stream. */
  only?: (event: Record<string, unknown>) => boolean;
  signal: AbortSignal;
}

export type StreamItem = { kind: 'event'; seq: number; event: Record<string, unknown> } | { kind: 'ping'; seq: number };

export interface SessionServiceOptions {
  /** Seconds between heartbeats on an idle stream (default 15). */
  heartbeatMs?: number;
  /** Previews kept for a stream that does not read (default 1000); more are dropped. */
  maxQueuedPreviews?: number;
  /** Where outcomes' file rubrics are read (the files service); without it only text rubrics are taken. */
  rubricFiles?: RubricFiles;
}

const usageZero = (): Record<string, unknown> => ({
  input_tokens: 0,
  output_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
  server_tool_use: { web_fetch_requests: 0, web_search_requests: 0 },
});

const TITLE_MAX = 512;
const MAX_EVENTS_PER_POST = 100;
const MAX_EVENTS_PAGE = 1000;
/** Records a stream holds from notices before it falls back to reading the store (a slow reader). */
const MAX_HANDED_RECORDS = 1000;

const title = (t: string | null | undefined): string | null => {
  if (t == null) return null;
  if (t.length > TITLE_MAX) throw badRequest(`title is longer than ${TITLE_MAX} characters`);
  return t;
};

/**
 * Sessions (issue 14): an agent running in an environment, as a log of events. Sessions are
 * private to the account that made them (another account's session is "not found"). Sending
 * a user event wakes the session (idle → running); the runtime's workers take it from there.
 */
export class SessionService {
  private readonly heartbeatMs: number;
  private readonly maxQueuedPreviews: number;
  private readonly rubricFiles: RubricFiles | undefined;
  /** Non-spec agent forms `{type, …}` (issue 19), by type: each resolves to a managed agent of the caller. */
  private readonly agentForms = new Map<string, AgentRefResolver>();

  constructor(
    private readonly deps: ManagedDeps,
    private readonly agents: AgentService,
    readonly log: SessionLog,
    opts: SessionServiceOptions = {},
    /** The work queue of self-hosted environments: their sessions get a work item when made and when woken. */
    private readonly work?: EnvironmentWorkService,
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.maxQueuedPreviews = opts.maxQueuedPreviews ?? 1000;
    this.rubricFiles = opts.rubricFiles;
  }

  /** Plugs in an agent form `{type: <type>, …}` of `POST /v1/sessions` beside the spec's (package, agentspace, …). */
  resolveAgentsOfType(type: string, resolver: AgentRefResolver): void {
    if (type === 'agent' || this.agentForms.has(type)) throw new Error(`agent form '${type}' is taken`);
    this.agentForms.set(type, resolver);
  }

  view(s: SessionRecord, now = this.log.now()): SessionView {
    const d = s.data;
    const runningSince = typeof d.running_since === 'string' ? Date.parse(d.running_since) : undefined;
    const activeMs = Number(d.active_ms ?? 0) + (runningSince !== undefined && (s.status === 'running' || s.status === 'rescheduling') ? Math.max(0, Date.parse(now) - runningSince) : 0);
    const activeSeconds = Math.round(activeMs / 100) / 10;
    return {
      type: 'session',
      id: s.id,
      status: s.status,
      title: s.title,
      agent: d.agent as Record<string, unknown>,
      environment_id: s.environmentId,
      metadata: (d.metadata as Metadata) ?? {},
      vault_ids: (d.vault_ids as string[]) ?? [],
      resources: (d.resources as Array<Record<string, unknown>>) ?? [],
      outcome_evaluations: outcomeEvaluations(s),
      budget: (d.budget as Record<string, unknown> | null) ?? null,
      usage: { ...((d.usage as Record<string, unknown>) ?? usageZero()), active_seconds: activeSeconds },
      stats: { active_seconds: activeSeconds, duration_seconds: Math.round((Date.parse(now) - Date.parse(s.createdAt)) / 100) / 10 },
      created_at: s.createdAt,
      updated_at: s.updatedAt,
      archived_at: s.archivedAt,
    };
  }

  async create(ctx: RequestContext, input: SessionCreateInput): Promise<SessionView> {
    this.noEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    const { id: agentId, version, source, counted, maxStepsPerTurn } = await this.agentRef(ctx, input.agent);
    const agent = await this.agents.get(ctx, agentId, version).catch(() => {
      throw badRequest(`agent: agent ${agentId}${version !== undefined ? ` version ${version}` : ''} not found`);
    });
    if (agent.archivedAt) throw badRequest(`agent: agent ${agentId} is archived`);
    await ownedObject(this.deps.storage, 'agent', agentId, p).catch(() => {
      throw badRequest(`agent: agent ${agentId} not found`);
    });
    const environmentId = input.environment_id ?? agent.config.environment_id;
    if (!environmentId) throw badRequest("missing required field 'environment_id' (the agent names no environment either)");
    const env = await ownedObject(this.deps.storage, 'environment', environmentId, p).catch(() => undefined);
    if (!env) throw badRequest(`environment_id: environment ${environmentId} not found`);
    if (env.archivedAt) throw badRequest(`environment_id: environment ${environmentId} is archived`);
    const vaultIds = await this.vaults(p, input.vault_ids ?? []);
    const checked = await checkResources(this.deps.storage, p.account.id, input.resources ?? [], this.log.now());
    const resources = checked.map((c) => c.resource);
    const budget = input.budget == null ? null : checkBudget(input.budget);
    if (budget) await this.budgetable(p.account.id, agent.config.model.id);
    const initial = await resolveRubricFiles(
      this.rubricFiles,
      ctx,
      (input.initial_events ?? []).map((e, i) => {
        const ev = clientEvent(e, i);
        if (ev.type !== 'user.message' && ev.type !== 'user.define_outcome') throw badRequest(`initial_events[${i}].type must be user.message or user.define_outcome`);
        return ev;
      }),
      'initial_events',
    );
    const now = this.log.now();
    const snapshot = {
      type: 'agent',
      id: agent.id,
      version: agent.version,
      name: agent.config.name,
      description: agent.config.description,
      model: agent.config.model,
      system: agent.config.system,
      tools: agent.config.tools,
      mcp_servers: agent.config.mcp_servers,
      skills: agent.config.skills,
      multiagent: agent.config.multiagent,
      execution_identity: agent.config.execution_identity,
      ...(source ? { source } : {}),
    };
    const s = await this.deps.storage.transaction(async (tx) => {
      const created = await tx.sessions.insert({
        id: newManagedId('sesn'),
        accountId: p.account.id,
        agentId: agent.id,
        agentVersion: agent.version,
        environmentId,
        status: 'idle',
        title: title(input.title),
        data: {
          agent: snapshot,
          environment: env.data.config ?? {},
          metadata: newMetadata(input.metadata ?? undefined),
          vault_ids: vaultIds,
          resources,
          budget,
          usage: usageZero(),
          active_ms: 0,
          ...(maxStepsPerTurn !== undefined ? { max_steps_per_turn: maxStepsPerTurn } : {}),
        },
        archivedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await this.deps.audit.record(tx.audit, ctx, 'managed.session.create', created.id, { agent: agent.id, version: agent.version });
      await counted?.(tx);
      await this.work?.ensureQueued(tx, created);
      return created;
    });
    await keepResourceTokens(this.deps, p.account.name, s.id, checked);
    if (initial.length === 0) return this.view(s);
    const { session } = await this.log.append(s.id, async (locked, tx) => this.wakeAndQueue(locked, tx, initial));
    return this.view(session);
  }

  async get(ctx: RequestContext, id: string): Promise<SessionView> {
    return this.view(await this.readable(ctx, id));
  }

  async list(ctx: RequestContext, q: SessionListInput): Promise<Paged<SessionView> & { prevPage: string | null }> {
    this.noEnvironmentKey(ctx);
    const p = reader(this.deps, ctx);
    const statuses = q.statuses?.length ? q.statuses : undefined;
    for (const st of statuses ?? []) if (!(SESSION_STATUSES as readonly string[]).includes(st)) throw badRequest(`status '${st.slice(0, 40)}' is not one of ${SESSION_STATUSES.join(', ')}`);
    const c = q.createdAt ?? {};
    const order = q.order ?? 'desc';
    const rows = await this.deps.storage.sessions.list({
      accountId: p.account.id,
      agentId: q.agentId,
      agentVersion: q.agentVersion,
      statuses: statuses as SessionStatus[] | undefined,
      createdAfter: c.gte ? { at: c.gte, inclusive: true } : c.gt ? { at: c.gt, inclusive: false } : undefined,
      createdBefore: c.lte ? { at: c.lte, inclusive: true } : c.lt ? { at: c.lt, inclusive: false } : undefined,
      includeArchived: q.includeArchived ?? false,
      order,
      afterSeq: decodePageToken(q.page),
      limit: q.limit + 1,
    });
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const now = this.log.now();
    return { rows: page.map((r) => this.view(r, now)), nextPage: more ? encodePageToken(page[page.length - 1].seq) : null, prevPage: null };
  }

  async update(ctx: RequestContext, id: string, input: SessionUpdateInput): Promise<SessionView> {
    this.noEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    if (input.agent !== undefined) throw badRequest('agent cannot be changed on a session here; start a new session with the agent version you want');
    const vaultIds = input.vault_ids == null ? undefined : await this.vaults(p, input.vault_ids);
    const budget = input.budget == null ? input.budget : checkBudget(input.budget);
    if (budget) {
      const s = await this.deps.storage.sessions.find(id);
      const model = ((s?.data.agent as Record<string, unknown> | undefined)?.model as Record<string, unknown> | undefined)?.id;
      if (s && s.accountId === p.account.id) await this.budgetable(p.account.id, typeof model === 'string' ? model : '');
    }
    const { session } = await this.log.append(id, (s) => {
      this.owned(s, p.account.id, id);
      if (s.archivedAt) throw badRequest(`Session ${id} is archived and cannot be changed`);
      if (input.budget !== undefined && s.status === 'terminated') throw badRequest(`Session ${id} is terminated: its budget cannot change`);
      if (budget) {
        // The SDK's rules: a budget is set at creation only (and a removed one is gone), and a new one must be above what was spent.
        if (s.data.budget == null) throw budgetError('budget_create_only', 'A budget can only be set when a session is created; this session has none (or had it removed)');
        const spent = Number(listCost(Number(s.data.list_cost_micro ?? 0)).amount);
        if (Number(budget.max_list_cost.amount) <= spent) throw budgetError('budget_not_raised', `max_list_cost must be above the ${spent} cents this session has spent`);
      }
      const data = {
        ...s.data,
        metadata: patchMetadata((s.data.metadata as Metadata) ?? {}, input.metadata),
        ...(vaultIds ? { vault_ids: vaultIds } : {}),
        ...(input.budget !== undefined ? { budget } : {}),
      };
      const nextTitle = input.title === undefined ? s.title : title(input.title);
      const ev = this.log.stamp('session.updated', { title: nextTitle, metadata: data.metadata, ...(input.budget !== undefined ? { budget } : {}) }, newEventId());
      return { events: [ev], patch: { title: nextTitle, data } };
    });
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.update', id, {});
    return this.view(session);
  }

  async archive(ctx: RequestContext, id: string): Promise<SessionView> {
    this.noEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    const { session } = await this.log.append(id, (s) => {
      this.owned(s, p.account.id, id);
      if (s.archivedAt) return { events: [] };
      this.refuseWhileRunning(s, 'archived');
      return { events: [], patch: { archivedAt: this.log.now() } };
    });
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.archive', id, {});
    return this.view(session);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    this.noEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    await this.deps.storage.transaction(async (tx) => {
      const s = await tx.sessions.lock(id);
      this.owned(s, p.account.id, id);
      this.refuseWhileRunning(s!, 'deleted');
      await tx.sessions.delete(id);
      await this.work?.stopForSession(tx, id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.session.delete', id, {});
    });
    await forgetResourceTokens(this.deps, p.account.name, id);
    this.log.bus.publish({ kind: 'appended', sessionId: id, seq: 0, status: 'deleted' });
  }

  /** POST /events: checks every event, then appends them in order; a user event wakes an idle session. */
  async send(ctx: RequestContext, id: string, raw: unknown[]): Promise<SessionEvent[]> {
    const p = writer(this.deps, ctx);
    if (raw.length === 0) throw badRequest('events must not be empty');
    if (raw.length > MAX_EVENTS_PER_POST) throw badRequest(`at most ${MAX_EVENTS_PER_POST} events may be sent at once`);
    const events = await resolveRubricFiles(
      this.rubricFiles,
      ctx,
      raw.map((e, i) => clientEvent(e, i)),
      'events',
    );
    const { records } = await this.log.append(id, async (s, tx) => {
      this.owned(s, p.account.id, id, ctx);
      if (s.archivedAt) throw badRequest(`Session ${id} is archived and takes no more events`);
      if (s.status === 'terminated') throw badRequest(`Session ${id} is terminated and takes no more events`);
      const targeted = await checkThreadTargets(tx, s, events, this.log.now());
      await this.checkToolAnswers(tx, s, targeted);
      return this.wakeAndQueue(s, tx, targeted);
    });
    const sentIds = new Set(events.map((e) => e.id));
    return records.filter((r) => sentIds.has(r.id)).map((r) => r.event as SessionEvent);
  }

  /** POST /cancel: a user.interrupt. */
  async cancel(ctx: RequestContext, id: string): Promise<SessionView> {
    await this.send(ctx, id, [{ type: 'user.interrupt' }]);
    return this.get(ctx, id);
  }

  async events(ctx: RequestContext, id: string, q: EventListInput): Promise<Paged<Record<string, unknown>>> {
    const s = await this.readable(ctx, id);
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_EVENTS_PAGE) throw badRequest(`limit must be a whole number from 1 to ${MAX_EVENTS_PAGE}`);
    const order = q.order ?? 'asc';
    const position = decodePageToken(q.page) ?? (order === 'asc' ? q.afterSeq : undefined);
    const rows = await this.deps.storage.sessions.listEvents(s.id, {
      order,
      afterSeq: order === 'asc' ? position : undefined,
      beforeSeq: order === 'desc' ? position : undefined,
      types: q.types?.length ? q.types : undefined,
      limit: q.limit + 1,
    });
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return { rows: page.map((r) => r.event), nextPage: more ? encodePageToken(page[page.length - 1].seq) : null };
  }

  /** The whole log (GET /log), oldest first. */
  async fullLog(ctx: RequestContext, id: string): Promise<Array<Record<string, unknown>>> {
    const s = await this.readable(ctx, id);
    return (await this.allEvents(s.id)).map((r) => r.event);
  }

  async allEvents(sessionId: string, afterSeq = 0): Promise<SessionEventRecord[]> {
    const out: SessionEventRecord[] = [];
    let cursor = afterSeq;
    for (;;) {
      const rows = await this.deps.storage.sessions.listEvents(sessionId, { order: 'asc', afterSeq: cursor, limit: 1000 });
      out.push(...rows);
      if (rows.length < 1000) return out;
      cursor = rows[rows.length - 1].seq;
    }
  }

  /** POST /messages: the user turn is sent after the stream is open, so nothing of the answer is missed. */
  async sendAndStream(ctx: RequestContext, id: string, content: unknown, signal: AbortSignal): Promise<AsyncGenerator<StreamItem>> {
    const s = await this.readable(ctx, id);
    const stream = this.stream(s.id, { afterSeq: s.eventSeq, includeChunks: true, untilIdle: true, signal });
    await this.send(ctx, id, [{ type: 'user.message', content }]);
    return stream;
  }

  /** Opens a stream of a session the caller may read (SSE). */
  async openStream(ctx: RequestContext, id: string, opts: StreamOptions): Promise<AsyncGenerator<StreamItem>> {
    const s = await this.readable(ctx, id);
    return this.stream(s.id, { ...opts, afterSeq: opts.afterSeq ?? s.eventSeq });
  }

  /**
   * A session's events from `afterSeq` on, then live: persisted events are read from the store at
   * the reader's pace (nothing piles up for a slow reader), previews are queued up to a bound and
   * dropped beyond it, and a ping is produced after `heartbeatMs` of silence.
   */
  private async *stream(sessionId: string, opts: StreamOptions & { afterSeq: number }): AsyncGenerator<StreamItem> {
    const previews: Array<{ afterSeq: number; event: Record<string, unknown> }> = [];
    let dirty = true;
    let wake: (() => void) | undefined;
    let gone = false;
    const wanted = (event: Record<string, unknown>): boolean => {
      const t = event.type as string;
      if (t === 'event_start') return opts.deltas?.has((event.event as Record<string, unknown>)?.type as string) ?? false;
      if (t === 'event_delta') return opts.deltas?.has(event.preview_of as string) ?? false;
      return opts.includeChunks === true;
    };
    // Records this process's notices carried (committed already): yielded without a read of the
    // store when they follow on from the cursor. Bounded: past it, a slow reader reads the store.
    let handed: SessionEventRecord[] = [];
    const unsubscribe = this.log.bus.subscribe((n: SessionNotice) => {
      if (n.sessionId !== sessionId) return;
      if (n.kind === 'appended') {
        if (n.status === 'deleted') gone = true;
        if (n.records && handed.length + n.records.length <= MAX_HANDED_RECORDS) handed.push(...n.records);
        else {
          dirty = true;
          handed = [];
        }
      } else if (wanted(n.event) && previews.length < this.maxQueuedPreviews) previews.push({ afterSeq: n.afterSeq, event: n.event });
      wake?.();
    });
    const onAbort = () => wake?.();
    opts.signal.addEventListener('abort', onAbort);
    let cursor = opts.afterSeq;
    // What this stream shows: the spec's event types (chunks only when asked), of its thread when it has one.
    const admits = (r: SessionEventRecord): boolean => (SPEC_EVENT_TYPES.has(r.type) || opts.includeChunks === true) && (!opts.only || opts.only(r.event));
    try {
      while (!opts.signal.aborted) {
        const justRead = dirty;
        if (dirty) {
          dirty = false;
          for (;;) {
            const rows = await this.deps.storage.sessions.listEvents(sessionId, { order: 'asc', afterSeq: cursor, limit: 200 });
            for (const r of rows) {
              cursor = r.seq;
              if (!admits(r)) continue;
              yield { kind: 'event', seq: r.seq, event: r.event };
              // A turn ends idle, or with the session terminated (an unrecoverable error).
              if (opts.untilIdle && (r.type === 'session.status_idle' || r.type === 'session.status_terminated')) return;
            }
            if (rows.length < 200) break;
          }
        }
        while (handed.length > 0) {
          const r = handed[0];
          if (r.seq <= cursor) {
            handed.shift();
            continue;
          }
          if (r.seq !== cursor + 1) {
            // A gap (appends this process did not see): the store has them.
            dirty = true;
            handed = [];
            break;
          }
          handed.shift();
          cursor = r.seq;
          if (!admits(r)) continue;
          yield { kind: 'event', seq: r.seq, event: r.event };
          if (opts.untilIdle && (r.type === 'session.status_idle' || r.type === 'session.status_terminated')) return;
        }
        while (previews.length > 0 && previews[0].afterSeq <= cursor) {
          const p = previews.shift()!;
          if (p.afterSeq === cursor && (!opts.only || opts.only(p.event))) {
            const { preview_of: _omit, ...event } = p.event;
            yield { kind: 'event', seq: cursor, event };
          }
        }
        if (gone) return;
        if (dirty || handed.length > 0 || (previews.length > 0 && previews[0].afterSeq <= cursor)) continue;
        if (previews.length > 0) {
          // A preview of events this reader has not read yet: read them first; if they are not
          // there after a read, the preview cannot be placed and is dropped.
          if (justRead) previews.shift();
          else dirty = true;
          continue;
        }
        const pinged = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(true), this.heartbeatMs);
          wake = () => {
            clearTimeout(t);
            resolve(false);
          };
        });
        wake = undefined;
        if (pinged && !opts.signal.aborted) {
          yield { kind: 'ping', seq: cursor };
          // A notice can be missed (a process without a shared bus wrote): look again on every beat.
          dirty = true;
        }
      }
    } finally {
      unsubscribe();
      opts.signal.removeEventListener('abort', onAbort);
    }
  }

  /** wake(), and a work item for a self-hosted environment's worker when the session starts working. */
  private async wakeAndQueue(s: SessionRecord, tx: StorageRepos, events: SessionEvent[]): Promise<ReturnType<SessionService['wake']>> {
    const plan = acceptOutcomes(s, this.wake(s, events));
    if (plan.patch?.status === 'running') await this.work?.ensureQueued(tx, s);
    return plan;
  }

  /** Events to append for client events: queued, and idle → running when a turn starts. */
  private wake(s: SessionRecord, events: SessionEvent[]): { events: SessionEvent[]; patch?: { status: SessionStatus; data: Record<string, unknown> } } {
    // An outcome is a task: the agent starts on it at once (no user.message needed).
    const startsTurn = events.some((e) => e.type !== 'user.interrupt');
    if (s.status !== 'idle' || !startsTurn) {
      // An interrupt of an idle session has nothing to stop: it is recorded as processed.
      const now = this.log.now();
      return { events: events.map((e) => (s.status === 'idle' && e.type === 'user.interrupt' ? { ...e, processed_at: now } : e)) };
    }
    const now = this.log.now();
    return {
      events: [...events, this.log.stamp('session.status_running', {}, newEventId())],
      patch: { status: 'running', data: { ...s.data, running_since: now } },
    };
  }

  /** Tool results and confirmations must answer a tool call of this session that is still waiting. */
  private async checkToolAnswers(tx: StorageRepos, s: SessionRecord, events: SessionEvent[]): Promise<void> {
    const seen = new Set<string>();
    for (const [i, e] of events.entries()) {
      const target = e.type === 'user.tool_confirmation' ? (e.tool_use_id as string) : toolResultTarget(e);
      if (target === undefined) continue;
      const field = e.type === 'user.custom_tool_result' ? 'custom_tool_use_id' : 'tool_use_id';
      const use = await tx.sessions.findEvent(s.id, target);
      const expected = e.type === 'user.custom_tool_result' ? ['agent.custom_tool_use'] : e.type === 'user.tool_confirmation' ? ['agent.tool_use', 'agent.mcp_tool_use'] : ['agent.tool_use'];
      if (!use || !TOOL_USE_TYPES.has(use.type) || !expected.includes(use.type)) {
        throw badRequest(`events[${i}].${field}: ${target.slice(0, 100)} is not a ${expected.join(' or ')} event of session ${s.id}`);
      }
      const key = `${e.type}:${target}`;
      if (seen.has(key)) throw badRequest(`events[${i}].${field}: ${target} is answered twice in this request`);
      seen.add(key);
      const later = await tx.sessions.listEvents(s.id, {
        order: 'asc',
        afterSeq: use.seq,
        types: e.type === 'user.tool_confirmation' ? ['user.tool_confirmation'] : ['agent.tool_result', 'user.tool_result', 'user.custom_tool_result'],
        limit: 1000,
      });
      const done = later.some((l) => (e.type === 'user.tool_confirmation' ? l.event.tool_use_id === target : toolResultTarget(l.event) === target));
      if (done) throw conflict(`events[${i}].${field}: tool call ${target} has already been answered`);
      if (e.type === 'user.tool_confirmation' && (use.event.evaluated_permission as string | undefined) !== 'ask') {
        throw badRequest(`events[${i}].tool_use_id: tool call ${target} does not wait for a confirmation`);
      }
    }
  }

  /** The agent a create names: an id, `{type: 'agent', id, version}`, or a plugged-in form (resolveAgentsOfType). */
  private async agentRef(ctx: RequestContext, agent: unknown): Promise<AgentRefResolution> {
    if (typeof agent === 'string' && agent !== '') return { id: agent };
    const form = isPlainObject(agent) && typeof agent.type === 'string' ? this.agentForms.get(agent.type) : undefined;
    if (form) return form(ctx, agent as Record<string, unknown>);
    if (isPlainObject(agent) && typeof agent.id === 'string' && agent.id !== '') {
      if (agent.type !== undefined && agent.type !== 'agent') throw badRequest(`agent.type must be one of ${['agent', ...this.agentForms.keys()].map((t) => `'${t}'`).join(', ')}`);
      if (agent.version !== undefined && agent.version !== null && (!Number.isInteger(agent.version) || (agent.version as number) < 1)) throw badRequest('agent.version must be a whole number ≥ 1');
      return { id: agent.id, version: (agent.version as number | null | undefined) ?? undefined };
    }
    throw badRequest("agent is required: an agent id, or {type: 'agent', id, version}");
  }

  private async vaults(p: { account: { id: number } }, ids: string[]): Promise<string[]> {
    for (const v of ids) {
      const o = await this.deps.storage.managed.find(v);
      if (!o || o.kind !== 'vault' || o.accountId !== p.account.id) throw badRequest(`vault_ids: vault ${v.slice(0, 100)} not found`);
    }
    return [...new Set(ids)];
  }

  /** A budget needs the list price of the agent's model: its model card must carry one. */
  private async budgetable(accountId: number, modelId: string): Promise<void> {
    const card = await this.deps.storage.managed.findByName('model_card', accountId, modelId);
    if (!card || !card.data.list_price) {
      throw budgetError('model_not_budgetable', `The agent's model '${modelId.slice(0, 128)}' has no list price: give its model card a list_price (POST /v1/model_cards/{id}) to budget this session`);
    }
  }

  private owned(s: SessionRecord | undefined, accountId: number, id: string, ctx?: RequestContext): void {
    if (!s || s.accountId !== accountId) throw notFound(`Session ${id} not found`);
    // An environment's key reaches the sessions that run in that environment only.
    if (ctx?.environmentKey !== undefined && s.environmentId !== ctx.environmentKey) throw notFound(`Session ${id} not found`);
  }

  private noEnvironmentKey(ctx: RequestContext): void {
    if (ctx.environmentKey !== undefined) throw forbidden("An environment key only reaches its environment's work queue and the sessions running in it");
  }

  private refuseWhileRunning(s: SessionRecord, what: string): void {
    if (s.status === 'running' || s.status === 'rescheduling') {
      throw conflict(`Session ${s.id} is ${s.status} and cannot be ${what}: interrupt it (user.interrupt or POST /v1/sessions/${s.id}/cancel) and wait until it is idle`);
    }
  }

  private readable(ctx: RequestContext, id: string): Promise<SessionRecord> {
    return readableSession(this.deps, ctx, id);
  }
}
