import { isDeepStrictEqual } from 'node:util';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { Principal, RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { notFound } from '../errors.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { StorageRepos } from '../storage.js';
import type { AgentspaceRecord, AgentspaceSecretRecord } from './agentspace-repo.js';
import { secretRefsIn } from './assistant-config.js';
import { migrateSpec } from './migrations.js';

/**
 * What the agentspace services (the agentspaces themselves, their agents, secrets and parameters)
 * share: who may read and change them, finding one, naming it in the audit log, and where secret
 * definitions' values live.
 */

export const AGENTSPACE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_AGENTSPACE = 'default';

/** A problem with one agent or one secret, as validate and inspect report it. */
export interface GenericError {
  id: string;
  message: string;
  details: string[];
}

export const agentspaceReader = (deps: CoreDeps, ctx: RequestContext): Principal => deps.policy.requirePermission(ctx, 'read');

export const agentspaceWriter = (deps: CoreDeps, ctx: RequestContext): Principal => {
  deps.policy.requireWritable();
  return deps.policy.requirePermission(ctx, 'publish');
};

export const mustFindAgentspace = async (repos: StorageRepos, owner: AccountRecord, id: string): Promise<AgentspaceRecord> => {
  const space = AGENTSPACE_ID.test(id) ? await repos.agentspaces.find(owner.id, id) : undefined;
  if (!space) throw notFound(`Agentspace '${id.slice(0, 80)}' not found`);
  return space;
};

/** How the audit log names an agentspace (or one of its agents). */
export const agentspaceTarget = (owner: AccountRecord, id: string, assistantId?: string): string => `agentspace:${owner.name}/${id}${assistantId ? `/${assistantId}` : ''}`;

/** Every secret definition that applies in the agentspace: its local and shared ones, then the owner's global ones. */
export const secretsOf = async (repos: StorageRepos, owner: AccountRecord, id: string): Promise<AgentspaceSecretRecord[]> => [
  ...(await repos.agentspaces.listSecrets(owner.id, id)),
  ...(await repos.agentspaces.listSecrets(owner.id, '')),
];

/** Where a definition's value lives in the secret store. */
export const secretNamespace = (s: Pick<AgentspaceSecretRecord, 'scope' | 'agentspaceId' | 'assistantId'>): string => {
  if (s.scope === 'global') return 'agentspaces/_global';
  if (s.scope === 'shared') return `agentspaces/${s.agentspaceId}`;
  return `agentspaces/${s.agentspaceId}/agents/${s.assistantId}`;
};

/** The definition an agent's reference to `key` resolves to: local, then shared, then global. */
export const secretDefinitionFor = async (repos: StorageRepos, owner: AccountRecord, id: string, assistantId: string, key: string): Promise<AgentspaceSecretRecord | undefined> => {
  const here = await repos.agentspaces.listSecrets(owner.id, id);
  return (
    here.find((s) => s.scope === 'local' && s.assistantId === assistantId && s.key === key) ??
    here.find((s) => s.scope === 'shared' && s.key === key) ??
    (await repos.agentspaces.listSecrets(owner.id, '')).find((s) => s.key === key)
  );
};

/**
 * Removes deleted definitions' values from the backend, after the metadata commit (a backend
 * may share the database). A read-only backend (environment) keeps its own.
 */
export const dropSecretValues = async (secrets: SecretService, owner: AccountRecord, doomed: AgentspaceSecretRecord[]): Promise<void> => {
  if (secrets.backend === 'env') return;
  for (const s of doomed) await secrets.delete(owner.name, secretNamespace(s), s.key);
};

/** Each filter field equals the item's field (or, for a list field, is one of its items). */
export const matches = (item: Record<string, unknown>, filter: Record<string, unknown>): boolean =>
  Object.entries(filter).every(([k, v]) => {
    const have = item[k];
    if (Array.isArray(have) && !Array.isArray(v)) return have.some((x) => isDeepStrictEqual(x, v));
    return isDeepStrictEqual(have ?? null, v ?? null);
  });

/** Local and shared definitions no agent references (a local one counts only for its own agent). */
export const unusedSecrets = (secrets: AgentspaceSecretRecord[], specs: Map<string, Record<string, unknown>>): AgentspaceSecretRecord[] => {
  const refs = new Map([...specs].map(([aid, spec]) => [aid, new Set(secretRefsIn(migrateSpec(aid, spec).spec))]));
  return secrets.filter((s) => {
    if (s.scope === 'local') return !(refs.get(s.assistantId)?.has(s.key) ?? false);
    return ![...refs.values()].some((r) => r.has(s.key));
  });
};
