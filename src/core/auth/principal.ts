import type { AccountRecord, TokenPermission, TokenRecord } from '../storage.js';

/** Who is calling: the account behind a valid token, and that token. */
export interface Principal {
  account: AccountRecord;
  token: TokenRecord;
}

/** Who is calling and from where; every core operation that writes takes one, for checks and audit. */
export interface RequestContext {
  principal: Principal | null;
  ip: string | null;
}

export const anonymous = (ip: string | null = null): RequestContext => ({ principal: null, ip });

const LEVEL: Record<TokenPermission, number> = { read: 0, publish: 1, admin: 2 };

/** True when permission `has` includes permission `needs` (read < publish < admin). */
export const permits = (has: TokenPermission, needs: TokenPermission): boolean => LEVEL[has] >= LEVEL[needs];
