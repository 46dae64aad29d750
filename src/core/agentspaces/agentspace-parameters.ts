import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import { isoNow } from '../time.js';
import type { AgentspaceParameterRecord } from './agentspace-repo.js';
import { agentspaceReader, agentspaceTarget, agentspaceWriter, matches, mustFindAgentspace } from './agentspace-common.js';
import { checkParameterDef, type ParameterDef } from './parameters.js';

/** The parameter definitions of an agentspace (`{{ params.key }}` in system prompts): for every agent, or for one. */
export class AgentspaceParameters {
  constructor(private readonly deps: CoreDeps) {}

  async addParameter(ctx: RequestContext, id: string, input: unknown): Promise<ParameterDef> {
    const p = agentspaceWriter(this.deps, ctx);
    const def = checkParameterDef(input);
    return this.deps.storage.transaction(async (tx) => {
      await mustFindAgentspace(tx, p.account, id);
      if (def.assistant_id && !(await tx.agentspaces.findAgent(p.account.id, id, def.assistant_id))) throw notFound(`Agent '${def.assistant_id}' not found in agentspace '${id}'`);
      const now = isoNow(this.deps.clock);
      const assistantId = def.assistant_id ?? '';
      const existing = (await tx.agentspaces.listParameters(p.account.id, id)).find((x) => x.assistantId === assistantId && x.key === def.key);
      const record: AgentspaceParameterRecord = {
        ownerAccountId: p.account.id,
        agentspaceId: id,
        assistantId,
        key: def.key,
        definition: { ...def },
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.agentspaces.putParameter(record);
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.parameter.put', agentspaceTarget(p.account, id), { key: def.key, assistant_id: def.assistant_id ?? null });
      return def;
    });
  }

  async queryParameters(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<ParameterDef[]> {
    const p = agentspaceReader(this.deps, ctx);
    await mustFindAgentspace(this.deps.storage, p.account, id);
    const all = (await this.deps.storage.agentspaces.listParameters(p.account.id, id)).map((r) => r.definition as unknown as ParameterDef);
    return all.filter((d) => matches(d as unknown as Record<string, unknown>, filter));
  }

  async deleteParameters(ctx: RequestContext, id: string, filter: Record<string, unknown>): Promise<ParameterDef[]> {
    const p = agentspaceWriter(this.deps, ctx);
    if (Object.keys(filter).length === 0) throw badRequest('A non-empty filter is required, to prevent deleting every parameter by accident');
    return this.deps.storage.transaction(async (tx) => {
      await mustFindAgentspace(tx, p.account, id);
      const doomed = (await tx.agentspaces.listParameters(p.account.id, id)).filter((r) => matches(r.definition, filter));
      for (const r of doomed) await tx.agentspaces.deleteParameter(p.account.id, id, r.assistantId, r.key);
      if (doomed.length > 0) await this.deps.audit.record(tx.audit, ctx, 'agentspace.parameter.delete', agentspaceTarget(p.account, id), { keys: doomed.map((r) => r.key) });
      return doomed.map((r) => r.definition as unknown as ParameterDef);
    });
  }
}
