import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import type { AgentService } from '../managed/agents/agent-service.js';
import { newManagedId } from '../managed/ids.js';
import { ownedObject, reader, writer, type ManagedDeps } from '../managed/managed-deps.js';
import { newMetadata } from '../managed/metadata.js';
import { decodePageToken, encodePageToken, type Paged } from '../managed/page-token.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import type { SessionService } from '../sessions/session-service.js';
import { isoNow } from '../time.js';
import { casesOf, concurrencyOf, FINISHED_TRIAL, trialsDefault, type EvalSpec, type TrialResult, type TrialStatus, type Verifier } from './eval-spec.js';
import { ACTIVE_EVAL_STATUSES, EVAL_STATUSES, type EvalRunRecord, type EvalStatus, type EvalStore } from './eval-store.js';

/** An eval run as every door shows it: progress, per-case results and the aggregate score so far. */
export interface EvalRunView {
  type: 'eval_run';
  id: string;
  /** OMA's name for the id. */
  run_id: string;
  name: string | null;
  status: EvalStatus;
  agent: { type: 'agent'; id: string; version: number };
  environment_id: string;
  metadata: Record<string, string>;
  concurrency: number;
  task_count: number;
  progress: { total: number; finished: number; pending: number; running: number; passed: number; failed: number; errored: number; cancelled: number };
  /** The mean trial score of the finished trials (an error scores 0); null before any finished. */
  score: number | null;
  cases: Array<{
    id: string;
    trials: number;
    verifier: Verifier['type'];
    passed: number;
    /** The mean score of this case's finished trials. */
    score: number | null;
    results: TrialResult[];
  }>;
  error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface EvalCreateInput {
  name?: unknown;
  agent?: unknown;
  agent_id?: unknown;
  environment_id?: unknown;
  cases?: unknown;
  tasks?: unknown;
  trials?: unknown;
  concurrency?: unknown;
  metadata?: Record<string, string | null> | null;
}

export interface EvalListInput {
  limit: number;
  page?: string;
  agentId?: string;
  statuses?: string[];
}

const mean = (xs: number[]): number | null => (xs.length === 0 ? null : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10_000) / 10_000);
const finished = (r: TrialResult): boolean => (FINISHED_TRIAL as readonly string[]).includes(r.status);

/** Every trial of a spec, pending, in case order. */
export const pendingTrials = (spec: EvalSpec): TrialResult[] =>
  spec.cases.flatMap((c) =>
    Array.from({ length: c.trials }, (_, t) => ({
      case_id: c.id,
      trial: t + 1,
      status: 'pending' as TrialStatus,
      session_id: null,
      messages_sent: 0,
      score: null,
      output: null,
      reason: null,
      started_at: null,
      ended_at: null,
    })),
  );

/**
 * Evals (issue 14, point 5): an agent run over a set of cases as real sessions, scored per trial
 * by the case's verifier. Runs are private to the account that started them (another account's
 * run is "not found"); the runner (eval-runner.ts) drives them off the request path.
 */
