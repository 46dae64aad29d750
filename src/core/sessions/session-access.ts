import type { RequestContext } from '../auth/principal.js';
import { conflict, forbidden, notFound } from '../errors.js';
import type { SessionRecord } from './session-store.js';

/** The session, if it is the account's (and, for an environment's key, runs in that environment): "not found" otherwise. */
export const requireOwnedSession = (s: SessionRecord | undefined, accountId: number, id: string, ctx?: RequestContext): void => {
  if (!s || s.accountId !== accountId) throw notFound(`Session ${id} not found`);
  // An environment's key reaches the sessions that run in that environment only.
  if (ctx?.environmentKey !== undefined && s.environmentId !== ctx.environmentKey) throw notFound(`Session ${id} not found`);
};

/** What an environment's key may not do: make, list, change or delete sessions. */
export const refuseEnvironmentKey = (ctx: RequestContext): void => {
  if (ctx.environmentKey !== undefined) throw forbidden("An environment key only reaches its environment's work queue and the sessions running in it");
};

/** A running session is neither archived nor deleted: it is interrupted first. */
export const refuseWhileRunning = (s: SessionRecord, what: string): void => {
  if (s.status === 'running' || s.status === 'rescheduling') {
    throw conflict(`Session ${s.id} is ${s.status} and cannot be ${what}: interrupt it (user.interrupt or POST /v1/sessions/${s.id}/cancel) and wait until it is idle`);
  }
};
