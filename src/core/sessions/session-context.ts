import { accountContext, type RequestContext } from '../auth/principal.js';
import type { Storage } from '../storage.js';

/**
 * The request context the session runtime acts under for a session's account, off the request
 * path: its skills, files, memory stores and workloads are read (and its read-write memory stores
 * written) through the same services and access rule as the account's own calls. The token exists
 * only here (id -1, never stored, never accepted by a door); undefined when the account is gone.
 */
export const sessionOwnerContext = async (storage: Storage, accountId: number, at: string): Promise<RequestContext | undefined> => {
  const account = await storage.accounts.findById(accountId);
  return account && accountContext(account, 'session-runtime', at);
};
