import type { CoreDeps } from '../core-deps.js';
import { permits, type Principal, type RequestContext } from '../auth/principal.js';
import { displayPrefix, generateTokenSecret, hashTokenSecret, looksLikeToken, sameHash } from '../auth/token-secret.js';
import { badRequest, forbidden, notFound, unauthorized } from '../errors.js';
import { bareScope, scopeProblem } from '../packages/names.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { TokenPermission, TokenRecord } from './token-repo.js';
import { isoNow } from '../time.js';
import { isStoredId } from '../ids.js';

export interface CreateTokenInput {
  name: string;
  permission: TokenPermission;
  scopes?: string[] | null;
  expiresInDays?: number | null;
  /** Runtime tokens only: the account or organisation it resolves for (default: the creator's own). */
  account?: string | null;
  /** Runtime tokens only: resolve every account's secrets, keys and agentspaces (server-wide, explicit). */
  allAccounts?: boolean;
}

export interface CreatedToken {
  secret: string;
  record: TokenRecord;
  /** The name of the account the token belongs to. */
  account: string;
}

/** Only touch `last_used_at` when it is older than this, so reads do not turn into writes. */
const TOUCH_INTERVAL_MS = 60_000;
const MAX_TOKEN_DAYS = 3650;

/** API tokens: issued once, stored as a hash, checked on every request. */
export class TokenService {
  constructor(private readonly deps: CoreDeps) {}

  /** Turns a presented secret into a principal, or throws 401 saying why it was refused. */
  async authenticate(secret: string): Promise<Principal> {
    if (!looksLikeToken(secret)) throw unauthorized('Invalid token');
    const hash = hashTokenSecret(secret);
    const token = await this.deps.storage.tokens.findByHash(hash);
    if (!token || !sameHash(token.hash, hash)) throw unauthorized('Invalid token');
    if (token.revokedAt) throw unauthorized('This token has been revoked');
    const now = this.deps.clock.now();
    if (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime()) {
      throw unauthorized(`This token expired at ${token.expiresAt}`);
    }
    const account = await this.deps.storage.accounts.findById(token.accountId);
    if (!account) throw unauthorized('Invalid token');
    if (!token.lastUsedAt || now.getTime() - Date.parse(token.lastUsedAt) > TOUCH_INTERVAL_MS) {
      token.lastUsedAt = now.toISOString();
      await this.deps.storage.tokens.touch(token.id, token.lastUsedAt);
    }
    return { account, token };
  }

  /**
   * Issues a token for the caller. A token can never mint one with more power or wider scopes than itself.
   * A `runtime` token is made by an administrator for one account or organisation (`account`, default
   * the administrator's own) and belongs to it; `allAccounts` makes the explicit server-wide one.
   */
  async create(ctx: RequestContext, input: CreateTokenInput): Promise<CreatedToken> {
    this.deps.policy.requireWritable();
    const p = this.deps.policy.requireTokenManagement(ctx);
    let owner: AccountRecord = p.account;
    if (input.permission === 'runtime') {
      // A runtime token reads secret values: only an administrator, with an admin token, issues one.
      if (!p.account.isAdmin || p.token.permission !== 'admin') throw forbidden("Only an administrator with an 'admin' token can create a 'runtime' token");
      if (input.allAccounts && input.account) throw badRequest('A runtime token is either for one account (account) or for all accounts (all_accounts), not both');
      if (input.account) {
        const named = await this.deps.storage.accounts.findByName(input.account.trim().replace(/^@/, ''));
        if (!named) throw notFound(`Account '${input.account.slice(0, 100)}' not found`);
        owner = named;
      }
    } else {
      if (input.allAccounts) throw badRequest("all_accounts is for 'runtime' tokens only");
      if (input.account) throw badRequest("account is for 'runtime' tokens only: other tokens belong to the account that creates them");
      if (!permits(p.token.permission, input.permission)) throw forbidden(`A '${p.token.permission}' token cannot create a '${input.permission}' token`);
    }
    if (input.permission === 'admin' && !p.account.isAdmin) throw forbidden('Only an administrator can hold an admin token');
    const scopes = this.normalizeScopes(input.scopes);
    if (p.token.scopes) {
      const outside = (scopes ?? ['(all scopes)']).filter((s) => !p.token.scopes!.includes(s));
      if (outside.length > 0) {
        throw forbidden(`This token is restricted to ${p.token.scopes.map((s) => '@' + s).join(', ')}; it cannot create a token for ${outside.join(', ')}`);
      }
    }
    return this.issue(owner, { ...input, scopes, allAccounts: input.permission === 'runtime' && input.allAccounts === true }, 'token.create', ctx);
  }

