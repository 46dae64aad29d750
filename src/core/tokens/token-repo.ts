/** Storage port of API tokens. */

/** `read` < `publish` < `admin` is a ladder; `runtime` stands apart: it may only resolve secrets and configs. */
export type TokenPermission = 'read' | 'publish' | 'admin' | 'runtime';

export interface TokenRecord {
  id: number;
  accountId: number;
  name: string;
  hash: string;
  prefix: string;
  permission: TokenPermission;
  scopes: string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  /**
   * A `runtime` token that resolves the secrets, keys and agentspaces of every account: made only
   * by an administrator, on purpose. Any other runtime token reads only its own account's.
   */
  allAccounts: boolean;
}

export type NewToken = Omit<TokenRecord, 'id' | 'revokedAt' | 'lastUsedAt'>;

export interface TokenRepo {
  insert(token: NewToken): Promise<TokenRecord>;
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  findById(id: number): Promise<TokenRecord | undefined>;
  listByAccount(accountId: number): Promise<TokenRecord[]>;
  revoke(id: number, at: string): Promise<void>;
  touch(id: number, at: string): Promise<void>;
}
