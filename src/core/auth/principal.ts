import type { AccountRecord } from '../accounts/account-repo.js';
import type { TokenPermission, TokenRecord } from '../tokens/token-repo.js';

/** Who is calling: the account behind a valid token, and that token. */
export interface Principal {
  account: AccountRecord;
  token: TokenRecord;
}

/** Who is calling and from where; every core operation that writes takes one, for checks and audit. */
export interface RequestContext {
  principal: Principal | null;
  ip: string | null;
  /**
   * Set when the caller presented a self-hosted environment's own key (issue 14) instead of a
   * token: the principal is then the environment's owner, and only that environment's work queue
   * and the sessions that run in it may be reached.
   */
  environmentKey?: string;
  /**
   * Set when the request is another registry's upstream lookup (`X-Agentry-Mirror-Via`,
   * core/mirrors/mirror-via.ts): the servers it passed through, in order. Such a lookup asks this
   * server's upstreams only when it has not passed through this server and is under the hop limit.
   */
  mirrorVia?: readonly string[];
}

/**
 * A context acting as `account` itself off the request path (the session runtime, webhook fan-out):
 * its rights, not narrowed by any token. The token exists only here (id -1, never stored, never
 * accepted by a door); `name` says what acts.
 */
export const accountContext = (account: AccountRecord, name: string, at: string): RequestContext => ({
  ip: null,
  principal: {
    account,
    token: {
      id: -1,
      accountId: account.id,
      name,
      hash: '',
      prefix: '',
      permission: 'publish',
      scopes: null,
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      createdAt: at,
      allAccounts: false,
    },
  },
});

export const anonymous = (ip: string | null = null): RequestContext => ({ principal: null, ip });

const LEVEL: Record<Exclude<TokenPermission, 'runtime'>, number> = { read: 0, publish: 1, admin: 2 };

/**
 * True when permission `has` includes permission `needs` (read < publish < admin). `runtime`
 * is outside the ladder: a runtime token permits only `runtime` (resolving secrets and configs),
 * and no other token permits `runtime`.
 */
export const permits = (has: TokenPermission, needs: TokenPermission): boolean => {
  if (has === 'runtime' || needs === 'runtime') return has === needs;
  return LEVEL[has] >= LEVEL[needs];
};