  /** Issues a token for `account` without a caller check; for bootstrap and for admins creating users. */
  async issue(account: AccountRecord, input: CreateTokenInput, action: string, ctx: RequestContext): Promise<CreatedToken> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw badRequest('Token name must be 1-100 characters');
    if (input.expiresInDays != null && !(input.expiresInDays > 0 && input.expiresInDays <= MAX_TOKEN_DAYS)) {
      throw badRequest(`expires_in_days must be between 1 and ${MAX_TOKEN_DAYS}`);
    }
    const now = this.deps.clock.now();
    const secret = generateTokenSecret();
    const expiresAt = input.expiresInDays != null ? new Date(now.getTime() + input.expiresInDays * 86_400_000).toISOString() : null;
    return this.deps.storage.transaction(async (tx) => {
      const record = await tx.tokens.insert({
        accountId: account.id,
        name,
        hash: hashTokenSecret(secret),
        prefix: displayPrefix(secret),
        permission: input.permission,
        scopes: input.scopes ?? null,
        expiresAt,
        createdAt: now.toISOString(),
        allAccounts: input.allAccounts === true,
      });
      await this.deps.audit.record(tx.audit, ctx, action, `token:${record.id}`, {
        account: account.name,
        name,
        permission: input.permission,
        scopes: input.scopes ?? null,
        expires_at: expiresAt,
        ...(input.permission === 'runtime' ? { all_accounts: input.allAccounts === true } : {}),
      });
      return { secret, record, account: account.name };
    });
  }

  /** Issues a token whose secret is given (the operator's `AGENTRY_ADMIN_TOKEN`), unless it exists. */
  async ensureGiven(account: AccountRecord, secret: string, permission: TokenPermission, name: string): Promise<void> {
    if (!looksLikeToken(secret)) {
      throw badRequest(`The given admin token is not an Agentry token: it must match agentry_ followed by 43 base64url characters`);
    }
    const hash = hashTokenSecret(secret);
    const existing = await this.deps.storage.tokens.findByHash(hash);
    if (existing) {
      if (existing.accountId !== account.id || existing.revokedAt) throw badRequest('The given admin token belongs to another account or was revoked');
      return;
    }
    await this.deps.storage.tokens.insert({
      accountId: account.id,
      name,
      hash,
      prefix: displayPrefix(secret),
      permission,
      scopes: null,
      expiresAt: null,
      createdAt: isoNow(this.deps.clock),
      allAccounts: false,
    });
  }

  async list(ctx: RequestContext): Promise<TokenRecord[]> {
    const p = this.deps.policy.requirePrincipal(ctx);
    return this.deps.storage.tokens.listByAccount(p.account.id);
  }

  async revoke(ctx: RequestContext, id: number): Promise<void> {
    this.deps.policy.requireWritable();
    const p = this.deps.policy.requirePrincipal(ctx);
    const token = isStoredId(id) ? await this.deps.storage.tokens.findById(id) : undefined;
    const mayRevoke = token && (token.accountId === p.account.id || (p.account.isAdmin && permits(p.token.permission, 'admin')));
    if (!token || !mayRevoke) throw notFound(`Token ${id} not found`);
    this.deps.policy.requireTokenManagement(ctx, token);
    if (token.revokedAt) return;
    await this.deps.storage.transaction(async (tx) => {
      await tx.tokens.revoke(id, isoNow(this.deps.clock));
      await this.deps.audit.record(tx.audit, ctx, 'token.revoke', `token:${id}`, { name: token.name });
    });
  }

  private normalizeScopes(scopes: string[] | null | undefined): string[] | null {
    if (!scopes || scopes.length === 0) return null;
    const out = scopes.map((s) => bareScope(s.trim()).toLowerCase());
    const problems = out.map(scopeProblem).filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw badRequest('Invalid token scopes', problems);
    return [...new Set(out)].sort();
  }
}
