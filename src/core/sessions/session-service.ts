import type { RequestContext } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import type { AgentService } from '../managed/agents/agent-service.js';
import { newManagedId } from '../managed/ids.js';
import { ownedObject, reader, writer, type ManagedDeps } from '../managed/managed-deps.js';
import { newMetadata, patchMetadata, type Metadata } from '../managed/metadata.js';
import { decodePageToken, encodePageToken, type Paged } from '../managed/page-token.js';
import { clientEvent, newEventId, type SessionEvent } from './events.js';
import type { EnvironmentWorkService } from './environment-work.js';
import type { SessionLog } from './session-log.js';
import { checkResources, forgetResourceTokens, keepResourceTokens, readableSession } from './session-resources.js';
import { budgetError, checkBudget, listCost } from './budget.js';
import { checkThreadTargets } from './threads/thread-targets.js';
import { resolveRubricFiles, type RubricFiles } from './outcomes/rubric-files.js';
import type { SessionEventRecord, SessionRecord, SessionStatus } from './session-store.js';
import { AgentForms, type AgentRefResolver } from './agent-refs.js';
import { refuseEnvironmentKey, refuseWhileRunning, requireOwnedSession } from './session-access.js';
import { requireBudgetable, sessionTitle, sessionVaults } from './session-inputs.js';
import { sessionStream, type SessionStreamDeps, type StreamItem, type StreamOptions } from './session-stream.js';
import { SESSION_STATUSES, sessionView, usageZero, type SessionView } from './session-view.js';
import { wakeAndQueue } from './session-wake.js';
import { checkToolAnswers } from './tool-answers.js';

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

export interface SessionServiceOptions {
  /** Seconds between heartbeats on an idle stream (default 15). */
  heartbeatMs?: number;
  /** Previews kept for a stream that does not read (default 1000); more are dropped. */
  maxQueuedPreviews?: number;
  /** Where outcomes' file rubrics are read (the files service); without it only text rubrics are taken. */
  rubricFiles?: RubricFiles;
}

const MAX_EVENTS_PER_POST = 100;
const MAX_EVENTS_PAGE = 1000;

/**
 * Sessions (issue 14): an agent running in an environment, as a log of events. Sessions are
 * private to the account that made them (another account's session is "not found"). Sending
 * a user event wakes the session (idle → running); the runtime's workers take it from there.
 */
export class SessionService {
  private readonly heartbeatMs: number;
  private readonly maxQueuedPreviews: number;
  private readonly rubricFiles: RubricFiles | undefined;
  /** The agent forms a create takes (issue 19: plugged-in `{type, …}` forms beside the spec's). */
  private readonly agentForms = new AgentForms();

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
    this.agentForms.add(type, resolver);
  }

  view(s: SessionRecord, now = this.log.now()): SessionView {
    return sessionView(s, now);
  }

  async create(ctx: RequestContext, input: SessionCreateInput): Promise<SessionView> {
    refuseEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    const { id: agentId, version, source, counted, maxStepsPerTurn } = await this.agentForms.resolve(ctx, input.agent);
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
    const vaultIds = await sessionVaults(this.deps.storage, p.account.id, input.vault_ids ?? []);
    const checked = await checkResources(this.deps.storage, p.account.id, input.resources ?? [], this.log.now());
    const resources = checked.map((c) => c.resource);
    const budget = input.budget == null ? null : checkBudget(input.budget);
    if (budget) await requireBudgetable(this.deps.storage, p.account.id, agent.config.model.id);
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
        title: sessionTitle(input.title),
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
    const { session } = await this.log.append(s.id, async (locked, tx) => wakeAndQueue(this.log, this.work, locked, tx, initial));
    return this.view(session);
  }

  async get(ctx: RequestContext, id: string): Promise<SessionView> {
    return this.view(await this.readable(ctx, id));
  }

  async list(ctx: RequestContext, q: SessionListInput): Promise<Paged<SessionView> & { prevPage: string | null }> {
    refuseEnvironmentKey(ctx);
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
    refuseEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    if (input.agent !== undefined) throw badRequest('agent cannot be changed on a session here; start a new session with the agent version you want');
    const vaultIds = input.vault_ids == null ? undefined : await sessionVaults(this.deps.storage, p.account.id, input.vault_ids);
    const budget = input.budget == null ? input.budget : checkBudget(input.budget);
    if (budget) {
      const s = await this.deps.storage.sessions.find(id);
      const model = ((s?.data.agent as Record<string, unknown> | undefined)?.model as Record<string, unknown> | undefined)?.id;
      if (s && s.accountId === p.account.id) await requireBudgetable(this.deps.storage, p.account.id, typeof model === 'string' ? model : '');
    }
    const { session } = await this.log.append(id, (s) => {
      requireOwnedSession(s, p.account.id, id);
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
      const nextTitle = input.title === undefined ? s.title : sessionTitle(input.title);
      const ev = this.log.stamp('session.updated', { title: nextTitle, metadata: data.metadata, ...(input.budget !== undefined ? { budget } : {}) }, newEventId());
      return { events: [ev], patch: { title: nextTitle, data } };
    });
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.update', id, {});
    return this.view(session);
  }

  async archive(ctx: RequestContext, id: string): Promise<SessionView> {
    refuseEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    const { session } = await this.log.append(id, (s) => {
      requireOwnedSession(s, p.account.id, id);
      if (s.archivedAt) return { events: [] };
      refuseWhileRunning(s, 'archived');
      return { events: [], patch: { archivedAt: this.log.now() } };
    });
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.session.archive', id, {});
    return this.view(session);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    refuseEnvironmentKey(ctx);
    const p = writer(this.deps, ctx);
    await this.deps.storage.transaction(async (tx) => {
      const s = await tx.sessions.lock(id);
      requireOwnedSession(s, p.account.id, id);
      refuseWhileRunning(s!, 'deleted');
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
      requireOwnedSession(s, p.account.id, id, ctx);
      if (s.archivedAt) throw badRequest(`Session ${id} is archived and takes no more events`);
      if (s.status === 'terminated') throw badRequest(`Session ${id} is terminated and takes no more events`);
      const targeted = await checkThreadTargets(tx, s, events, this.log.now());
      await checkToolAnswers(tx, s, targeted);
      return wakeAndQueue(this.log, this.work, s, tx, targeted);
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
    const stream = sessionStream(this.streamDeps(), s.id, { afterSeq: s.eventSeq, includeChunks: true, untilIdle: true, signal });
    await this.send(ctx, id, [{ type: 'user.message', content }]);
    return stream;
  }

  /** Opens a stream of a session the caller may read (SSE). */
  async openStream(ctx: RequestContext, id: string, opts: StreamOptions): Promise<AsyncGenerator<StreamItem>> {
    const s = await this.readable(ctx, id);
    return sessionStream(this.streamDeps(), s.id, { ...opts, afterSeq: opts.afterSeq ?? s.eventSeq });
  }

  private streamDeps(): SessionStreamDeps {
    return { sessions: this.deps.storage.sessions, bus: this.log.bus, heartbeatMs: this.heartbeatMs, maxQueuedPreviews: this.maxQueuedPreviews };
  }

  private readable(ctx: RequestContext, id: string): Promise<SessionRecord> {
    return readableSession(this.deps, ctx, id);
  }
}
