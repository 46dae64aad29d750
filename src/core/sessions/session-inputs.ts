import { badRequest } from '../errors.js';
import type { StorageRepos } from '../storage.js';
import { budgetError } from './budget.js';

const TITLE_MAX = 512;

/** A session's title, as sent (null when absent): at most 512 characters. */
export const sessionTitle = (t: string | null | undefined): string | null => {
  if (t == null) return null;
  if (t.length > TITLE_MAX) throw badRequest(`title is longer than ${TITLE_MAX} characters`);
  return t;
};

/** The vaults a session names: each a vault of the account; without repeats. */
export const sessionVaults = async (storage: Pick<StorageRepos, 'managed'>, accountId: number, ids: string[]): Promise<string[]> => {
  for (const v of ids) {
    const o = await storage.managed.find(v);
    if (!o || o.kind !== 'vault' || o.accountId !== accountId) throw badRequest(`vault_ids: vault ${v.slice(0, 100)} not found`);
  }
  return [...new Set(ids)];
};

/** A budget needs the list price of the agent's model: its model card must carry one. */
export const requireBudgetable = async (storage: Pick<StorageRepos, 'managed'>, accountId: number, modelId: string): Promise<void> => {
  const card = await storage.managed.findByName('model_card', accountId, modelId);
  if (!card || !card.data.list_price) {
    throw budgetError('model_not_budgetable', `The agent's model '${modelId.slice(0, 128)}' has no list price: give its model card a list_price (POST /v1/model_cards/{id}) to budget this session`);
  }
};