export class EvalService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly agents: AgentService,
    private readonly sessions: SessionService,
    private readonly store: EvalStore,
    /** Wakes the runners of this process (a new run, or a cancel). */
    private readonly notify: (id: string) => void = () => undefined,
  ) {}

  view(r: EvalRunRecord): EvalRunView {
    const count = (s: TrialStatus) => r.results.filter((x) => x.status === s).length;
    const done = r.results.filter(finished);
    return {
      type: 'eval_run',
      id: r.id,
      run_id: r.id,
      name: r.spec.name,
      status: r.status,
      agent: r.spec.agent,
      environment_id: r.spec.environment_id,
      metadata: r.spec.metadata,
      concurrency: r.spec.concurrency,
      task_count: r.spec.cases.length,
      progress: {
        total: r.results.length,
        finished: done.length,
        pending: count('pending'),
        running: count('running'),
        passed: count('passed'),
        failed: count('failed'),
        errored: count('error'),
        cancelled: count('cancelled'),
      },
      score: mean(done.map((x) => x.score ?? 0)),
      cases: r.spec.cases.map((c) => {
        const results = r.results.filter((x) => x.case_id === c.id);
        return {
          id: c.id,
          trials: c.trials,
          verifier: c.verifier.type,
          passed: results.filter((x) => x.status === 'passed').length,
          score: mean(results.filter(finished).map((x) => x.score ?? 0)),
          results,
        };
      }),
      error: r.error,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      started_at: r.startedAt,
      ended_at: r.endedAt,
    };
  }

  async create(ctx: RequestContext, input: EvalCreateInput): Promise<EvalRunView> {
    const p = writer(this.deps, ctx);
    const ref = this.agentRef(input.agent ?? input.agent_id);
    const agent = await this.agents.get(ctx, ref.id, ref.version).catch(() => {
      throw badRequest(`agent: agent ${ref.id.slice(0, 128)}${ref.version !== undefined ? ` version ${ref.version}` : ''} not found`);
    });
    await ownedObject(this.deps.storage, 'agent', agent.id, p).catch(() => {
      throw badRequest(`agent: agent ${ref.id.slice(0, 128)} not found`);
    });
    if (agent.archivedAt) throw badRequest(`agent: agent ${agent.id} is archived`);
    if (input.environment_id !== undefined && input.environment_id !== null && typeof input.environment_id !== 'string') throw badRequest('environment_id must be a string');
    const environmentId = (input.environment_id as string | null | undefined) ?? agent.config.environment_id;
    if (!environmentId) throw badRequest("missing required field 'environment_id' (the agent names no environment either)");
    const env = await ownedObject(this.deps.storage, 'environment', environmentId, p).catch(() => undefined);
    if (!env) throw badRequest(`environment_id: environment ${environmentId.slice(0, 128)} not found`);
    if (env.archivedAt) throw badRequest(`environment_id: environment ${environmentId} is archived`);
    if (input.name !== undefined && input.name !== null && (typeof input.name !== 'string' || input.name.length > 256)) throw badRequest('name must be a string of at most 256 characters');
    const field = input.cases !== undefined ? 'cases' : 'tasks';
    const spec: EvalSpec = {
      name: (input.name as string | null | undefined) ?? null,
      agent: { type: 'agent', id: agent.id, version: agent.version },
      environment_id: environmentId,
      cases: casesOf(input.cases ?? input.tasks, field, { trials: trialsDefault(input.trials) }),
      concurrency: concurrencyOf(input.concurrency),
      metadata: newMetadata(input.metadata ?? undefined),
    };
    const now = isoNow(this.deps.clock);
    const run = await this.store.insert({
      id: newManagedId('evalrun'),
      accountId: p.account.id,
      tokenId: p.token.id,
      agentId: agent.id,
      status: 'pending',
      spec,
      results: pendingTrials(spec),
      error: null,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      endedAt: null,
    });
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.eval.create', run.id, { agent: agent.id, version: agent.version, cases: spec.cases.length });
    this.notify(run.id);
    return this.view(run);
  }

  async get(ctx: RequestContext, id: string): Promise<EvalRunView> {
    return this.view(await this.readable(ctx, id));
  }

  async list(ctx: RequestContext, q: EvalListInput): Promise<Paged<EvalRunView>> {
    const p = reader(this.deps, ctx);
    for (const s of q.statuses ?? []) if (!(EVAL_STATUSES as readonly string[]).includes(s)) throw badRequest(`status '${s.slice(0, 40)}' is not one of ${EVAL_STATUSES.join(', ')}`);
    const rows = await this.store.list({
      accountId: p.account.id,
      agentId: q.agentId,
      statuses: q.statuses?.length ? (q.statuses as EvalStatus[]) : undefined,
      beforeSeq: decodePageToken(q.page),
      limit: q.limit + 1,
    });
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return { rows: page.map((r) => this.view(r)), nextPage: more ? encodePageToken(page[page.length - 1].seq) : null };
  }

  /**
   * Stops a pending or running eval: trials not finished are marked cancelled and their sessions
   * interrupted. Cancelling an eval that has ended answers it unchanged.
   */
  async cancel(ctx: RequestContext, id: string): Promise<EvalRunView> {
    const p = writer(this.deps, ctx);
    const r = await this.store.find(id);
    if (!r || r.accountId !== p.account.id) throw notFound(`Eval ${id} not found`);
    if (!(ACTIVE_EVAL_STATUSES as readonly string[]).includes(r.status)) return this.view(r);
    const now = isoNow(this.deps.clock);
    const running = r.results.filter((x) => x.status === 'running' && x.session_id);
    const results = r.results.map((x) => (finished(x) ? x : { ...x, status: 'cancelled' as const, reason: 'the eval was cancelled', ended_at: now }));
    if (await this.store.saveIfActive(id, { status: 'cancelled', results, endedAt: now, updatedAt: now })) {
      await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.eval.cancel', id, {});
      for (const x of running) await this.sessions.cancel(ctx, x.session_id!).catch(() => undefined);
      this.notify(id);
    }
    return this.view((await this.store.find(id))!);
  }

  private agentRef(agent: unknown): { id: string; version?: number } {
    if (typeof agent === 'string' && agent !== '' && agent.length <= 128) return { id: agent };
    if (isPlainObject(agent) && typeof agent.id === 'string' && agent.id !== '' && agent.id.length <= 128) {
      if (agent.type !== undefined && agent.type !== 'agent') throw badRequest("agent.type must be 'agent'");
      if (agent.version !== undefined && agent.version !== null && (!Number.isInteger(agent.version) || (agent.version as number) < 1)) throw badRequest('agent.version must be a whole number ≥ 1');
      return { id: agent.id, version: (agent.version as number | null | undefined) ?? undefined };
    }
    throw badRequest("agent is required: an agent id (agent or agent_id), or {type: 'agent', id, version}");
  }

  private async readable(ctx: RequestContext, id: string): Promise<EvalRunRecord> {
    reader(this.deps, ctx);
    const r = await this.store.find(id);
    if (!r || !(await this.deps.policy.canRead(ctx, { ownerAccountId: r.accountId, visibility: 'private' }))) throw notFound(`Eval ${id} not found`);
    return r;
  }
}
