import type { ManagedObjectRecord } from '../managed/managed-storage.js';

export interface IntegrationView {
  type: 'integration';
  id: string;
  provider: string;
  name: string;
  /** active: it has its bot token; pending: an OAuth install not completed yet. */
  status: 'active' | 'pending';
  api_base_url: string;
  /** Where an OAuth install sends the user (null: installed by credentials). */
  oauth_authorize_url: string | null;
  /** The workspace an OAuth install was granted in (Slack team id). */
  workspace: string | null;
  /** Which credentials are stored (names only; values never leave the secret store). */
  credentials: string[];
  /** Where the platform sends events (relative to the server's public URL). */
  events_path: string;
  last_delivery: { ok: boolean; error: string | null; at: string } | null;
  created_at: string;
  updated_at: string;
}

export interface PublicationView {
  type: 'integration_publication';
  id: string;
  integration_id: string;
  agent_id: string;
  environment_id: string | null;
  workspace: string | null;
  channel: string;
  created_at: string;
}

/** An integration as the door shows it (never its credentials' values). */
export const integrationView = (o: ManagedObjectRecord): IntegrationView => {
  const d = o.data;
  return {
    type: 'integration',
    id: o.id,
    provider: String(d.provider),
    name: o.name ?? String(d.provider),
    status: ((d.credentials as string[]) ?? []).includes('bot_token') ? 'active' : 'pending',
    api_base_url: String(d.api_base_url),
    oauth_authorize_url: (d.oauth_authorize_url as string | null) ?? null,
    workspace: (d.workspace as string | null) ?? null,
    credentials: (d.credentials as string[]) ?? [],
    events_path: `/v1/integrations/${o.id}/events`,
    last_delivery: (d.last_delivery as IntegrationView['last_delivery']) ?? null,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
  };
};

/** A publication: an agent bound to a channel of the integration's workspace. */
export const publicationView = (o: ManagedObjectRecord): PublicationView => {
  const d = o.data;
  return {
    type: 'integration_publication',
    id: o.id,
    integration_id: o.parentId ?? '',
    agent_id: String(d.agent_id),
    environment_id: (d.environment_id as string | null) ?? null,
    workspace: (d.workspace as string | null) ?? null,
    channel: String(d.channel),
    created_at: o.createdAt,
  };
};
