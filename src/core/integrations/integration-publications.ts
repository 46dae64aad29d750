import type { RequestContext } from '../auth/principal.js';
import { badRequest, notFound } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import { listOwned, ownedObject, readableObject, writer, type ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';
import { newManagedObject } from '../managed/new-managed-object.js';
import type { Paged, PageRequest } from '../managed/page-token.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import { publicationView, type PublicationView } from './integration-views.js';

export interface PublicationCreateInput {
  agentId: string;
  environmentId?: string;
  workspace?: string;
  channel: string;
}

const ID_MAX = 128;

/** The publications of an integration (at most 1000). */
export const integrationPublications = (storage: Pick<StorageRepos, 'managed'>, accountId: number, integrationId: string): Promise<ManagedObjectRecord[]> =>
  storage.managed.list({ kind: 'integration_publication', accountIds: [accountId], parentId: integrationId, archived: 'exclude', limit: 1000 });

/** Publications: an agent (and environment) bound to a channel of an integration's workspace, one per channel. */
export class IntegrationPublications {
  constructor(private readonly deps: ManagedDeps) {}

  async create(ctx: RequestContext, integrationId: string, input: PublicationCreateInput): Promise<PublicationView> {
    const p = writer(this.deps, ctx);
    const integration = await ownedObject(this.deps.storage, 'integration', integrationId, p);
    const channel = input.channel.trim();
    if (!channel || channel.length > ID_MAX) throw badRequest(`channel must be 1 to ${ID_MAX} characters`);
    if (input.workspace !== undefined && (!input.workspace || input.workspace.length > ID_MAX)) throw badRequest(`workspace must be 1 to ${ID_MAX} characters`);
    const agent = await ownedObject(this.deps.storage, 'agent', input.agentId, p).catch(() => undefined);
    if (!agent || agent.archivedAt) throw badRequest(`agent_id: agent ${input.agentId} not found`);
    if (input.environmentId !== undefined) {
      const env = await ownedObject(this.deps.storage, 'environment', input.environmentId, p).catch(() => undefined);
      if (!env || env.archivedAt) throw badRequest(`environment_id: environment ${input.environmentId} not found`);
    } else if (!(agent.data.environment_id as string | undefined)) {
      throw badRequest("missing required field 'environment_id' (the agent names no environment either)");
    }
    const existing = await integrationPublications(this.deps.storage, p.account.id, integration.id);
    if (existing.some((e) => e.data.channel === channel && ((e.data.workspace as string | null) ?? null) === (input.workspace ?? null))) {
      throw badRequest(`channel ${channel} is already published on this integration`);
    }
    const now = isoNow(this.deps.clock);
    const o = await this.deps.storage.managed.insert(
      newManagedObject(
        {
          id: newManagedId('ipub'),
          kind: 'integration_publication',
          accountId: p.account.id,
          parentId: integration.id,
          refId: agent.id,
          data: { agent_id: agent.id, environment_id: input.environmentId ?? null, workspace: input.workspace ?? null, channel },
        },
        now,
      ),
    );
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.integration_publication.create', o.id, { integration: integration.id, agent: agent.id });
    return publicationView(o);
  }

  async list(ctx: RequestContext, integrationId: string, q: PageRequest & { limit: number }): Promise<Paged<PublicationView>> {
    const integration = await readableObject(this.deps, ctx, 'integration', integrationId);
    return listOwned(this.deps, ctx, 'integration_publication', q, { archived: 'exclude', parentId: integration.id }, (o) => publicationView(o));
  }

  async delete(ctx: RequestContext, integrationId: string, publicationId: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const integration = await ownedObject(this.deps.storage, 'integration', integrationId, p);
    const o = await ownedObject(this.deps.storage, 'integration_publication', publicationId, p);
    if (o.parentId !== integration.id) throw notFound(`Publication ${publicationId} not found`);
    await this.deps.storage.managed.delete(o.id);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.integration_publication.delete', o.id, { integration: integration.id });
  }
}
