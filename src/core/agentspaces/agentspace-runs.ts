import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { AgentryError, badRequest } from '../errors.js';
import type { AgentService } from '../managed/agents/agent-service.js';
import type { AgentRefResolution } from '../sessions/agent-refs.js';
import { newManagedId } from '../managed/ids.js';
import type { ModelCardService } from '../managed/model-cards/model-card-service.js';
import { isoNow } from '../time.js';
import type { AgentspaceAgents } from './agentspace-agents.js';
import { AGENTSPACE_ID } from './agentspace-common.js';
import { ASSISTANT_ID } from './assistant-config.js';
import { runnableAssistant, type RunnableAssistant } from './runnable.js';
import { newManagedObject } from '../managed/new-managed-object.js';

const ignoreConflict = (e: unknown): void => {
  if (!(e instanceof AgentryError && e.status === 409)) throw e;
};

/**
 * Runs an agentspace agent as a session (issue 19): `{type: "agentspace", agentspace_id,
 * assistant_id}` becomes a managed agent of the caller and its connector a model card of the
 * caller. The first run creates both; a record (a managed object `agentspace_run` named
 * `<agentspace>/<assistant>`) keeps the agent, so later runs share it, and a changed config
 * makes a new version of the same agent (an unchanged one makes none). Runs are serialised per
 * agent in this process; across processes the record's unique name decides the first run's agent.
 */
export class AgentspaceRuns {
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly agentspaceAgents: AgentspaceAgents,
    private readonly agents: AgentService,
    private readonly modelCards: ModelCardService,
  ) {}

  /** The managed agent id and version an `{type: "agentspace"}` session agent runs. */
  async resolve(ctx: RequestContext, ref: Record<string, unknown>): Promise<AgentRefResolution> {
    const { agentspace_id: id, assistant_id: aid } = ref;
    if (typeof id !== 'string' || !AGENTSPACE_ID.test(id)) throw badRequest('agent.agentspace_id must be an agentspace id');
    if (typeof aid !== 'string' || !ASSISTANT_ID.test(aid)) throw badRequest('agent.assistant_id must be an assistant id');
    const extra = Object.keys(ref).filter((k) => !['type', 'agentspace_id', 'assistant_id'].includes(k));
    if (extra.length > 0) throw badRequest(`agent: unknown field '${extra[0]}' for an agentspace agent`);
    const spec = await this.agentspaceAgents.resolveForRun(ctx, id, aid);
    const run = runnableAssistant(id, aid, spec);
    const p = ctx.principal!;
    const name = `${id}/${aid}`;
    const agent = await this.oneAtATime(`${p.account.id}:${name}`, () => this.agentFor(ctx, name, run));
    return { ...agent, source: { type: 'agentspace', agentspace_id: id, assistant_id: aid }, maxStepsPerTurn: run.loop.maxStepsPerTurn };
  }

  /** Runs of one agentspace agent by one account are made one after the other (in this process), so a burst of first runs makes one agent. */
  private async oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const next = (this.running.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.running.set(key, next);
    try {
      return await next;
    } finally {
      if (this.running.get(key) === next) this.running.delete(key);
    }
  }

  private async agentFor(ctx: RequestContext, name: string, run: RunnableAssistant): Promise<{ id: string; version: number }> {
    const p = ctx.principal!;
    await this.ensureCard(ctx, run.card);
    const link = await this.deps.storage.managed.findByName('agentspace_run', p.account.id, name);
    const linked = typeof link?.data.agent_id === 'string' ? await this.agents.get(ctx, link.data.agent_id).catch(() => undefined) : undefined;
    if (link && linked && !linked.archivedAt) {
      const v = await this.agents.update(ctx, linked.id, run.agent);
      return { id: v.id, version: v.version };
    }
    const created = await this.agents.create(ctx, run.agent);
    const now = isoNow(this.deps.clock);
    if (link) await this.deps.storage.managed.update(link.id, { data: { agent_id: created.id }, updatedAt: now });
    else {
      // Insert-or-read on the record's unique name (migration 0029): when another process's first
      // run recorded its agent meanwhile, this run's agent is archived and that one runs.
      const made = await this.deps.storage.managed.insertUnlessNamed(
        newManagedObject(
          {
            id: newManagedId('asrun'),
            kind: 'agentspace_run',
            accountId: p.account.id,
            name,
            data: { agent_id: created.id },
          },
          now,
        ),
      );
      if (!made) {
        await this.agents.archive(ctx, created.id);
        return this.agentFor(ctx, name, run);
      }
    }
    return { id: created.id, version: created.version };
  }

  /** The connector's model card of the caller: made on the first run, rotated (probed again) when the connector changed. */
  private async ensureCard(ctx: RequestContext, card: RunnableAssistant['card']): Promise<void> {
    const accountId = ctx.principal!.account.id;
    const input = { modelId: card.modelId, provider: card.provider, model: card.model, baseUrl: card.baseUrl, customHeaders: card.headers, apiKey: card.apiKey };
    const have = await this.modelCards.endpointFor(accountId, card.modelId);
    // A conflict: another process's first run made the card meanwhile (its key stored before it shows).
    if (!have) return void (await this.modelCards.create(ctx, input).catch((e: unknown) => ignoreConflict(e)));
    const same =
      have.provider === card.provider &&
      have.model === card.model &&
      have.apiKey === card.apiKey &&
      (card.baseUrl === null || have.baseUrl === card.baseUrl.replace(/\/+$/, '')) &&
      JSON.stringify(have.headers) === JSON.stringify(card.headers);
    if (same) return;
    const o = await this.deps.storage.managed.findByName('model_card', accountId, card.modelId);
    if (have.provider !== card.provider) {
      await this.modelCards.delete(ctx, o!.id);
      return void (await this.modelCards.create(ctx, input));
    }
    const { provider: _p, modelId: _m, ...rotate } = input;
    await this.modelCards.rotate(ctx, o!.id, { ...rotate, baseUrl: card.baseUrl ?? undefined });
  }
}
